package lxdmod

// client.events(): a Starlark face on rest.EventStream.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/internal/starjson"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// EventStream is what client.events() returns. Events are buffered from the
// moment it connects (at most rest.DefaultEventBuffer of them: when a script
// falls behind, the oldest are dropped and counted in .dropped). The stream
// is closed by close() or, at the latest, when the script ends.
type EventStream struct {
	c    *Client
	opts rest.EventOptions
	// thread is the script's thread: iteration (which Starlark gives no
	// thread) honours its context, so Ctrl-C stops a blocked `for`.
	thread   *starlark.Thread
	messages *starlark.List

	mu       sync.Mutex
	stream   *rest.EventStream // nil until connected, and after close()
	stopLife func() bool       // detaches the close-at-script-end hook
	dropped  uint64            // events dropped by streams already closed
}

var (
	_ starlark.Iterable = (*EventStream)(nil)
	_ starlark.HasAttrs = (*EventStream)(nil)
)

func clientEvents(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := b.Receiver().(*Client)
	fn := b.Name()
	if len(args) > 1 {
		return nil, fmt.Errorf("%s: project and all_projects are keyword-only", fn)
	}
	var types eventTypes
	var project starargs.OptString
	var allProjects bool
	if err := starlark.UnpackArgs(fn, args, kwargs, "event_types?", &types, "project?", &project, "all_projects?", &allProjects); err != nil {
		return nil, err
	}
	opts := rest.EventOptions{Types: types, Project: project.Value, AllProjects: allProjects}
	if opts.Project != "" && allProjects {
		return nil, fmt.Errorf("%s: project and all_projects=True exclude each other", fn)
	}
	s := &EventStream{c: c, opts: opts, thread: thread, messages: starlark.NewList(nil)}
	if err := s.connect(ctxOf(thread)); err != nil {
		return nil, err
	}
	return s, nil
}

// eventTypes is a list, tuple or set of event type names, or None (nil:
// all types).
type eventTypes []string

func (t *eventTypes) Unpack(v starlark.Value) error {
	if v == starlark.None {
		*t = nil
		return nil
	}
	if _, ok := v.(starlark.String); ok {
		return fmt.Errorf("got string, want a list or set of lxd.EventType values (e.g. [lxd.EventType.Lifecycle])")
	}
	it, ok := v.(starlark.Iterable)
	if !ok {
		return fmt.Errorf("got %s, want a list or set of lxd.EventType values", v.Type())
	}
	var out []string
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		s, ok := x.(starlark.String)
		if !ok || s == "" {
			return fmt.Errorf("element %s is not an event type name", x)
		}
		out = append(out, string(s))
	}
	sort.Strings(out) // sets iterate in insertion order; a stable URL is nicer in traces
	*t = out
	return nil
}

// connect opens the websocket unless the stream is already open, and ties
// its life to the client's (the script's) so no goroutine outlives it.
func (s *EventStream) connect(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream != nil {
		select {
		case <-s.stream.Done():
			s.closeLocked() // ended by the server: reconnect
		default:
			return nil
		}
	}
	if err := s.c.life.Err(); err != nil {
		return rest.ContextError(s.c.life, "opening the event stream")
	}
	st, err := s.c.rest.Events(ctx, s.opts)
	if err != nil {
		return err
	}
	s.stream = st
	s.stopLife = context.AfterFunc(s.c.life, func() { _ = st.Close() })
	return nil
}

func (s *EventStream) closeLocked() {
	if s.stream == nil {
		return
	}
	s.stopLife()
	_ = s.stream.Close()
	s.dropped += s.stream.Dropped()
	s.stream = nil
}

// Done is closed once the stream's connection has ended (closed by the
// script, by the end of the script, or by the server), for Go hosts.
func (s *EventStream) Done() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream == nil {
		closed := make(chan struct{})
		close(closed)
		return closed
	}
	return s.stream.Done()
}

func (s *EventStream) current() (*rest.EventStream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream == nil {
		return nil, &rest.Error{Kind: rest.KindConnection, Message: "the event stream is closed (call connect() to reopen it)"}
	}
	return s.stream, nil
}

// next returns the next event as a dict, or (nil, nil) once wait has
// passed (wait < 0: no limit). Errors are Cancelled (the script was
// interrupted) or ClientConnectionFailed (the stream is closed or ended).
func (s *EventStream) next(ctx context.Context, wait time.Duration) (starlark.Value, error) {
	st, err := s.current()
	if err != nil {
		return nil, err
	}
	waitCtx := ctx
	if wait >= 0 {
		var cancel context.CancelFunc
		waitCtx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	ev, err := st.Next(waitCtx)
	if err != nil {
		if ctx.Err() == nil && waitCtx.Err() != nil {
			return nil, nil // our own deadline, not the script's
		}
		return nil, err
	}
	v, err := starjson.Decode(ev.Raw)
	if err != nil {
		return nil, &rest.Error{Kind: rest.KindConnection, Message: "invalid event from " + s.c.describe(), Err: err}
	}
	return v, nil
}

func (s *EventStream) String() string {
	types := "all"
	if len(s.opts.Types) > 0 {
		types = strings.Join(s.opts.Types, ",")
	}
	state := "open"
	if _, err := s.current(); err != nil {
		state = "closed"
	}
	return fmt.Sprintf("<EventStream %s %s>", types, state)
}

func (s *EventStream) Type() string          { return "EventStream" }
func (s *EventStream) Freeze()               { s.messages.Freeze() }
func (s *EventStream) Truth() starlark.Bool  { return true }
func (s *EventStream) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: EventStream") }

// Iterate makes `for ev in stream:` block for each next event. The loop
// ends (without error) when the stream is closed or ended; an interrupted
// script stops it through its context.
func (s *EventStream) Iterate() starlark.Iterator { return &eventIterator{s: s} }

type eventIterator struct{ s *EventStream }

func (it *eventIterator) Next(p *starlark.Value) bool {
	ctx := ctxOf(it.s.thread)
	if _, err := it.s.current(); err != nil {
		return false // the script closed the stream: the loop ends
	}
	v, err := it.s.next(ctx, -1)
	if err != nil || v == nil {
		// An iterator cannot fail; cancelling the thread makes the loop
		// fail, interrupted or cut off, rather than end as if the stream
		// had nothing more to say.
		if ctx.Err() != nil {
			err = rest.ContextError(ctx, "waiting for an event")
		}
		if err != nil {
			it.s.thread.Cancel(err.Error())
		}
		return false
	}
	*p = v
	return true
}

func (it *eventIterator) Done() {}

var eventStreamMethods = newMethodTable("EventStream", nil, map[string]methodFn{
	"next":    eventsNext,
	"connect": eventsConnect,
	"run":     eventsRun,
	"close":   eventsClose,
})

func (s *EventStream) Attr(name string) (starlark.Value, error) {
	switch name {
	case "messages":
		return s.messages, nil
	case "dropped":
		s.mu.Lock()
		defer s.mu.Unlock()
		n := s.dropped
		if s.stream != nil {
			n += s.stream.Dropped()
		}
		return starlark.MakeUint64(n), nil
	case "closed":
		_, err := s.current()
		return starlark.Bool(err != nil), nil
	}
	return eventStreamMethods.attr(s, name)
}

func (s *EventStream) AttrNames() []string {
	names := append([]string{"closed", "dropped", "messages"}, eventStreamMethods.names()...)
	sort.Strings(names)
	return names
}

// eventWait is how long next and run wait: seconds >= 0, or None (-1: no
// limit), which the zero value does not mean: declare it as eventWait(-1).
type eventWait time.Duration

func (w *eventWait) Unpack(v starlark.Value) error {
	if v == starlark.None {
		*w = -1
		return nil
	}
	f, ok := starlark.AsFloat(v)
	if !ok || !(f >= 0) {
		return fmt.Errorf("want a number of seconds >= 0 or None, got %s", v)
	}
	*w = eventWait(f * float64(time.Second))
	return nil
}

// eventLimit is how many events run collects: an int >= 0, or None (-1:
// no limit); declare it as eventLimit(-1).
type eventLimit int

func (l *eventLimit) Unpack(v starlark.Value) error {
	if v == starlark.None {
		*l = -1
		return nil
	}
	var n int
	if err := starlark.AsInt(v, &n); err != nil || n < 0 {
		return fmt.Errorf("want an int >= 0 or None, got %s", v)
	}
	*l = eventLimit(n)
	return nil
}

func eventsNext(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	wait := eventWait(-1)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "timeout?", &wait); err != nil {
		return nil, err
	}
	v, err := b.Receiver().(*EventStream).next(ctxOf(thread), time.Duration(wait))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	if v == nil {
		return starlark.None, nil
	}
	return v, nil
}

func eventsConnect(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return starlark.None, b.Receiver().(*EventStream).connect(ctxOf(thread))
}

// eventsRun is pylxd's run(): collect events into .messages until timeout
// has passed or limit events arrived (or the stream ends).
func eventsRun(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	wait, limit := eventWait(-1), eventLimit(-1)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "timeout?", &wait, "limit?", &limit); err != nil {
		return nil, err
	}
	max := int(limit)
	s := b.Receiver().(*EventStream)
	ctx := ctxOf(thread)
	var deadline time.Time
	if wait >= 0 {
		deadline = time.Now().Add(time.Duration(wait))
	}
	for n := 0; max < 0 || n < max; n++ {
		left := time.Duration(-1)
		if !deadline.IsZero() {
			if left = time.Until(deadline); left < 0 {
				left = 0
			}
		}
		v, err := s.next(ctx, left)
		if err != nil {
			if rest.IsKind(err, rest.KindConnection) {
				break // the stream ended: run() is over, as in pylxd
			}
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		if v == nil {
			break // timeout
		}
		if err := s.messages.Append(v); err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
	}
	return starlark.None, nil
}

func eventsClose(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	s := b.Receiver().(*EventStream)
	s.mu.Lock()
	s.closeLocked()
	s.mu.Unlock()
	return starlark.None, nil
}

package rest

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultEventBuffer is how many undelivered events an EventStream keeps
// when EventOptions.Buffer is zero.
const DefaultEventBuffer = 1024

// EventOptions selects what GET /1.0/events delivers.
type EventOptions struct {
	// Types are LXD event types ("lifecycle", "operation", "logging");
	// empty, or any "all" among them, means every type.
	Types []string
	// Project overrides the client's project; AllProjects asks for the
	// events of every project instead.
	Project     string
	AllProjects bool
	// Buffer bounds the events received but not yet taken with Next. When
	// it is full the oldest event is dropped (and counted in Dropped), so a
	// reader that falls behind loses old events rather than growing memory
	// without bound. Zero means DefaultEventBuffer.
	Buffer int
}

// Event is one message of the event stream.
type Event struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Location  string          `json:"location"`
	Project   string          `json:"project"`
	Metadata  json.RawMessage `json:"metadata"`
	// Raw is the whole message as LXD sent it.
	Raw json.RawMessage `json:"-"`
}

// EventStream is an open /1.0/events websocket. One goroutine reads it
// (answering the server's pings) into a bounded buffer that Next takes
// from. Close it when done: it ends the goroutine and the connection.
type EventStream struct {
	conn   *websocket.Conn
	done   chan struct{} // closed when the reader goroutine has ended
	closed chan struct{} // closed by Close

	mu      sync.Mutex
	queue   []Event // ring buffer of capacity cap(queue)
	head, n int
	dropped uint64
	err     error         // why the stream ended; valid once done is closed
	notify  chan struct{} // signalled (capacity 1) when an event is queued

	closeOnce sync.Once
}

// Events opens the event stream. ctx bounds the connection attempt only:
// the stream lives until Close (or until the server ends it).
func (c *Client) Events(ctx context.Context, opts EventOptions) (*EventStream, error) {
	conn, err := c.DialWebsocket(ctx, c.eventsPath(opts))
	if err != nil {
		return nil, err
	}
	size := opts.Buffer
	if size <= 0 {
		size = DefaultEventBuffer
	}
	s := &EventStream{conn: conn, done: make(chan struct{}), closed: make(chan struct{}), queue: make([]Event, size), notify: make(chan struct{}, 1)}
	go s.read()
	return s, nil
}

func (c *Client) eventsPath(opts EventOptions) string {
	q := url.Values{}
	all := len(opts.Types) == 0
	for _, t := range opts.Types {
		if t == "all" {
			all = true
		}
	}
	if !all {
		q.Set("type", strings.Join(opts.Types, ","))
	}
	switch {
	case opts.AllProjects:
		q.Set("all-projects", "true")
	case opts.Project != "":
		q.Set("project", opts.Project)
	case c.project != "":
		q.Set("project", c.project)
	}
	if len(q) == 0 {
		return Path("events")
	}
	return Path("events") + "?" + q.Encode()
}

// read is the stream's one reader: it runs until the connection ends.
func (s *EventStream) read() {
	defer close(s.done)
	for {
		_, data, err := s.conn.ReadMessage()
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		if ev, ok := ParseEvent(data); ok {
			s.push(ev)
		}
	}
}

// ParseEvent decodes one message of the event stream. A message that is
// not a JSON object with a type is not an event (nothing a caller could
// use) and is reported as such rather than as an error; it never panics.
func ParseEvent(data []byte) (Event, bool) {
	var ev Event
	if json.Unmarshal(data, &ev) != nil || ev.Type == "" {
		return Event{}, false
	}
	ev.Raw = data
	return ev, true
}

func (s *EventStream) push(ev Event) {
	s.mu.Lock()
	size := len(s.queue)
	if s.n == size {
		s.queue[s.head] = Event{}
		s.head = (s.head + 1) % size
		s.n--
		s.dropped++
	}
	s.queue[(s.head+s.n)%size] = ev
	s.n++
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

func (s *EventStream) pop() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return Event{}, false
	}
	ev := s.queue[s.head]
	s.queue[s.head] = Event{}
	s.head = (s.head + 1) % len(s.queue)
	s.n--
	return ev, true
}

// Next returns the next event, blocking until one arrives, ctx is done
// (Cancelled or Timeout, per ctx), or the stream has ended and every queued
// event was taken (ClientConnectionFailed; after Close, its message says
// the stream was closed).
func (s *EventStream) Next(ctx context.Context) (*Event, error) {
	for {
		if ev, ok := s.pop(); ok {
			return &ev, nil
		}
		select {
		case <-s.notify:
		case <-s.done:
			if ev, ok := s.pop(); ok {
				return &ev, nil
			}
			return nil, s.endError()
		case <-ctx.Done():
			return nil, ContextError(ctx, "waiting for an event")
		}
	}
}

func (s *EventStream) endError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil || s.closedByUs() {
		return &Error{Kind: KindConnection, Message: "the event stream is closed"}
	}
	return &Error{Kind: KindConnection, Message: "the event stream ended", Err: s.err}
}

// closedByUs reports whether Close ended the stream.
func (s *EventStream) closedByUs() bool {
	return isClosed(s.closed)
}

// isClosed reports whether ch has been closed, without blocking.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Dropped returns how many events were discarded because the buffer was
// full.
func (s *EventStream) Dropped() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Done is closed once the stream has ended (closed by either side).
func (s *EventStream) Done() <-chan struct{} { return s.done }

// Close ends the stream: it says goodbye to the server, closes the
// connection and waits for the reader goroutine. Events still queued can
// still be taken with Next. Calling Close again does nothing.
func (s *EventStream) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		deadline := time.Now().Add(time.Second)
		_ = s.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
		_ = s.conn.Close()
	})
	<-s.done
	return nil
}

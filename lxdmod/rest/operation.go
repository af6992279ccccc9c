package rest

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Operation is an LXD background operation as GET /1.0/operations/<id> shows it.
type Operation struct {
	ID          string              `json:"id"`
	Class       string              `json:"class"`
	Description string              `json:"description"`
	CreatedAt   string              `json:"created_at"`
	UpdatedAt   string              `json:"updated_at"`
	Status      string              `json:"status"`
	StatusCode  int                 `json:"status_code"`
	Resources   map[string][]string `json:"resources"`
	Metadata    map[string]any      `json:"metadata"`
	MayCancel   bool                `json:"may_cancel"`
	Err         string              `json:"err"`
	Location    string              `json:"location"`
}

// Progress is what the operation's "*_progress" metadata says of its
// progress, already worded for people ("Image pack: 42% (22.5MB/s)"), or
// "" when it says nothing.
func (o *Operation) Progress() string {
	keys := make([]string, 0, len(o.Metadata))
	for k, v := range o.Metadata {
		if s, ok := v.(string); ok && s != "" && strings.HasSuffix(k, "_progress") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = o.Metadata[k].(string)
	}
	return strings.Join(parts, ", ")
}

// Final reports whether the operation has ended (success, failure or cancel).
func (o *Operation) Final() bool { return o.StatusCode >= 200 }

// Failed returns the error of a failed or cancelled operation, else nil.
func (o *Operation) Failed() error {
	if o.StatusCode < 400 {
		return nil
	}
	msg := o.Err
	if msg == "" {
		msg = o.Status
	}
	return &Error{Kind: operationErrorKind(msg), StatusCode: o.StatusCode, Message: msg}
}

// operationErrorKind recovers the kind of a failed operation. LXD reports
// operation failures without the HTTP status its handlers used, so a create
// whose name is taken would otherwise not be a Conflict. Its wording for
// those two cases is stable ("... already exists", "... not found"); Incus
// 6.0 reports a taken instance name as its database's "UNIQUE constraint
// failed".
func operationErrorKind(msg string) Kind {
	lower := strings.ToLower(msg)
	switch {
	case strings.Contains(lower, "already exists"), strings.Contains(lower, "unique constraint failed"):
		return KindConflict
	case strings.HasSuffix(lower, "not found"):
		return KindNotFound
	}
	return KindAPI
}

// AsyncOperation decodes the operation of an async response.
func AsyncOperation(r *Response) (*Operation, error) {
	if r.Type != "async" {
		return nil, &Error{Kind: KindConnection, Message: fmt.Sprintf("expected an async response, got %q", r.Type)}
	}
	op := &Operation{}
	if err := r.Decode(op); err != nil {
		return nil, err
	}
	if op.ID == "" {
		op.ID = strings.TrimPrefix(r.Operation, "/1.0/operations/")
	}
	return op, nil
}

// GetOperation reads an operation's current state.
func (c *Client) GetOperation(ctx context.Context, id string) (*Operation, error) {
	r, err := c.Do(ctx, &Request{Method: "GET", Path: Path("operations", id), NoProject: true})
	if err != nil {
		return nil, err
	}
	op := &Operation{}
	return op, r.Decode(op)
}

// polls are how WaitOperation asks about an operation: wait bounds one
// /wait request, so a dead server is noticed and the loop re-checks its
// context between polls; grace is how much longer than its own timeout a
// poll may take before the server counts as gone. The zero value means
// the defaults (30 s and 10 s); tests set shorter ones on their client.
type polls struct {
	wait, grace time.Duration
}

func (p polls) orDefaults() polls {
	if p.wait <= 0 {
		p.wait = 30 * time.Second
	}
	if p.grace <= 0 {
		p.grace = 10 * time.Second
	}
	return p
}

// WaitOperation long-polls until the operation ends, ctx is done, or timeout
// (when > 0) passes. It returns the final operation; a failed operation comes
// back with its error. An operation that is already final is returned without
// a request. Operations LXD already forgot (it deletes them 5 s after they
// end) are reported as NotFound naming the operation: callers that need the
// result later use Watch, which never loses it.
func (c *Client) WaitOperation(ctx context.Context, op *Operation, timeout time.Duration) (*Operation, error) {
	if op.Final() {
		return op, op.Failed()
	}
	parent := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	polls := c.polls.orDefaults()
	for {
		poll := polls.wait
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < poll {
			poll = time.Until(dl)
		}
		secs := int((poll + time.Second - 1) / time.Second)
		// The server answers by the poll's end; the guard notices a server
		// that silently went away.
		pctx, cancel := context.WithTimeout(ctx, poll+polls.grace)
		r, err := c.Do(pctx, &Request{
			Method: "GET", Path: Path("operations", op.ID, "wait"),
			Query: url.Values{"timeout": {fmt.Sprint(secs)}}, NoProject: true, NoTimeout: true,
		})
		cancel()
		if err != nil && r != nil && r.HTTPStatus < 400 {
			// Incus answers a wait on an operation that failed, or that
			// outlived the wait's timeout, with an error envelope (HTTP
			// 200, the header being sent before the wait): the
			// operation's own state tells which, and keeps what a failed
			// operation reports (an exec's exit status).
			next, gerr := c.GetOperation(ctx, op.ID)
			if gerr == nil {
				op = next
				if op.Final() {
					return op, op.Failed()
				}
				continue
			}
		}
		if err != nil {
			switch {
			case parent.Err() != nil:
				return op, ContextError(parent, "waiting for operation "+op.ID)
			case ctx.Err() != nil:
				return op, &Error{Kind: KindTimeout, Message: fmt.Sprintf("operation %s (%s) still running after %s", op.ID, op.Description, timeout)}
			case IsKind(err, KindNotFound):
				return op, &Error{Kind: KindNotFound, StatusCode: 404, Message: fmt.Sprintf("operation %s no longer exists on the server (finished more than 5 s ago?)", op.ID)}
			case IsKind(err, KindTimeout):
				return op, &Error{Kind: KindConnection, Message: fmt.Sprintf("%s at %s did not answer a wait for operation %s within %s", c.name(), c.endpoint, op.ID, poll+polls.grace), Err: err}
			}
			return op, err
		}
		next := &Operation{}
		if err := r.Decode(next); err != nil {
			return op, err
		}
		op = next
		if op.Final() {
			return op, op.Failed()
		}
	}
}

// Pending follows one operation in the background from the moment it was
// started, so its outcome is known even when the script waits for it long
// after LXD has forgotten it.
type Pending struct {
	c    *Client
	done chan struct{}
	// resumable: the outcome comes from LXD's operation alone (Watch), so
	// a wait can carry on where a stopped watcher left off.
	resumable bool

	mu   sync.Mutex
	op   *Operation // latest state seen
	err  error      // final error, valid once done is closed
	stop context.CancelFunc
}

// Watch starts following op. The watcher lives until the operation ends or
// ctx is done; Wait keeps working after that by polling itself.
func (c *Client) Watch(ctx context.Context, op *Operation) *Pending {
	return c.WatchThen(ctx, op, nil)
}

// WatchThen is Watch with work to do in the background once the operation
// has ended (e.g. re-read the object it changed): then runs on the
// watcher's goroutine with the operation's outcome, before Done is closed,
// and its error becomes the outcome. Whoever sees Done closed therefore
// also sees then's work finished.
func (c *Client) WatchThen(ctx context.Context, op *Operation, then func(ctx context.Context, final *Operation, err error) error) *Pending {
	if op.Final() && then == nil {
		p := &Pending{c: c, done: make(chan struct{}), op: op, resumable: true, err: op.Failed()}
		close(p.done)
		return p
	}
	return c.follow(ctx, op, true, func(ctx context.Context, _ func(*Operation)) (*Operation, error) {
		final, err := c.WaitOperation(ctx, op, 0)
		if then != nil {
			err = then(ctx, final, err)
		}
		return final, err
	})
}

// Follow is the general form of Watch, for an operation that the caller
// starts or observes itself (an exec, whose request it sends and whose
// websockets it drives): run, on its own goroutine, may report the states
// it learns with update (op is the first, possibly a placeholder until
// the request that starts the operation has been answered), and returns
// the final state (nil: the last one reported) and the outcome. It must
// end when ctx is done.
func (c *Client) Follow(ctx context.Context, op *Operation, run func(ctx context.Context, update func(*Operation)) (*Operation, error)) *Pending {
	return c.follow(ctx, op, false, run)
}

func (c *Client) follow(ctx context.Context, op *Operation, resumable bool, run func(ctx context.Context, update func(*Operation)) (*Operation, error)) *Pending {
	p := &Pending{c: c, done: make(chan struct{}), op: op, resumable: resumable}
	ctx, p.stop = context.WithCancel(ctx)
	update := func(op *Operation) {
		p.mu.Lock()
		p.op = op
		p.mu.Unlock()
	}
	go func() {
		defer p.stop()
		final, err := run(ctx, update)
		p.mu.Lock()
		if final != nil {
			p.op = final
		}
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p
}

// Ended reports whether the watcher has stopped: the operation ended (or
// the watcher's context did) and any work given to WatchThen is finished.
func (p *Pending) Ended() bool {
	return isClosed(p.done)
}

// Outcome returns the final state and error once Ended; before that, the
// latest state and nil.
func (p *Pending) Outcome() (*Operation, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.op, p.err
}

// Operation returns the latest known state.
func (p *Pending) Operation() *Operation {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.op
}

// Done is closed once the watcher has stopped.
func (p *Pending) Done() <-chan struct{} { return p.done }

// Stop ends the background watcher (the operation itself goes on).
func (p *Pending) Stop() {
	if p.stop != nil {
		p.stop()
	}
}

// Wait blocks until the operation ends, ctx is done or timeout (> 0) passes.
func (p *Pending) Wait(ctx context.Context, timeout time.Duration) (*Operation, error) {
	var timer <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		// p.op only under the lock: the watcher may be replacing it.
		op := p.Operation()
		return op, ContextError(ctx, "waiting for operation "+op.ID)
	case <-timer:
		op := p.Operation()
		return op, &Error{Kind: KindTimeout, Message: fmt.Sprintf("operation %s (%s) still running after %s", op.ID, op.Description, timeout)}
	}
	p.mu.Lock()
	op, err := p.op, p.err
	p.mu.Unlock()
	// The watcher was stopped (its context ended) before the operation did:
	// carry on in the caller's context.
	if p.resumable && (IsKind(err, KindCancelled) || IsKind(err, KindTimeout)) && ctx.Err() == nil && !op.Final() {
		return p.c.WaitOperation(ctx, op, timeout)
	}
	return op, err
}

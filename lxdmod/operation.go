package lxdmod

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/internal/starjson"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// Operation is an LXD background operation: one the script started, which
// is followed from the moment it starts so that its outcome is never lost,
// or one it only looked up (operations.get/all), followed once waited for.
//
// What the operation means to the script is fixed when it starts: the
// objects that follow it (an instance after start, a renamed profile, a
// new image) and what wait() returns. Work that needs the server once the
// operation has ended (re-reading those objects) runs in the background,
// so objects are current whether or not anybody waits; turning it into
// Starlark values happens on the script's thread, the next time the script
// touches the object (Model.settle).
type Operation struct {
	c    *Client
	spec opSpec

	mu        sync.Mutex
	state     *rest.Operation // latest state known
	pending   *rest.Pending   // the watcher; nil until followed
	concluded bool            // wait() has produced its result
	result    starlark.Value
	err       error
	reported  bool // the script has seen its failure (or its success)
}

// opSpec says what an operation started by the script means.
type opSpec struct {
	// what names the action for messages: "start", "rename to \"b\"".
	what string
	// subject is the object the operation is about (`instance "c1"`), or "".
	subject string
	// where is the script position that started it ("deploy.star:12:3").
	where string
	// follows are the objects that reflect the operation once it ends: each
	// gets it as .operation until then, and nothing else may overtake it
	// on them.
	follows []*follow
	// then is further background work once the operation succeeded (e.g.
	// delete a migrated instance's source); its error fails the operation.
	then func(ctx context.Context, final *rest.Operation) error
	// abort undoes side work when the operation failed (in the background).
	abort func()
	// refused, when set, rewords LXD's refusal of the request or failure of
	// the operation (not of then's own work): a transfer names which of
	// two servers refused.
	refused func(error) error
	// result builds what wait() (and wait=True) returns, on the script's
	// thread, once the operation succeeded and the follows are settled.
	// nil returns None.
	result func(thread *starlark.Thread, final *rest.Operation) (starlark.Value, error)
	// returnsObject: with wait=False return the first follow's object (with
	// .operation pending) rather than the Operation.
	returnsObject bool
	// exec is the command of an execute(wait=False), whose output handlers
	// are called while the script waits for it (exec_async.go).
	exec *execJob
	// local marks lxdstar's own background work (Client.startLocal), which
	// the server knows nothing of: cancel() stops it, refresh() has
	// nothing to read, and there is no server progress to show.
	local bool
}

// follow is one object following an operation.
type follow struct {
	m *Model
	// via and path are where to re-read the object once the operation
	// succeeded (via nil: the object's own client); path "" reads nothing
	// (the object is gone).
	via  *Client
	path string
	// apply is the local effect of success (a rename's new key), applied
	// on the script's thread before the re-read data.
	apply func(m *Model)
	// saved is, for a save, the canonical copy of the fields it sent: once
	// it succeeded they are the server's, so only the script's edits made
	// since are kept on top of the re-read state.
	saved map[string]string

	// Filled by the background re-read.
	data json.RawMessage
	etag string
}

var _ starlark.HasAttrs = (*Operation)(nil)

// observedOperation wraps an operation the script only looked up
// (operations.get/all): it is followed only once the script waits for it,
// so listing many running operations opens no long polls.
func observedOperation(c *Client, op *rest.Operation) *Operation {
	return &Operation{c: c, state: op, reported: true}
}

// watch returns the background watcher, starting it on first use.
func (o *Operation) watch() *rest.Pending {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pending == nil {
		o.pending = o.c.rest.WatchThen(o.c.life, o.state, o.afterEnd)
	}
	return o.pending
}

// afterEnd is the background work once the operation has ended: on success
// the spec's then and the re-reads of the following objects; on failure the
// spec's abort. It runs on the watcher's goroutine, before Done.
func (o *Operation) afterEnd(ctx context.Context, final *rest.Operation, err error) error {
	if err != nil {
		if final != nil && final.Final() {
			if o.spec.abort != nil {
				o.spec.abort()
			}
			if o.spec.refused != nil {
				err = o.spec.refused(err)
			}
		}
		return err
	}
	if o.spec.then != nil {
		if err := o.spec.then(ctx, final); err != nil {
			return err
		}
	}
	for _, f := range o.spec.follows {
		f.reread(ctx)
	}
	o.c.ledger.drop(o) // a success needs no reporting
	return nil
}

// reread fetches the object's state after its operation succeeded. A
// failure (someone deleted it meanwhile) is not the operation's: the object
// then keeps what it had, plus the operation's local effect.
func (f *follow) reread(ctx context.Context) {
	if f.path == "" {
		return
	}
	c := f.via
	if c == nil {
		c = f.m.c
	}
	etag, err := c.rest.Get(ctx, f.path, nil, &f.data)
	if err != nil {
		return
	}
	f.etag = etag
}

// ended reports whether the operation and its background work are over.
func (o *Operation) ended() bool {
	o.mu.Lock()
	p := o.pending
	o.mu.Unlock()
	return p != nil && p.Ended()
}

// outcome is the operation's final error (nil on success), once ended.
func (o *Operation) outcome() error {
	o.mu.Lock()
	p := o.pending
	o.mu.Unlock()
	if p == nil {
		return nil
	}
	_, err := p.Outcome()
	return o.describe(err)
}

// describe names the operation's object in an error of the operation.
func (o *Operation) describe(err error) error {
	return rest.About(err, o.spec.subject)
}

// markReported records that the script has seen the operation's failure,
// and reports whether it had not yet.
func (o *Operation) markReported() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	seen := o.reported
	o.reported = true
	return !seen
}

func (o *Operation) snapshot() *rest.Operation {
	o.mu.Lock()
	p := o.pending
	state := o.state
	o.mu.Unlock()
	if p != nil {
		if op, _ := p.Outcome(); op != nil {
			return op
		}
	}
	return state
}

// tracked is the operation whose progress a wait shows: nil for local
// work, which has no server progress.
func (o *Operation) tracked() *rest.Operation {
	if o.spec.local {
		return nil
	}
	return o.snapshot()
}

func (o *Operation) String() string {
	s := o.snapshot()
	return fmt.Sprintf("<Operation %s %q %s>", shortID(s.ID), s.Description, s.Status)
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func (o *Operation) Type() string          { return "Operation" }
func (o *Operation) Freeze()               {}
func (o *Operation) Truth() starlark.Bool  { return true }
func (o *Operation) Hash() (uint32, error) { return starlark.String(o.snapshot().ID).Hash() }

var operationMethods = newMethodTable("Operation", nil, map[string]methodFn{
	"wait":    operationWait,
	"cancel":  operationCancel,
	"refresh": operationRefresh,
})

func (o *Operation) Attr(name string) (starlark.Value, error) {
	if b := operationMethods.bind(o, name); b != nil {
		return b, nil
	}
	s := o.snapshot()
	switch name {
	case "metadata":
		return starjson.FromGo(map[string]any(s.Metadata)), nil
	case "resources":
		return starjson.FromGo(s.Resources), nil
	}
	return operationFields(s)[name], nil // nil: no such field
}

// operationFields are an Operation's plain fields, from a state of it
// (metadata and resources, converted only when read, aside).
func operationFields(s *rest.Operation) starlark.StringDict {
	str := func(s string) starlark.Value { return starlark.String(s) }
	progress := starlark.Value(starlark.None)
	if p := s.Progress(); p != "" {
		progress = str(p)
	}
	return starlark.StringDict{
		"id": str(s.ID), "description": str(s.Description), "status": str(s.Status), "err": str(s.Err),
		"created_at": str(s.CreatedAt), "updated_at": str(s.UpdatedAt), "location": str(s.Location),
		"op_class": str(s.Class), "status_code": starlark.MakeInt(s.StatusCode),
		"may_cancel": starlark.Bool(s.MayCancel), "progress": progress,
	}
}

func (o *Operation) AttrNames() []string {
	names := append(operationFields(&rest.Operation{}).Keys(), "metadata", "resources")
	names = append(names, operationMethods.names()...)
	sort.Strings(names)
	return names
}

// wait blocks until the operation ends (or ctx is done, or timeout > 0
// passes: then it fails with Cancelled or Timeout and the operation goes
// on), brings its objects up to date and returns its result. Once it has
// returned a result or the operation's failure, it returns the same again.
func (o *Operation) wait(thread *starlark.Thread, timeout time.Duration) (starlark.Value, error) {
	o.mu.Lock()
	if o.concluded {
		o.mu.Unlock()
		return o.result, o.err
	}
	o.mu.Unlock()
	p := o.watch()
	if o.spec.exec != nil {
		if err := o.awaitExec(thread, timeout); err != nil {
			return nil, err
		}
		return o.conclude(thread)
	}
	done := o.c.showProgress(o.tracked())
	_, werr := p.Wait(ctxOf(thread), timeout)
	done()
	if !p.Ended() {
		return nil, werr // the wait was interrupted; the operation goes on
	}
	return o.conclude(thread)
}

// awaitExec is wait for a command started with wait=False: its output
// handlers are called meanwhile.
func (o *Operation) awaitExec(thread *starlark.Thread, timeout time.Duration) error {
	ctx := ctxOf(thread)
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if awaitDelivering(thread, ctx, o.watch().Done(), []*execJob{o.spec.exec}) != nil {
		return waitError(thread, o.spec.label(), timeout)
	}
	return nil
}

// conclude settles the following objects and computes the result, once.
func (o *Operation) conclude(thread *starlark.Thread) (starlark.Value, error) {
	for _, f := range o.spec.follows {
		f.m.settle()
	}
	final, _ := o.pending.Outcome()
	err := o.outcome()
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.concluded {
		return o.result, o.err
	}
	o.concluded, o.reported = true, true
	o.c.ledger.drop(o)
	if err != nil {
		o.err = err
		return nil, err
	}
	o.result = starlark.None
	if o.spec.result != nil {
		o.result, o.err = o.spec.result(thread, final)
	}
	return o.result, o.err
}

func operationWait(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var timeout starargs.Seconds
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "timeout?", &timeout); err != nil {
		return nil, err
	}
	return b.Receiver().(*Operation).wait(thread, timeout.Duration())
}

func operationCancel(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	o := b.Receiver().(*Operation)
	if o.spec.local {
		o.watch().Stop()
		return starlark.None, nil
	}
	return starlark.None, o.c.rest.CancelOperation(ctxOf(thread), o.snapshot().ID)
}

func operationRefresh(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	o := b.Receiver().(*Operation)
	if o.spec.local {
		return starlark.None, nil // its state is always current
	}
	s, err := o.c.rest.GetOperation(ctxOf(thread), o.snapshot().ID)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.state = s
	o.mu.Unlock()
	return starlark.None, nil
}

// run sends a request that may start an LXD operation and applies the wait
// rules: wait=True blocks and returns the spec's result; wait=False returns
// the pending Operation (or, with returnsObject, the new object whose
// .operation it is). A synchronous answer is final: its result comes back
// at once either way. The objects in spec.follows are up to date when run
// returns with wait=True, and as soon as the operation ends otherwise.
func (c *Client) run(thread *starlark.Thread, req *rest.Request, wait bool, spec opSpec) (starlark.Value, error) {
	state, err := c.rest.Send(ctxOf(thread), req)
	if err != nil {
		if spec.abort != nil {
			spec.abort()
		}
		if spec.refused != nil {
			err = spec.refused(err)
		}
		return nil, rest.About(err, spec.subject)
	}
	async := state != nil
	if !async {
		// Already done: the operation is over before it began.
		state = &rest.Operation{Status: "Success", StatusCode: 200, Metadata: map[string]any{}}
	}
	spec.where = callerPos(thread)
	o := &Operation{c: c, spec: spec, state: state}
	for _, f := range spec.follows {
		f.m.mu.Lock()
		f.m.op = o
		f.m.mu.Unlock()
	}
	if wait || !async {
		return o.wait(thread, 0)
	}
	c.ledger.add(o) // before the watcher starts: it drops o on success
	o.watch()
	if spec.returnsObject && len(spec.follows) > 0 {
		return spec.follows[0].m, nil
	}
	return o, nil
}

// startOperation sends a request that starts an operation the caller
// handles itself (a migration source, an image secret) and returns it; a
// synchronous answer gives nil.
func (c *Client) startOperation(ctx context.Context, req *rest.Request) (*rest.Operation, error) {
	return c.rest.Send(ctx, req)
}

// complete sends a request and, when it starts an operation, waits for it
// to end; for background work, where no script is waiting.
func (c *Client) complete(ctx context.Context, req *rest.Request) error {
	return c.rest.SendAndWait(ctx, req)
}

// callerPos is the script position of the innermost Starlark frame on
// thread ("deploy.star:12:3"), or "" outside any script.
func callerPos(thread *starlark.Thread) string {
	if thread == nil {
		return ""
	}
	for i := 0; i < thread.CallStackDepth(); i++ {
		fr := thread.CallFrame(i)
		if fr.Pos.Filename() != "<builtin>" {
			return fr.Pos.String()
		}
	}
	return ""
}

// waitAll implements lxd.wait_all(*ops, timeout=None).
func waitAll(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var timeout starargs.Seconds
	if err := starlark.UnpackArgs(b.Name(), nil, kwargs, "timeout?", &timeout); err != nil {
		return nil, err
	}
	d := timeout.Duration()
	var items []starlark.Value
	if err := flattenOps(args, &items); err != nil {
		return nil, err
	}
	ctx := ctxOf(thread)
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	// The watchers run concurrently in the background; waiting for each in
	// turn therefore takes as long as the slowest. Meanwhile the output
	// handlers of the commands among them are called as output arrives.
	ops := make([]*Operation, len(items))
	for i, it := range items {
		ops[i] = pendingOf(it)
	}
	jobs := execJobs(ops)
	for _, op := range ops {
		if op == nil {
			continue
		}
		if op.spec.exec == nil {
			defer op.c.showProgress(op.tracked())()
		}
		if awaitDelivering(thread, ctx, op.watch().Done(), jobs) != nil {
			if ctxOf(thread).Err() == nil {
				return nil, &rest.Error{Kind: rest.KindTimeout, Message: fmt.Sprintf("lxd.wait_all: operations still running after %s", d)}
			}
			return nil, rest.ContextError(ctxOf(thread), "lxd.wait_all")
		}
	}
	results := make([]starlark.Value, len(items))
	var first error
	for i, it := range items {
		op := ops[i]
		if op == nil {
			results[i] = it
			continue
		}
		v, err := op.wait(thread, 0)
		if err != nil && first == nil {
			first = fmt.Errorf("lxd.wait_all: item %d (%s): %w", i, it.String(), err)
		}
		if _, isModel := it.(*Model); isModel && err == nil {
			v = it // an object waited for is itself the result
		}
		if v == nil {
			v = starlark.None
		}
		results[i] = v
	}
	if first != nil {
		return nil, first
	}
	return starlark.NewList(results), nil
}

func flattenOps(args starlark.Tuple, out *[]starlark.Value) error {
	for _, a := range args {
		switch x := a.(type) {
		case *Operation, *Model:
			*out = append(*out, x)
		case *starlark.List, starlark.Tuple:
			var elems starlark.Tuple
			iter := starlark.Iterate(x)
			var v starlark.Value
			for iter.Next(&v) {
				elems = append(elems, v)
			}
			iter.Done()
			if err := flattenOps(elems, out); err != nil {
				return err
			}
		default:
			return fmt.Errorf("lxd.wait_all: got %s, want Operation, object with .operation, or list of them", a.Type())
		}
	}
	return nil
}

// pendingOf returns the operation behind an item, or nil if none is pending.
func pendingOf(v starlark.Value) *Operation {
	switch x := v.(type) {
	case *Operation:
		return x
	case *Model:
		x.mu.Lock()
		defer x.mu.Unlock()
		return x.op
	}
	return nil
}

package lxdmod

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// finisher turns an ended operation into what the method returns with
// wait=True (e.g. the refreshed object). It runs on the script's thread.
type finisher func(thread *starlark.Thread) (starlark.Value, error)

// Operation is a pending (or ended) LXD background operation.
type Operation struct {
	c       *Client
	pending *rest.Pending
	finish  finisher
	abort   func() // undoes side work if the operation fails (may be nil)

	mu     sync.Mutex
	state  *rest.Operation // latest state known
	waited bool            // finish has run
	result starlark.Value
	err    error
}

var _ starlark.HasAttrs = (*Operation)(nil)

func newOperation(c *Client, op *rest.Operation, finish finisher) *Operation {
	o := observedOperation(c, op)
	o.finish = finish
	o.watch() // started by the script: follow it now, so its result is never lost
	return o
}

// observedOperation wraps an operation the script only looked up
// (operations.get/all): it is followed only once the script waits for it,
// so listing many running operations opens no long polls.
func observedOperation(c *Client, op *rest.Operation) *Operation {
	return &Operation{c: c, state: op}
}

// watch returns the background watcher, starting it on first use.
func (o *Operation) watch() *rest.Pending {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pending == nil {
		o.pending = o.c.rest.Watch(o.c.life, o.state)
	}
	return o.pending
}

func (o *Operation) snapshot() *rest.Operation {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pending != nil {
		select {
		case <-o.pending.Done():
			o.state = o.pending.Operation()
		default:
		}
	}
	return o.state
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

// finished reports whether the operation ended without error: a model's
// .operation attribute is None from then on.
func (o *Operation) finished() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.waited {
		return true
	}
	if o.pending == nil {
		return false
	}
	select {
	case <-o.pending.Done():
		return o.pending.Operation().Failed() == nil
	default:
		return false
	}
}

var operationMethods = map[string]methodFn{
	"wait":    operationWait,
	"cancel":  operationCancel,
	"refresh": operationRefresh,
}

var operationFields = []string{"id", "description", "status", "status_code", "created_at", "updated_at",
	"metadata", "resources", "may_cancel", "err", "location", "op_class", "progress"}

func (o *Operation) Attr(name string) (starlark.Value, error) {
	if fn, ok := operationMethods[name]; ok {
		return bind("Operation", name, fn, o), nil
	}
	s := o.snapshot()
	switch name {
	case "id":
		return starlark.String(s.ID), nil
	case "description":
		return starlark.String(s.Description), nil
	case "status":
		return starlark.String(s.Status), nil
	case "status_code":
		return starlark.MakeInt(s.StatusCode), nil
	case "created_at":
		return starlark.String(s.CreatedAt), nil
	case "updated_at":
		return starlark.String(s.UpdatedAt), nil
	case "metadata":
		return fromGo(map[string]any(s.Metadata)), nil
	case "resources":
		return fromGo(s.Resources), nil
	case "may_cancel":
		return starlark.Bool(s.MayCancel), nil
	case "err":
		return starlark.String(s.Err), nil
	case "location":
		return starlark.String(s.Location), nil
	case "op_class":
		return starlark.String(s.Class), nil
	case "progress":
		if p := Progress(s); p != "" {
			return starlark.String(p), nil
		}
		return starlark.None, nil
	}
	return nil, nil
}

func (o *Operation) AttrNames() []string {
	names := append([]string{}, operationFields...)
	for n := range operationMethods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Progress extracts LXD's "*_progress" metadata, already worded for people
// ("Image pack: 42% (22.5MB/s)"), or "" when the operation reports none.
func Progress(op *rest.Operation) string {
	var parts []string
	for _, k := range sortedKeys(op.Metadata) {
		if !strings.HasSuffix(k, "_progress") {
			continue
		}
		if s, ok := op.Metadata[k].(string); ok && s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

// conclude runs the finisher once, after the operation ended with err.
func (o *Operation) conclude(thread *starlark.Thread, final *rest.Operation, err error) (starlark.Value, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.waited {
		return o.result, o.err
	}
	if final != nil {
		o.state = final
	}
	if err != nil {
		var e *rest.Error
		if isKind(err, &e, rest.KindCancelled, rest.KindTimeout) {
			return nil, err // the operation goes on; a later wait may succeed
		}
		o.waited, o.err = true, err
		if o.abort != nil {
			o.abort()
		}
		return nil, err
	}
	o.result = starlark.None
	if o.finish != nil {
		o.result, o.err = o.finish(thread)
	}
	o.waited = true
	return o.result, o.err
}

func isKind(err error, target **rest.Error, kinds ...rest.Kind) bool {
	e, ok := err.(*rest.Error)
	if !ok {
		return false
	}
	*target = e
	for _, k := range kinds {
		if e.Kind == k {
			return true
		}
	}
	return false
}

func (o *Operation) wait(thread *starlark.Thread, timeout time.Duration) (starlark.Value, error) {
	o.mu.Lock()
	if o.waited {
		o.mu.Unlock()
		return o.result, o.err
	}
	o.mu.Unlock()
	done := o.c.progress.track(o.snapshot())
	final, err := o.watch().Wait(ctxOf(thread), timeout)
	done()
	return o.conclude(thread, final, err)
}

func operationWait(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs("Operation.wait", args, kwargs, "timeout?", &timeout); err != nil {
		return nil, err
	}
	d, err := durationArg("Operation.wait", "timeout", timeout)
	if err != nil {
		return nil, err
	}
	return b.Receiver().(*Operation).wait(thread, d)
}

func operationCancel(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs("Operation.cancel", args, kwargs); err != nil {
		return nil, err
	}
	o := b.Receiver().(*Operation)
	_, err := o.c.rest.Do(ctxOf(thread), &rest.Request{Method: "DELETE", Path: rest.Path("operations", o.snapshot().ID), NoProject: true})
	return starlark.None, err
}

func operationRefresh(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs("Operation.refresh", args, kwargs); err != nil {
		return nil, err
	}
	o := b.Receiver().(*Operation)
	s, err := o.c.rest.GetOperation(ctxOf(thread), o.snapshot().ID)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.state = s
	o.mu.Unlock()
	return starlark.None, nil
}

// durationArg converts None or a number of seconds.
func durationArg(fn, param string, v starlark.Value) (time.Duration, error) {
	if v == starlark.None {
		return 0, nil
	}
	f, ok := starlark.AsFloat(v)
	if !ok {
		return 0, fmt.Errorf("%s: for parameter %s: got %s, want number or None", fn, param, v.Type())
	}
	if f <= 0 {
		return 0, fmt.Errorf("%s: for parameter %s: must be positive, got %v", fn, param, v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

// async sends a request that may start an LXD operation and applies the wait
// rule of API.md §1.1: wait=True blocks and returns finish's result;
// wait=False returns the pending Operation. A synchronous answer is final.
func (c *Client) async(thread *starlark.Thread, req *rest.Request, wait bool, finish finisher) (starlark.Value, error) {
	op, err := c.start(thread, req)
	if err != nil {
		return nil, err
	}
	if op == nil || wait {
		return c.waitInline(thread, op, finish)
	}
	return newOperation(c, op, finish), nil
}

// asyncObject is async for methods that return an object whose identity is
// known up front: with wait=False the object comes back with .operation set.
func (c *Client) asyncObject(thread *starlark.Thread, req *rest.Request, wait bool, m *Model, finish finisher) (starlark.Value, error) {
	return c.asyncObjectAbort(thread, req, wait, m, finish, nil)
}

// asyncObjectAbort is asyncObject with abort run when the operation fails
// after wait=False returned (with wait=True the caller sees the error).
func (c *Client) asyncObjectAbort(thread *starlark.Thread, req *rest.Request, wait bool, m *Model, finish finisher, abort func()) (starlark.Value, error) {
	op, err := c.start(thread, req)
	if err != nil {
		return nil, err
	}
	wrapped := func(thread *starlark.Thread) (starlark.Value, error) {
		if finish != nil {
			if _, err := finish(thread); err != nil {
				return nil, err
			}
		}
		return m, nil
	}
	if op == nil || wait {
		return c.waitInline(thread, op, wrapped)
	}
	o := newOperation(c, op, wrapped)
	o.abort = abort
	m.mu.Lock()
	m.op = o
	m.mu.Unlock()
	return m, nil
}

// start sends req; it returns the operation for an async answer, nil for a
// sync one.
func (c *Client) start(thread *starlark.Thread, req *rest.Request) (*rest.Operation, error) {
	resp, err := c.rest.Do(ctxOf(thread), req)
	if err != nil {
		return nil, err
	}
	if resp.Type != "async" {
		return nil, nil
	}
	return rest.AsyncOperation(resp)
}

// waitOp is the one place the script's thread blocks on an operation
// (wait=True): it shows progress when the host wants it.
func (c *Client) waitOp(thread *starlark.Thread, op *rest.Operation) (*rest.Operation, error) {
	done := c.progress.track(op)
	defer done()
	return c.rest.WaitOperation(ctxOf(thread), op, 0)
}

func (c *Client) waitInline(thread *starlark.Thread, op *rest.Operation, finish finisher) (starlark.Value, error) {
	if op != nil {
		if _, err := c.waitOp(thread, op); err != nil {
			return nil, err
		}
	}
	if finish == nil {
		return starlark.None, nil
	}
	return finish(thread)
}

// waitAll implements lxd.wait_all(*ops, timeout=None).
func waitAll(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var timeout starlark.Value = starlark.None
	if err := starlark.UnpackArgs("lxd.wait_all", nil, kwargs, "timeout?", &timeout); err != nil {
		return nil, err
	}
	d, err := durationArg("lxd.wait_all", "timeout", timeout)
	if err != nil {
		return nil, err
	}
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
	// turn therefore takes as long as the slowest.
	for _, it := range items {
		if op := pendingOf(it); op != nil {
			defer op.c.progress.track(op.snapshot())()
			select {
			case <-op.watch().Done():
			case <-ctx.Done():
				if ctxOf(thread).Err() == nil {
					return nil, &rest.Error{Kind: rest.KindTimeout, Message: fmt.Sprintf("lxd.wait_all: operations still running after %s", d)}
				}
				return nil, rest.ContextError(ctx, "lxd.wait_all")
			}
		}
	}
	results := make([]starlark.Value, len(items))
	var first error
	for i, it := range items {
		op := pendingOf(it)
		if op == nil {
			results[i] = it
			continue
		}
		v, err := op.wait(thread, 0)
		if err != nil && first == nil {
			first = fmt.Errorf("lxd.wait_all: item %d (%s): %w", i, it.String(), err)
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

package builtins

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/threadctx"
)

// kinded is implemented by errors that carry an error kind (NotFound,
// Conflict, … as in docs/guide.md, “Errors”), such as
// the LXD client's errors: Kinds lists the kind and every kind above it,
// most specific first. It is matched structurally so that this package does
// not depend on the client.
type kinded interface{ Kinds() []string }

// statusCoder is implemented by errors that carry an HTTP or LXD status.
type statusCoder interface{ HTTPStatus() int }

// baseKind is the kind of errors that have no other kind (fail(), a bad
// argument, …); every error is_a("Error").
const baseKind = "Error"

// cancelledPrefix starts the message of the error the interpreter returns
// once a thread has been cancelled (thread.Cancel, or a step limit). Thread
// has no accessor for its cancellation state, so catch recognises it by text.
const cancelledPrefix = "Starlark computation cancelled"

// catch(fn, *args, **kwargs) calls fn and returns a Result instead of failing.
func catch(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: missing argument for fn", b.Name())
	}
	fn, ok := args[0].(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("%s: for parameter fn: got %s, want callable", b.Name(), args[0].Type())
	}
	v, err := starlark.Call(thread, fn, args[1:], kwargs)
	if err != nil {
		if mustPropagate(thread, err) {
			return nil, err
		}
		return &result{err: newError(err)}, nil
	}
	return &result{value: v}, nil
}

// mustPropagate reports whether err means the script has to stop, so that
// catch must not turn it into a value: the run was interrupted (its context
// is done, the thread was cancelled or ran out of steps) or sys.exit was
// called.
func mustPropagate(thread *starlark.Thread, err error) bool {
	if threadctx.From(thread).Err() != nil {
		return true
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		return true
	}
	var k kinded
	if errors.As(err, &k) && slices.Contains(k.Kinds(), "Cancelled") {
		return true
	}
	return inChain(err, func(e error) bool {
		return strings.HasPrefix(e.Error(), cancelledPrefix)
	})
}

// inChain reports whether pred holds for err or any error it wraps,
// following both forms of Unwrap.
func inChain(err error, pred func(error) bool) bool {
	if err == nil {
		return false
	}
	if pred(err) {
		return true
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		return inChain(u.Unwrap(), pred)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if inChain(e, pred) {
				return true
			}
		}
	}
	return false
}

// result is the value catch returns.
type result struct {
	value starlark.Value // nil on error
	err   *errorValue    // nil on success
}

var (
	_ starlark.HasAttrs  = (*result)(nil)
	_ starlark.Indexable = (*result)(nil)
	_ starlark.Iterable  = (*result)(nil)
)

func (r *result) String() string {
	if r.err != nil {
		return fmt.Sprintf("Result(error=%s)", r.err)
	}
	return fmt.Sprintf("Result(value=%s)", r.value)
}
func (r *result) Type() string         { return "Result" }
func (r *result) Truth() starlark.Bool { return r.err == nil }
func (r *result) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: %s", r.Type())
}
func (r *result) Freeze() {
	if r.value != nil {
		r.value.Freeze()
	}
}

func (r *result) AttrNames() []string { return []string{"error", "value"} }

func (r *result) Attr(name string) (starlark.Value, error) {
	switch name {
	case "value":
		if r.err != nil {
			// Fail with the caught error itself, wrapped so that the
			// backtrace points at this read rather than at the catch.
			return nil, valueError{r.err.err}
		}
		return r.value, nil
	case "error":
		if r.err == nil {
			return starlark.None, nil
		}
		return r.err, nil
	}
	return nil, nil
}

// Len and Index make `value, err = catch(...)` work; the value is None on
// error (unpacking never fails).
func (r *result) Len() int { return 2 }

func (r *result) Index(i int) starlark.Value {
	if i == 0 {
		if r.value == nil {
			return starlark.None
		}
		return r.value
	}
	if r.err == nil {
		return starlark.None
	}
	return r.err
}

func (r *result) Iterate() starlark.Iterator { return &resultIterator{r: r} }

type resultIterator struct {
	r *result
	i int
}

func (it *resultIterator) Next(p *starlark.Value) bool {
	if it.i >= it.r.Len() {
		return false
	}
	*p = it.r.Index(it.i)
	it.i++
	return true
}

func (it *resultIterator) Done() {}

// valueError is the error of reading .value on a failed Result: the caught
// error, unchanged in text and chain.
type valueError struct{ err error }

func (e valueError) Error() string { return e.err.Error() }
func (e valueError) Unwrap() error { return e.err }

// errorValue is the Starlark Error value describing a caught error.
type errorValue struct {
	err     error    // the caught error, as returned by starlark.Call
	kinds   []string // most specific first; never empty
	status  int      // 0 when none
	message string   // without the "Kind: " prefix or backtrace
}

var _ starlark.HasAttrs = (*errorValue)(nil)

func newError(err error) *errorValue {
	e := &errorValue{err: err, kinds: []string{baseKind}}
	var k kinded
	if errors.As(err, &k) {
		if kinds := k.Kinds(); len(kinds) > 0 {
			e.kinds = kinds
		}
	}
	var sc statusCoder
	if errors.As(err, &sc) {
		e.status = sc.HTTPStatus()
	}
	// An EvalError's text is its cause's text; skip to the outermost cause
	// that is not an EvalError, which has no backtrace.
	cause := err
	for {
		ee, ok := cause.(*starlark.EvalError)
		if !ok || ee.Unwrap() == nil {
			break
		}
		cause = ee.Unwrap()
	}
	e.message = strings.TrimPrefix(cause.Error(), e.kinds[0]+": ")
	return e
}

func (e *errorValue) String() string        { return e.kinds[0] + ": " + e.message }
func (e *errorValue) Type() string          { return "Error" }
func (e *errorValue) Truth() starlark.Bool  { return true }
func (e *errorValue) Freeze()               {} // immutable
func (e *errorValue) Hash() (uint32, error) { return starlark.String(e.String()).Hash() }

func (e *errorValue) AttrNames() []string {
	return []string{"is_a", "kind", "kinds", "message", "status_code"}
}

func (e *errorValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "kind":
		return starlark.String(e.kinds[0]), nil
	case "kinds":
		kinds := make([]starlark.Value, len(e.kinds))
		for i, k := range e.kinds {
			kinds[i] = starlark.String(k)
		}
		return starlark.NewList(kinds), nil
	case "status_code":
		if e.status == 0 {
			return starlark.None, nil
		}
		return starlark.MakeInt(e.status), nil
	case "message":
		return starlark.String(e.message), nil
	case "is_a":
		return errorIsA.BindReceiver(e), nil
	}
	return nil, nil
}

// errorIsA is Error.is_a(kind), built once and bound to each error read
// (as go.starlark.net binds its own methods): whether the error is of kind
// or of a kind below it.
var errorIsA = starlark.NewBuiltin("Error.is_a", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var kind string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "kind", &kind); err != nil {
		return nil, err
	}
	e := b.Receiver().(*errorValue)
	return starlark.Bool(kind == baseKind || slices.Contains(e.kinds, kind)), nil
})

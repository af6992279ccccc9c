package lxdstar

import (
	"errors"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/builtins"
)

// ErrMaxSteps matches (errors.Is) the error of a run stopped by the limit of
// WithMaxSteps.
var ErrMaxSteps = errors.New("too many execution steps")

// ExitError is the error of a script that called sys.exit(code); find it
// with errors.As to read the exit status (sys.exit(0) is an error too, as
// it stops the script).
type ExitError = builtins.ExitError

// Error is a script failure: a syntax or name resolution error, or an error
// during execution with its Starlark backtrace. Unwrap reaches the Go error
// a builtin returned (e.g. the LXD client's *rest.Error), and, when the
// run's context was done, the context's error (context.Canceled, …).
type Error struct {
	err   error   // from go.starlark.net; usually a *starlark.EvalError
	extra []error // why the run was stopped: ErrMaxSteps, ctx.Err(), its cause
	// unwaited lists operations started with wait=False that failed with
	// nobody waiting, when the script failed too (else it is err itself).
	unwaited error
}

// Error returns the failure's message, without the backtrace, e.g.
// "NotFound: Instance not found", followed by the operations started with
// wait=False that failed unnoticed, if any.
func (e *Error) Error() string {
	if e.unwaited != nil {
		return e.err.Error() + "\nAlso, " + e.unwaited.Error()
	}
	return e.err.Error()
}

// Unwrap returns the underlying error and, for an interrupted run, the
// context's error, and the errors of unnoticed failed operations.
func (e *Error) Unwrap() []error {
	out := append([]error{e.err}, e.extra...)
	if e.unwaited != nil {
		out = append(out, e.unwaited)
	}
	return out
}

// CallStack returns the Starlark frames active at the failure, outermost
// first; nil for a syntax error. For a failure inside a loaded module it
// includes the frames of that module below the load statement.
func (e *Error) CallStack() starlark.CallStack {
	var outer *starlark.EvalError
	if !errors.As(e.err, &outer) {
		return nil
	}
	// An error in a loaded module reaches the script wrapped ("cannot load
	// x: …"), with a stack that ends at the load statement; the loaded
	// module ran on the same thread, so its error's stack continues that
	// one. Prefer the deepest such continuation.
	stack := outer.CallStack
	for err := errors.Unwrap(outer); err != nil; err = errors.Unwrap(err) {
		if ee, ok := err.(*starlark.EvalError); ok && extends(ee.CallStack, stack) {
			stack = ee.CallStack
		}
	}
	return stack
}

// extends reports whether stack continues base: longer, with base's frames
// at its start.
func extends(stack, base starlark.CallStack) bool {
	if len(stack) <= len(base) {
		return false
	}
	for i := range base {
		if stack[i] != base[i] {
			return false
		}
	}
	return true
}

// Backtrace returns the failure as Starlark prints it: the frames, most
// recent call last, then the message, e.g.
//
//	Traceback (most recent call last):
//	  deploy.star:12:30: in <toplevel>
//	Error in get: NotFound: Instance not found
//
// For a syntax error it is the error's text.
func (e *Error) Backtrace() string {
	stack := e.CallStack()
	if stack == nil {
		return e.Error()
	}
	// As EvalError.Backtrace: a failing builtin is named after "Error"
	// rather than shown as a frame without a position.
	suffix := ""
	if last := len(stack) - 1; last >= 0 && stack[last].Pos.Filename() == "<builtin>" {
		suffix = " in " + stack[last].Name
		stack = stack[:last]
	}
	return fmt.Sprintf("%sError%s: %s", stack, suffix, e.Error())
}

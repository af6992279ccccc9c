package builtins

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/lxdstar/lxdstar/internal/threadctx"
)

// timeModule returns go.starlark.net's time module plus sleep. It is a new
// module value so that lib/time's shared one is left untouched.
func timeModule() *starlarkstruct.Module {
	members := maps.Clone(starlarktime.Module.Members)
	members["sleep"] = starlark.NewBuiltin("time.sleep", sleep)
	return &starlarkstruct.Module{Name: "time", Members: members}
}

// sleep(seconds) pauses the script. seconds is an int, a float or a
// time.duration. It returns early, failing with Cancelled (or Timeout), when
// the thread's context is done, so an interrupted script does not hang here.
func sleep(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var secs starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "seconds", &secs); err != nil {
		return nil, err
	}
	var d time.Duration
	switch x := secs.(type) {
	case starlarktime.Duration:
		d = time.Duration(x)
	case starlark.Int, starlark.Float:
		f, _ := starlark.AsFloat(x)
		if !(f >= 0) { // also rejects NaN
			return nil, fmt.Errorf("%s: negative duration %v", b.Name(), f)
		}
		// Clamp: converting a huge float to Duration would overflow.
		if f > float64(1<<62)/float64(time.Second) {
			f = float64(1<<62) / float64(time.Second)
		}
		d = time.Duration(f * float64(time.Second))
	default:
		return nil, fmt.Errorf("%s: for parameter seconds: got %s, want int, float or time.duration", b.Name(), secs.Type())
	}
	if d < 0 {
		return nil, fmt.Errorf("%s: negative duration %v", b.Name(), d)
	}

	ctx := threadctx.From(thread)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return starlark.None, nil
	case <-ctx.Done():
		return nil, interrupted(ctx, "time.sleep")
	}
}

// interruptError reports that a builtin stopped because the thread's context
// is done. Like the LXD client's errors it has a kind (Cancelled, or Timeout
// for a deadline), and it wraps the context's error so errors.Is finds
// context.Canceled or context.DeadlineExceeded.
type interruptError struct {
	what string
	err  error // ctx.Err()
}

func interrupted(ctx context.Context, what string) error {
	return &interruptError{what: what, err: ctx.Err()}
}

func (e *interruptError) Kinds() []string {
	if errors.Is(e.err, context.DeadlineExceeded) {
		return []string{"Timeout"}
	}
	return []string{"Cancelled"}
}

func (e *interruptError) Error() string {
	if errors.Is(e.err, context.DeadlineExceeded) {
		return "Timeout: " + e.what + ": deadline exceeded"
	}
	return "Cancelled: " + e.what + ": cancelled"
}

func (e *interruptError) Unwrap() error { return e.err }

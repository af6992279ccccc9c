package lxdmod

// execute(..., wait=False): the command runs in the background while the
// script goes on, as an Operation whose wait() returns the ExecResult.
// Starlark values are not safe for concurrent use, so output handlers are
// never called from the background: the websocket readers queue the output
// and the script's thread calls the handlers whenever it waits for the
// command (Operation.wait, lxd.wait_all).

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// execJob is one command started with wait=False.
type execJob struct {
	streams [2]*outStream
	decode  bool
	op      *Operation
	// kill ends the command (its cause is what the watcher reports).
	kill context.CancelCauseFunc

	mu     sync.Mutex
	queue  []chunk         // output for the handlers, not yet delivered
	wake   chan<- struct{} // signalled when the queue grows, while the script waits
	failed error           // a handler failed: the command was killed

	// res is set by the watcher before it ends, read on the script's
	// thread once it has (Pending.Done orders the two).
	res *rest.ExecResult
}

// startExec runs the command in the background, from the request that
// starts it to its end, tied to the client's life: the end of the script
// or Ctrl-C kills it. Sending even the request from the background lets
// LXD accept many commands at once (on a busy server, one after another
// took half as long again). The Operation is in the ledger until the
// script has seen its outcome, so a command that could not be run to its
// end (refused, a timeout, a broken connection) is reported even if nobody
// waits for it. A non-zero exit status is a result, not a failure.
func startExec(thread *starlark.Thread, m *Model, req rest.ExecRequest, opts execOptions) (starlark.Value, error) {
	rc := m.c.rest
	streams, stdio := newStreams(opts)
	j := &execJob{streams: streams, decode: opts.decode}
	for fd, s := range streams {
		if s.handler == nil {
			continue
		}
		w := jobWriter{j, fd}
		if fd == 0 {
			stdio.Stdout = w
		} else {
			stdio.Stderr = w
		}
	}
	// Until LXD has answered, the operation is known by its description.
	placeholder := &rest.Operation{Description: "Executing command", Status: "Pending", StatusCode: 105, Metadata: map[string]any{}}
	o := &Operation{c: m.c, state: placeholder, spec: opSpec{
		what: "execute(" + commandRepr(req.Command) + ")", subject: m.subject(), where: callerPos(thread),
		result: j.result, exec: j,
	}}
	j.op = o
	ctx, kill := context.WithCancelCause(m.c.life)
	j.kill = kill
	// The watcher is set before the Operation is visible to anyone, and
	// it only starts once the ledger holds the Operation it drops.
	o.mu.Lock()
	defer o.mu.Unlock()
	m.c.ledger.add(o)
	instance := m.key()
	o.pending = rc.Follow(ctx, placeholder, func(ctx context.Context, update func(*rest.Operation)) (*rest.Operation, error) {
		defer kill(nil)
		started, err := rc.StartCommand(ctx, instance, req)
		if err != nil {
			return nil, err
		}
		update(started.Operation)
		res, err := rc.Attach(ctx, started, stdio)
		if f := j.failure(); f != nil {
			return nil, f // the handler's error, rather than the kill it caused
		}
		if err != nil {
			return nil, err
		}
		j.res = res
		m.c.ledger.drop(o) // a success needs no reporting
		return res.Operation, nil
	})
	return o, nil
}

// commandRepr shows a command as the script wrote it: ["ls", "-l"].
func commandRepr(cmd []string) string {
	parts := make([]string, len(cmd))
	for i, a := range cmd {
		parts[i] = starlark.String(a).String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// jobWriter queues one stream's output for its handler. It never blocks:
// the script may wait for the command long after it ended, so what the
// command printed is kept in memory until then.
type jobWriter struct {
	j  *execJob
	fd int
}

func (w jobWriter) Write(p []byte) (int, error) {
	j := w.j
	j.mu.Lock()
	if j.failed != nil {
		j.mu.Unlock()
		return 0, errHandlerFailed
	}
	j.queue = append(j.queue, chunk{w.fd, bytes.Clone(p)})
	wake := j.wake
	j.mu.Unlock()
	if wake != nil {
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	return len(p), nil
}

// listen has the writers signal wake (nil: no one) when output arrives.
func (j *execJob) listen(wake chan<- struct{}) {
	j.mu.Lock()
	j.wake = wake
	j.mu.Unlock()
}

func (j *execJob) failure() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failed
}

// fail records a handler's failure and kills the command.
func (j *execJob) fail(err error) {
	j.mu.Lock()
	if j.failed == nil {
		j.failed = err
	}
	j.queue = nil
	j.mu.Unlock()
	j.kill(err)
}

// deliver calls the handlers with the output queued so far, in arrival
// order, on the script's thread.
func (j *execJob) deliver(thread *starlark.Thread) {
	j.mu.Lock()
	queue := j.queue
	j.queue = nil
	failed := j.failed
	j.mu.Unlock()
	if failed != nil {
		return
	}
	for _, c := range queue {
		if err := j.streams[c.fd].call(thread, c.data, j.decode, false); err != nil {
			j.fail(err)
			return
		}
	}
}

// result is the Operation's result once the command has ended: the rest
// of the output goes to the handlers, then the ExecResult is built.
func (j *execJob) result(thread *starlark.Thread, _ *rest.Operation) (starlark.Value, error) {
	j.deliver(thread)
	for _, s := range j.streams {
		if s.handler == nil || j.failure() != nil {
			continue
		}
		if err := s.call(thread, nil, j.decode, true); err != nil { // a trailing partial character
			j.fail(err)
		}
	}
	if err := j.failure(); err != nil {
		return nil, err
	}
	return execResult(j.res.ExitCode, j.streams, j.decode), nil
}

// awaitDelivering blocks until done is closed or ctx ends (then it returns
// ctx's error), calling the output handlers of jobs with what arrives
// meanwhile. When the script is interrupted, the commands it was waiting
// for are killed, as an interrupted execute(wait=True) is; the interrupted
// wait is how the script learns of it.
func awaitDelivering(thread *starlark.Thread, ctx context.Context, done <-chan struct{}, jobs []*execJob) error {
	wake := make(chan struct{}, 1)
	for _, j := range jobs {
		j.listen(wake)
	}
	defer func() {
		for _, j := range jobs {
			j.listen(nil)
		}
	}()
	for {
		for _, j := range jobs {
			j.deliver(thread)
		}
		select {
		case <-done:
			return nil
		case <-wake:
		case <-ctx.Done():
			if interrupted := ctxOf(thread); interrupted.Err() != nil {
				for _, j := range jobs {
					j.op.markReported()
					j.kill(rest.ContextError(interrupted, "execute"))
				}
			}
			return ctx.Err()
		}
	}
}

// execJobs returns the background commands among ops.
func execJobs(ops []*Operation) []*execJob {
	var jobs []*execJob
	for _, o := range ops {
		if o != nil && o.spec.exec != nil {
			jobs = append(jobs, o.spec.exec)
		}
	}
	return jobs
}

// waitError turns the error of an interrupted or timed-out wait into the
// script's: Cancelled when the script was interrupted, else Timeout.
func waitError(thread *starlark.Thread, what string, timeout fmt.Stringer) error {
	if ctx := ctxOf(thread); ctx.Err() != nil {
		return rest.ContextError(ctx, "waiting for "+what)
	}
	return &rest.Error{Kind: rest.KindTimeout, Message: fmt.Sprintf("%s still running after %s", what, timeout)}
}

package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ExecRequest is the body of POST /1.0/instances/<name>/exec.
type ExecRequest struct {
	Command     []string          `json:"command"`
	Environment map[string]string `json:"environment,omitempty"`
	WaitForWS   bool              `json:"wait-for-websocket"`
	Interactive bool              `json:"interactive"`
	User        *uint32           `json:"user,omitempty"`  // nil: LXD's default (root)
	Group       *uint32           `json:"group,omitempty"` // nil: LXD's default (root)
	Cwd         string            `json:"cwd,omitempty"`
	Width       int               `json:"width,omitempty"`  // terminal size, interactive only
	Height      int               `json:"height,omitempty"` // terminal size, interactive only
}

// ExecStarted is a command LXD has accepted: its operation and the secrets
// of its websockets, keyed by LXD's names: "0", "1", "2" and "control"
// (non-interactive), or "0" and "control" (interactive, where "0" carries
// the terminal both ways). With WaitForWS the command starts only once every
// one of them is connected.
type ExecStarted struct {
	Operation *Operation
	Secrets   map[string]string
}

// WebsocketPath returns the path of the websocket named fd ("0", "control").
func (s *ExecStarted) WebsocketPath(fd string) string {
	return OperationWebsocketPath(s.Operation.ID, s.Secrets[fd])
}

// StartExec asks LXD to run a command in instance and returns at once.
// Most callers want Exec, which also drives the websockets.
func (c *Client) StartExec(ctx context.Context, instance string, req ExecRequest) (*ExecStarted, error) {
	resp, err := c.Do(ctx, &Request{Method: "POST", Path: Path("instances", instance, "exec"), Body: req})
	if err != nil {
		return nil, err
	}
	op, err := AsyncOperation(resp)
	if err != nil {
		return nil, err
	}
	started := &ExecStarted{Operation: op, Secrets: map[string]string{}}
	if fds, ok := op.Metadata["fds"].(map[string]any); ok {
		for k, v := range fds {
			if s, ok := v.(string); ok {
				started.Secrets[k] = s
			}
		}
	}
	return started, nil
}

// ExecIO connects a non-interactive command to the caller.
type ExecIO struct {
	// Stdin is fed to the command, then its stdin is closed; nil closes it
	// at once (so a command reading stdin sees end-of-file, never hangs).
	// Exec waits for Stdin.Read to return, so it must not block forever.
	Stdin io.Reader
	// Stdout and Stderr receive the output as it arrives, each from its
	// own goroutine; nil discards it. An error from Write stops the
	// delivery of that stream, kills the command and fails Exec.
	Stdout, Stderr io.Writer
	// Timeout, when positive, kills the command (see Exec) once it has
	// run that long; Exec then fails with KindTimeout.
	Timeout time.Duration
}

// ExecResult is how a command ended.
type ExecResult struct {
	ExitCode  int        // the command's exit status (128+n when killed by signal n)
	Operation *Operation // the final state of LXD's operation
}

// killGrace bounds how long a killed command may take to end and flush its
// output before Exec gives up on it and closes the connections. A direct
// child dies within milliseconds; only orphaned descendants still holding
// stdout open (sh -c 'sleep 60; ...') make the wait run out.
const killGrace = 2 * time.Second

// Exec runs a command in instance and returns once it has ended and all of
// its output has been delivered. Output is read until LXD's end-of-stream
// marker (an empty text message) on each stream, never by timer, so no
// byte is lost whatever the size or pace of the output; the exit code is
// the operation's metadata.return. A non-zero exit is a result, not an
// error. Cancelling ctx kills the command and returns Cancelled promptly.
// Exec leaves no goroutine or connection behind.
//
// Exec connects stdin, stdout and stderr, not the control websocket: every
// dial lies between LXD accepting the command and running it, and control
// would only carry the SIGKILL. Without a control connection LXD itself
// sends SIGKILL once the client closes its stdout websocket, so that is how
// Exec kills.
func (c *Client) Exec(ctx context.Context, instance string, req ExecRequest, stdio ExecIO) (*ExecResult, error) {
	req.WaitForWS, req.Interactive = true, false
	what := fmt.Sprintf("exec of %q in %s", req.Command, instance)
	started, err := c.StartExec(ctx, instance, req)
	if err != nil {
		return nil, err
	}
	conns, err := c.dialExec(ctx, started)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	r := &execRun{c: c, op: started.Operation, conns: conns, what: what,
		outEnd: make(chan error, 2), opEnd: make(chan opOutcome, 1)}
	return r.run(ctx, stdio)
}

// The websockets of a non-interactive exec that Exec connects, in LXD's
// order.
const (
	fdStdin = iota
	fdStdout
	fdStderr
	fdCount
)

var execFDNames = [fdCount]string{"0", "1", "2"}

// execReadBuffer sizes each websocket's read buffer: only the output
// streams carry data to us; stdin brings nothing but pings and the close,
// and a large buffer there would be allocated for nothing on every call.
var execReadBuffer = [fdCount]int{fdStdin: 512, fdStdout: wsBufferSize, fdStderr: wsBufferSize}

// dialExec connects the websockets of a non-interactive command, all at
// once: LXD starts the command when the last one is up.
func (c *Client) dialExec(ctx context.Context, started *ExecStarted) (conns [fdCount]*websocket.Conn, err error) {
	for _, name := range execFDNames {
		if _, ok := started.Secrets[name]; !ok {
			return conns, &Error{Kind: KindConnection, Message: fmt.Sprintf("%s sent no websocket secret for fd %q", c.name(), name)}
		}
	}
	var errs [fdCount]error
	var wg sync.WaitGroup
	for i := range fdCount {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conns[i], errs[i] = c.dialWebsocket(ctx, started.WebsocketPath(execFDNames[i]), execReadBuffer[i])
		}()
	}
	wg.Wait()
	// Report the first failure alone: it keeps its kind for errors.As.
	for _, e := range errs {
		if e != nil {
			for _, conn := range conns {
				if conn != nil {
					conn.Close()
				}
			}
			return conns, e
		}
	}
	return conns, nil
}

type opOutcome struct {
	op  *Operation
	err error
}

// execRun drives one running command. The goroutines it starts (one reader
// per websocket, the stdin feeder, the operation waiter) all end before run
// returns.
type execRun struct {
	c     *Client
	op    *Operation
	conns [fdCount]*websocket.Conn
	what  string
	wg    sync.WaitGroup

	outEnd chan error     // one value per output stream: nil at LXD's end-of-stream
	opEnd  chan opOutcome // the operation's final state

	stdinErr error // set by the feeder, read after wg.Wait
}

func (r *execRun) run(ctx context.Context, stdio ExecIO) (*ExecResult, error) {
	// The operation waiter outlives ctx: after a kill, the command's end
	// is still observed (within killGrace) so it is known to be gone.
	waitCtx, stopWaiting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWaiting()
	r.wg.Add(fdCount + 2)
	go r.waitOperation(waitCtx)
	go r.feed(stdio.Stdin)
	go r.drain(r.conns[fdStdin])
	go r.pump(r.conns[fdStdout], stdio.Stdout)
	go r.pump(r.conns[fdStderr], stdio.Stderr)

	final, streamErr, failure := r.await(ctx, stdio.Timeout)

	for _, conn := range r.conns {
		conn.Close()
	}
	stopWaiting()
	r.wg.Wait()

	if failure != nil {
		return nil, failure
	}
	// LXD and Incus fail the operation of a command that could not be run
	// ("Command not found", "Command not executable") yet still report its
	// exit status (127, 126): that is a result, as any other exit status.
	// (Incus's wait answers such a failure with an error; WaitOperation
	// then reads the operation, which holds the status.)
	code, haveCode := exitCode(final.op)
	if final.err != nil && !haveCode {
		return nil, fmt.Errorf("%s: %w", r.what, final.err)
	}
	if streamErr != nil {
		return nil, fmt.Errorf("%s: %w", r.what, streamErr)
	}
	if r.stdinErr != nil {
		return nil, fmt.Errorf("%s: reading stdin: %w", r.what, r.stdinErr)
	}
	if !haveCode {
		return nil, &Error{Kind: KindConnection, Message: r.what + ": " + r.c.name() + " reported no exit status"}
	}
	return &ExecResult{ExitCode: code, Operation: final.op}, nil
}

// await waits until both output streams and the operation have ended, or
// the command must be killed (ctx done, timeout, a Write failed), in which
// case it waits at most killGrace more. It returns the operation's outcome
// (op nil if it was not seen), the first stream error, and the reason the
// command was killed, if it was.
func (r *execRun) await(ctx context.Context, timeout time.Duration) (final opOutcome, streamErr, failure error) {
	var timer, grace <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		timer = t.C
	}
	done := ctx.Done()
	kill := func(reason error) {
		if failure != nil {
			return
		}
		failure = reason
		r.kill()
		done, timer = nil, nil
		grace = time.After(killGrace)
	}
	for pending := 3; pending > 0; {
		select {
		case err := <-r.outEnd:
			pending--
			if err != nil && streamErr == nil {
				streamErr = err
				// Output can no longer be delivered (the caller's Writer
				// failed, or the connection broke): do not let the
				// command run on unobserved, and do not wait for an end
				// that a server whose websockets dropped may never
				// report (the operation of `sleep 3600` would keep the
				// call hanging for an hour).
				var we *writeError
				if errors.As(err, &we) {
					kill(err)
				} else {
					kill(Annotate(err, r.what))
				}
			}
		case final = <-r.opEnd:
			pending--
		case <-done:
			kill(ContextError(ctx, r.what))
		case <-timer:
			kill(&Error{Kind: KindTimeout, Message: fmt.Sprintf("%s still running after %s: killed", r.what, timeout)})
		case <-grace:
			return final, streamErr, failure
		}
	}
	return final, streamErr, failure
}

// kill has LXD send SIGKILL to the command: with no control socket
// connected, LXD kills the command as soon as the client closes its stdout
// websocket (it then counts the client as gone). Output after this point is
// lost, which is fine: a killed call returns an error, not output.
func (r *execRun) kill() {
	_ = r.conns[fdStdout].Close()
}

func (r *execRun) waitOperation(ctx context.Context) {
	defer r.wg.Done()
	op, err := r.c.WaitOperation(ctx, r.op, 0)
	r.opEnd <- opOutcome{op, err}
}

// feed writes stdin, then LXD's end-of-stream marker (an empty text
// message), which makes LXD close the command's stdin.
func (r *execRun) feed(stdin io.Reader) {
	defer r.wg.Done()
	conn := r.conns[fdStdin]
	if stdin != nil {
		buf := make([]byte, wsBufferSize)
		for {
			n, err := stdin.Read(buf)
			if n > 0 {
				if werr := conn.WriteMessage(websocket.BinaryMessage, buf[:n]); werr != nil {
					return // the command ended without reading all of stdin
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				r.stdinErr = err
				break
			}
		}
	}
	_ = conn.WriteMessage(websocket.TextMessage, nil)
}

// drain reads a websocket that carries nothing for us, so that pings are
// answered and the server's close is noticed. It ends when the connection
// is closed.
func (r *execRun) drain(conn *websocket.Conn) {
	defer r.wg.Done()
	for {
		if _, _, err := conn.NextReader(); err != nil {
			return
		}
	}
}

// writeError is a failure of the caller's Writer, as opposed to the stream.
type writeError struct{ err error }

func (e *writeError) Error() string { return "delivering output: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// taggedWriter marks the errors of the caller's Writer, so that pump can
// tell them from network errors inside the same io.Copy.
type taggedWriter struct{ w io.Writer }

func (t taggedWriter) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

// pump copies one output stream to w until LXD's end-of-stream marker,
// reports on outEnd, then keeps reading (answering pings) until the
// connection closes.
func (r *execRun) pump(conn *websocket.Conn, w io.Writer) {
	defer r.wg.Done()
	if w == nil {
		w = io.Discard
	}
	dst := taggedWriter{w}
	buf := make([]byte, wsBufferSize)
	reported := false
	report := func(err error) {
		if !reported {
			reported = true
			r.outEnd <- err
		}
	}
	for {
		mt, msg, err := conn.NextReader()
		if err != nil {
			report(&Error{Kind: KindConnection, Message: "the output stream from " + r.c.endpoint + " ended before " + r.c.name() + "'s end-of-stream marker", Err: err})
			return
		}
		if reported {
			continue // after the marker (or a failed Write) nothing is kept
		}
		if mt == websocket.TextMessage {
			// LXD's end-of-stream marker: its websocket wrapper sends an
			// empty text message when the command's output pipe closes.
			report(nil)
			continue
		}
		if _, err := io.CopyBuffer(dst, msg, buf); err != nil {
			var we *writeError
			if errors.As(err, &we) {
				report(we)
				continue
			}
			report(&Error{Kind: KindConnection, Message: "the output stream from " + r.c.endpoint + " broke", Err: err})
		}
	}
}

// exitCode reads metadata.return of a finished exec operation.
func exitCode(op *Operation) (int, bool) {
	if op == nil || !op.Final() {
		return 0, false
	}
	switch v := op.Metadata["return"].(type) {
	case float64:
		return int(v), true
	case json.Number:
		n, err := v.Int64()
		return int(n), err == nil
	}
	return 0, false
}

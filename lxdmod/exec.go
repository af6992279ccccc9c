package lxdmod

// Instance.execute and Instance.raw_interactive_execute (docs/guide.md,
// “Commands: execute”). The
// websocket protocol lives in rest.Client.Exec; this file turns Starlark
// arguments into an rest.ExecRequest and output chunks into Starlark values,
// always on the script's own goroutine.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/internal/textcodec"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// execArgs are the arguments execute and raw_interactive_execute share.
type execArgs struct {
	commands    starargs.Command
	environment starargs.StringDict
	user, group starargs.Owner
	cwd         starargs.OptString
}

func newExecArgs() execArgs { return execArgs{user: -1, group: -1} }

// request is LXD's request body for the shared arguments.
func (a execArgs) request() rest.ExecRequest {
	return rest.ExecRequest{Command: a.commands, Environment: a.environment,
		User: execID(a.user), Group: execID(a.group), Cwd: a.cwd.Value}
}

// execID is a uid or gid for the request: nil lets LXD choose.
func execID(o starargs.Owner) *uint32 {
	if o < 0 {
		return nil
	}
	id := uint32(o)
	return &id
}

// execOptions is everything execute needs beyond the request body.
type execOptions struct {
	decode   bool
	codec    textcodec.Codec
	stdin    []byte // nil: none
	handlers [2]starlark.Callable
	timeout  time.Duration // 0: none
}

func instanceExecute(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	fn := qualified(m, b)
	const positional = 11 // everything before the keyword-only timeout and wait
	if len(args) > positional {
		return nil, fmt.Errorf("%s: got %d positional arguments, want at most %d (timeout and wait are keyword-only)", fn, len(args), positional)
	}
	a := newExecArgs()
	var (
		encoding               encodingArg
		decode                 = starargs.Opt[starlark.Bool]{Value: true, Set: true}
		payload                stdinPayload
		stdinEncoding          = "utf-8"
		outHandler, errHandler starargs.Callable
		timeout                starargs.Seconds
		wait                   = true
	)
	if err := starlark.UnpackArgs(fn, args, kwargs,
		"commands", &a.commands, "environment?", &a.environment, "encoding?", &encoding, "decode?", &decode,
		"stdin_payload?", &payload, "stdin_encoding?", &stdinEncoding, "stdout_handler?", &outHandler,
		"stderr_handler?", &errHandler, "user?", &a.user, "group?", &a.group, "cwd?", &a.cwd, "timeout?", &timeout,
		"wait?", &wait); err != nil {
		return nil, err
	}
	stdin, err := payload.encode(fn, stdinEncoding)
	if err != nil {
		return nil, err
	}
	opts := execOptions{
		decode:   bool(decode.Value), // None: bytes, as pylxd's decode=None
		codec:    textcodec.Codec(encoding),
		stdin:    stdin,
		handlers: [2]starlark.Callable{outHandler.Fn, errHandler.Fn},
		timeout:  timeout.Duration(),
	}
	if !wait {
		return startExec(thread, m, a.request(), opts)
	}
	return runExec(thread, m, a.request(), opts)
}

// encodingArg is the encoding of a command's output: a name textcodec
// knows, or None (UTF-8).
type encodingArg textcodec.Codec

func (e *encodingArg) Unpack(v starlark.Value) error {
	var name starargs.OptString
	if err := name.Unpack(v); err != nil || !name.Set {
		*e = encodingArg(textcodec.UTF8)
		return err
	}
	c, err := textcodec.Lookup(name.Value)
	*e = encodingArg(c)
	return err
}

// stdinPayload is stdin_payload: a str (encoded with stdin_encoding),
// bytes (sent as they are) or None.
type stdinPayload struct{ v starlark.Value }

func (p *stdinPayload) Unpack(v starlark.Value) error {
	switch v.(type) {
	case starlark.NoneType, starlark.String, starlark.Bytes:
		p.v = v
		return nil
	}
	return fmt.Errorf("got %s, want str, bytes or None", v.Type())
}

// encode returns the bytes to send (nil: no input). Only a str needs
// stdin_encoding, so only then is it looked up.
func (p stdinPayload) encode(fn, encoding string) ([]byte, error) {
	switch x := p.v.(type) {
	case starlark.Bytes:
		return []byte(x), nil
	case starlark.String:
		c, err := textcodec.Lookup(encoding)
		if err != nil {
			return nil, fmt.Errorf("%s: for parameter stdin_encoding: %w", fn, err)
		}
		data, err := c.Encode(string(x))
		if err != nil {
			return nil, fmt.Errorf("%s: for parameter stdin_payload: %w", fn, err)
		}
		return data, nil
	}
	return nil, nil
}

// outStream collects or forwards one output stream.
type outStream struct {
	handler starlark.Callable
	buf     bytes.Buffer      // the output, when there is no handler
	dec     textcodec.Decoder // carries partial characters across chunks
}

// newStreams prepares stdout and stderr, and the ExecIO that fills their
// buffers (the streams with a handler are rewired by the caller).
func newStreams(opts execOptions) ([2]*outStream, rest.ExecIO) {
	streams := [2]*outStream{{handler: opts.handlers[0]}, {handler: opts.handlers[1]}}
	for _, s := range streams {
		s.dec = textcodec.Decoder{Codec: opts.codec}
	}
	stdio := rest.ExecIO{Stdout: &streams[0].buf, Stderr: &streams[1].buf, Timeout: opts.timeout}
	if opts.stdin != nil {
		stdio.Stdin = bytes.NewReader(opts.stdin)
	}
	return streams, stdio
}

func runExec(thread *starlark.Thread, m *Model, req rest.ExecRequest, opts execOptions) (starlark.Value, error) {
	streams, stdio := newStreams(opts)
	name := m.key()
	rc := m.c.rest
	var res *rest.ExecResult
	var err error
	if streams[0].handler == nil && streams[1].handler == nil {
		// Nothing to call back: the websocket readers fill the buffers
		// and Exec returns after they have finished.
		res, err = rc.Exec(ctxOf(thread), name, req, stdio)
	} else {
		res, err = execWithHandlers(thread, rc, name, req, stdio, streams, opts.decode)
	}
	if err != nil {
		return nil, err
	}
	return execResult(res.ExitCode, streams, opts.decode), nil
}

// execResult builds the ExecResult once the command has ended and its
// output has been delivered.
func execResult(code int, streams [2]*outStream, decode bool) *ExecResult {
	out := &ExecResult{exitCode: code}
	for i, s := range streams {
		v := outputValue(s.buf.Bytes(), decode, &s.dec)
		if i == 0 {
			out.stdout = v
		} else {
			out.stderr = v
		}
	}
	return out
}

func outputValue(data []byte, decode bool, dec *textcodec.Decoder) starlark.Value {
	if !decode {
		return starlark.Bytes(data)
	}
	return starlark.String(dec.Decode(data, true))
}

// chunk is output handed from a websocket reader to the script's goroutine.
type chunk struct {
	fd   int
	data []byte
}

// chanWriter hands each Write to the script's goroutine. It blocks while
// the script is busy (so a fast command is slowed down by the websocket's
// flow control rather than buffered in memory) and fails once stop closes.
type chanWriter struct {
	fd   int
	ch   chan<- chunk
	stop <-chan struct{}
}

var errHandlerFailed = errors.New("output handler failed")

func (w chanWriter) Write(p []byte) (int, error) {
	select {
	case w.ch <- chunk{w.fd, bytes.Clone(p)}:
		return len(p), nil
	case <-w.stop:
		return 0, errHandlerFailed
	}
}

// execWithHandlers runs Exec on another goroutine while this one, the
// script's, calls the handlers with each chunk in arrival order: Starlark
// is never called concurrently.
func execWithHandlers(thread *starlark.Thread, rc *rest.Client, name string, req rest.ExecRequest,
	stdio rest.ExecIO, streams [2]*outStream, decode bool) (*rest.ExecResult, error) {
	ctx, cancel := context.WithCancel(ctxOf(thread))
	defer cancel()
	chunks := make(chan chunk, 16)
	stop := make(chan struct{})
	if streams[0].handler != nil {
		stdio.Stdout = chanWriter{0, chunks, stop}
	}
	if streams[1].handler != nil {
		stdio.Stderr = chanWriter{1, chunks, stop}
	}
	type outcome struct {
		res *rest.ExecResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := rc.Exec(ctx, name, req, stdio)
		done <- outcome{res, err}
	}()
	var handlerErr error
	deliver := func(c chunk, final bool) {
		if handlerErr != nil {
			return
		}
		if handlerErr = streams[c.fd].call(thread, c.data, decode, final); handlerErr != nil {
			close(stop) // unblock the writers
			cancel()    // and kill the command
		}
	}
	for {
		select {
		case c := <-chunks:
			deliver(c, false)
		case out := <-done:
			// Every Write has returned by now: what is left is buffered.
			for more := true; more; {
				select {
				case c := <-chunks:
					deliver(c, false)
				default:
					more = false
				}
			}
			for fd, s := range streams {
				if s.handler != nil {
					deliver(chunk{fd: fd}, true) // flush a trailing partial character
				}
			}
			if handlerErr != nil {
				return nil, handlerErr
			}
			return out.res, out.err
		}
	}
}

// call passes one chunk to the stream's handler (as str or bytes).
func (s *outStream) call(thread *starlark.Thread, data []byte, decode, final bool) error {
	var arg starlark.Value = starlark.Bytes(data)
	if decode {
		text := s.dec.Decode(data, final)
		if text == "" {
			return nil
		}
		arg = starlark.String(text)
	} else if len(data) == 0 {
		return nil
	}
	_, err := starlark.Call(thread, s.handler, starlark.Tuple{arg}, nil)
	return err
}

func instanceRawInteractiveExecute(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	fn := qualified(m, b)
	a := newExecArgs()
	if err := starlark.UnpackArgs(fn, args, kwargs, "commands", &a.commands, "environment?", &a.environment,
		"user?", &a.user, "group?", &a.group, "cwd?", &a.cwd); err != nil {
		return nil, err
	}
	req := a.request()
	req.Interactive, req.WaitForWS = true, true
	started, err := m.c.rest.StartExec(ctxOf(thread), m.key(), req)
	if err != nil {
		return nil, err
	}
	d := starlark.NewDict(3)
	_ = d.SetKey(starlark.String("name"), starlark.String(m.key()))
	_ = d.SetKey(starlark.String("ws"), starlark.String(started.WebsocketPath("0")))
	_ = d.SetKey(starlark.String("control"), starlark.String(started.WebsocketPath("control")))
	return d, nil
}

// ExecResult is what execute returns: .exit_code, .stdout, .stderr, and it
// unpacks as `code, out, err` (like pylxd's namedtuple).
type ExecResult struct {
	exitCode       int
	stdout, stderr starlark.Value
}

var (
	_ starlark.Indexable = (*ExecResult)(nil)
	_ starlark.Sequence  = (*ExecResult)(nil)
	_ starlark.HasAttrs  = (*ExecResult)(nil)
)

func (r *ExecResult) String() string {
	return fmt.Sprintf("ExecResult(exit_code=%d, stdout=%s, stderr=%s)", r.exitCode, abbreviate(r.stdout), abbreviate(r.stderr))
}

// abbreviate keeps a repr short: long output is cut, with its length.
func abbreviate(v starlark.Value) string {
	const max = 40
	s := v.String()
	if len(s) <= max {
		return s
	}
	size := ""
	switch x := v.(type) {
	case starlark.String:
		size = fmt.Sprintf("%d chars", utf8.RuneCountInString(string(x)))
	case starlark.Bytes:
		size = fmt.Sprintf("%d bytes", len(x))
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%s)", s[:cut], size)
}

func (r *ExecResult) Type() string          { return "ExecResult" }
func (r *ExecResult) Freeze()               {}
func (r *ExecResult) Truth() starlark.Bool  { return true }
func (r *ExecResult) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: ExecResult") }
func (r *ExecResult) Len() int              { return 3 }

func (r *ExecResult) Index(i int) starlark.Value {
	switch i {
	case 0:
		return starlark.MakeInt(r.exitCode)
	case 1:
		return r.stdout
	}
	return r.stderr
}

func (r *ExecResult) Iterate() starlark.Iterator {
	return starlark.Tuple{r.Index(0), r.Index(1), r.Index(2)}.Iterate()
}

func (r *ExecResult) Attr(name string) (starlark.Value, error) {
	switch name {
	case "exit_code":
		return r.Index(0), nil
	case "stdout":
		return r.stdout, nil
	case "stderr":
		return r.stderr, nil
	}
	return nil, nil
}

func (r *ExecResult) AttrNames() []string { return []string{"exit_code", "stderr", "stdout"} }

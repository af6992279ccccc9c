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
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// execArgs are the arguments execute and raw_interactive_execute share.
type execArgs struct {
	commands, environment, user, group, cwd starlark.Value
}

func newExecArgs() execArgs {
	return execArgs{environment: starlark.None, user: starlark.None, group: starlark.None, cwd: starlark.None}
}

// request validates the shared arguments and builds LXD's request body.
func (a execArgs) request(fn string) (rest.ExecRequest, error) {
	var req rest.ExecRequest
	var err error
	if req.Command, err = commandList(fn, "commands", a.commands); err != nil {
		return req, err
	}
	if req.Environment, err = stringDict(fn, "environment", a.environment); err != nil {
		return req, err
	}
	if req.User, err = optID(fn, "user", a.user); err != nil {
		return req, err
	}
	if req.Group, err = optID(fn, "group", a.group); err != nil {
		return req, err
	}
	req.Cwd, err = optString(a.cwd, fn, "cwd")
	return req, err
}

func commandList(fn, param string, v starlark.Value) ([]string, error) {
	switch v.(type) {
	case starlark.String, starlark.Bytes:
		return nil, fmt.Errorf(`%s: for parameter %s: got %s, want a list of strings (to run a shell command line, use ["sh", "-c", %s])`,
			fn, param, v.Type(), v.String())
	}
	seq, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("%s: for parameter %s: got %s, want a list of strings", fn, param, v.Type())
	}
	if seq.Len() == 0 {
		return nil, fmt.Errorf("%s: for parameter %s: the command is empty", fn, param)
	}
	out := make([]string, seq.Len())
	for i := range out {
		s, ok := seq.Index(i).(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: for parameter %s: element %d is %s, want string", fn, param, i, seq.Index(i).Type())
		}
		out[i] = string(s)
	}
	return out, nil
}

func stringDict(fn, param string, v starlark.Value) (map[string]string, error) {
	if v == starlark.None {
		return nil, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: for parameter %s: got %s, want dict or None", fn, param, v.Type())
	}
	out := make(map[string]string, d.Len())
	for _, item := range d.Items() {
		k, ok1 := item[0].(starlark.String)
		val, ok2 := item[1].(starlark.String)
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("%s: for parameter %s: want string keys and values, got %s: %s", fn, param, item[0].Type(), item[1].Type())
		}
		out[string(k)] = string(val)
	}
	return out, nil
}

// optID converts None or a uid/gid.
func optID(fn, param string, v starlark.Value) (*uint32, error) {
	if v == starlark.None {
		return nil, nil
	}
	i, ok := v.(starlark.Int)
	if !ok {
		return nil, fmt.Errorf("%s: for parameter %s: got %s, want int or None", fn, param, v.Type())
	}
	n, ok := i.Int64()
	if !ok || n < 0 || n > math.MaxUint32 {
		return nil, fmt.Errorf("%s: for parameter %s: %s is not a valid id", fn, param, i)
	}
	id := uint32(n)
	return &id, nil
}

func optCallable(fn, param string, v starlark.Value) (starlark.Callable, error) {
	if v == starlark.None {
		return nil, nil
	}
	c, ok := v.(starlark.Callable)
	if !ok {
		return nil, fmt.Errorf("%s: for parameter %s: got %s, want a callable or None", fn, param, v.Type())
	}
	return c, nil
}

// execOptions is everything execute needs beyond the request body.
type execOptions struct {
	decode   bool
	codec    codec
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
		encoding, payload, outHandler, errHandler, timeout starlark.Value = starlark.None, starlark.None, starlark.None, starlark.None, starlark.None
		decode                                             starlark.Value = starlark.True
		stdinEncoding                                                     = "utf-8"
		wait                                                              = true
	)
	if err := starlark.UnpackArgs(fn, args, kwargs,
		"commands", &a.commands, "environment?", &a.environment, "encoding?", &encoding, "decode?", &decode,
		"stdin_payload?", &payload, "stdin_encoding?", &stdinEncoding, "stdout_handler?", &outHandler,
		"stderr_handler?", &errHandler, "user?", &a.user, "group?", &a.group, "cwd?", &a.cwd, "timeout?", &timeout,
		"wait?", &wait); err != nil {
		return nil, err
	}
	req, err := a.request(fn)
	if err != nil {
		return nil, err
	}
	opts := execOptions{}
	switch d := decode.(type) {
	case starlark.Bool:
		opts.decode = bool(d)
	case starlark.NoneType: // pylxd passes decode=None for bytes
	default:
		return nil, fmt.Errorf("%s: for parameter decode: got %s, want bool or None", fn, decode.Type())
	}
	if opts.codec, err = codecArg(fn, "encoding", encoding); err != nil {
		return nil, err
	}
	if opts.stdin, err = stdinBytes(fn, payload, stdinEncoding); err != nil {
		return nil, err
	}
	if opts.handlers[0], err = optCallable(fn, "stdout_handler", outHandler); err != nil {
		return nil, err
	}
	if opts.handlers[1], err = optCallable(fn, "stderr_handler", errHandler); err != nil {
		return nil, err
	}
	if opts.timeout, err = durationArg(fn, "timeout", timeout); err != nil {
		return nil, err
	}
	if !wait {
		return startExec(thread, m, req, opts)
	}
	return runExec(thread, m, req, opts)
}

// stdinBytes encodes stdin_payload (str with stdin_encoding, or bytes).
func stdinBytes(fn string, payload starlark.Value, encoding string) ([]byte, error) {
	switch p := payload.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bytes:
		return []byte(p), nil
	case starlark.String:
		c, err := lookupCodec(encoding)
		if err != nil {
			return nil, fmt.Errorf("%s: for parameter stdin_encoding: %w", fn, err)
		}
		data, err := c.encode(string(p))
		if err != nil {
			return nil, fmt.Errorf("%s: for parameter stdin_payload: %w", fn, err)
		}
		return data, nil
	}
	return nil, fmt.Errorf("%s: for parameter stdin_payload: got %s, want str, bytes or None", fn, payload.Type())
}

// outStream collects or forwards one output stream.
type outStream struct {
	handler starlark.Callable
	buf     bytes.Buffer // the output, when there is no handler
	dec     decoder      // carries partial characters across chunks
}

// newStreams prepares stdout and stderr, and the ExecIO that fills their
// buffers (the streams with a handler are rewired by the caller).
func newStreams(opts execOptions) ([2]*outStream, rest.ExecIO) {
	streams := [2]*outStream{{handler: opts.handlers[0]}, {handler: opts.handlers[1]}}
	for _, s := range streams {
		s.dec = decoder{codec: opts.codec}
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

func outputValue(data []byte, decode bool, dec *decoder) starlark.Value {
	if !decode {
		return starlark.Bytes(data)
	}
	return starlark.String(dec.decode(data, true))
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
		text := s.dec.decode(data, final)
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
	req, err := a.request(fn)
	if err != nil {
		return nil, err
	}
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

// A codec converts between text and the bytes a command reads and writes.
// Decoding never fails: bytes the encoding cannot represent become U+FFFD.
type codec int

const (
	codecUTF8 codec = iota
	codecLatin1
	codecASCII
)

func lookupCodec(name string) (codec, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-") {
	case "utf-8", "utf8", "u8":
		return codecUTF8, nil
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "8859", "l1", "cp819":
		return codecLatin1, nil
	case "ascii", "us-ascii", "646":
		return codecASCII, nil
	}
	return 0, fmt.Errorf("unsupported encoding %q (want utf-8, latin-1 or ascii)", name)
}

func codecArg(fn, param string, v starlark.Value) (codec, error) {
	if v == starlark.None {
		return codecUTF8, nil
	}
	s, ok := v.(starlark.String)
	if !ok {
		return 0, fmt.Errorf("%s: for parameter %s: got %s, want string or None", fn, param, v.Type())
	}
	c, err := lookupCodec(string(s))
	if err != nil {
		return 0, fmt.Errorf("%s: for parameter %s: %w", fn, param, err)
	}
	return c, nil
}

func (c codec) encode(s string) ([]byte, error) {
	if c == codecUTF8 {
		return []byte(s), nil
	}
	limit := rune(0xFF)
	if c == codecASCII {
		limit = 0x7F
	}
	out := make([]byte, 0, len(s))
	for i, r := range s {
		if r > limit {
			return nil, fmt.Errorf("character %q at offset %d cannot be encoded in %s", r, i, c)
		}
		out = append(out, byte(r))
	}
	return out, nil
}

func (c codec) String() string {
	return [...]string{"utf-8", "latin-1", "ascii"}[c]
}

// decoder decodes a stream chunk by chunk: a UTF-8 character split between
// two chunks is held back until its end arrives.
type decoder struct {
	codec   codec
	pending []byte
}

func (d *decoder) decode(p []byte, final bool) string {
	switch d.codec {
	case codecLatin1:
		return latin1(p)
	case codecASCII:
		return ascii(p)
	}
	data := p
	if len(d.pending) > 0 {
		data = append(d.pending, p...)
		d.pending = nil
	}
	if !final {
		if cut := incompleteSuffix(data); cut < len(data) {
			d.pending = bytes.Clone(data[cut:])
			data = data[:cut]
		}
	}
	if utf8.Valid(data) {
		return string(data)
	}
	return replaceInvalid(data)
}

// incompleteSuffix returns where a trailing, not yet complete UTF-8
// sequence starts, or len(data) if there is none.
func incompleteSuffix(data []byte) int {
	for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax; i-- {
		if utf8.RuneStart(data[i]) {
			if !utf8.FullRune(data[i:]) {
				return i
			}
			break
		}
	}
	return len(data)
}

// replaceInvalid decodes UTF-8, turning each invalid byte into U+FFFD.
func replaceInvalid(data []byte) string {
	var b strings.Builder
	b.Grow(len(data) + 16)
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.Write(data[:size])
		}
		data = data[size:]
	}
	return b.String()
}

func latin1(p []byte) string {
	var b strings.Builder
	b.Grow(len(p) + len(p)/4)
	for _, c := range p {
		b.WriteRune(rune(c))
	}
	return b.String()
}

func ascii(p []byte) string {
	var b strings.Builder
	b.Grow(len(p))
	for _, c := range p {
		if c < utf8.RuneSelf {
			b.WriteByte(c)
		} else {
			b.WriteRune(utf8.RuneError)
		}
	}
	return b.String()
}

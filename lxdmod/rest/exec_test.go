package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeExec plays LXD's side of one non-interactive exec: it hands out four
// websocket secrets and, as LXD does, runs the "command" (script) once
// stdin, stdout and stderr are connected, control or not. The value script
// returns is the command's exit code; the operation ends once script has
// returned (and /wait then answers). As LXD does when no control socket is
// connected, it takes the client's closing of stdout as a kill (killed).
type fakeExec struct {
	t      *testing.T
	script func(f *fakeExec, ws map[string]*websocket.Conn) int

	mu      sync.Mutex
	conns   map[string]*websocket.Conn
	exit    chan int // receives the exit code once the script returns
	pongs   atomic.Int64
	control chan []byte   // messages received on the control socket
	killed  chan struct{} // closed when the client closes stdout (no control)
	// failure, when set, makes the operation fail with this error (as
	// LXD does for "Command not found"), still reporting the exit code.
	failure string
}

func newFakeExec(t *testing.T, script func(f *fakeExec, ws map[string]*websocket.Conn) int) (*fakeExec, *Client) {
	f := &fakeExec{t: t, script: script}
	f.reset()
	c := fakeLXD(t, f.serve, Config{})
	t.Cleanup(f.closeAll)
	return f, c
}

var fakeSecrets = map[string]string{"0": "s0", "1": "s1", "2": "s2", "control": "sc"}

// reset readies f for a new command.
func (f *fakeExec) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.conns, f.exit = map[string]*websocket.Conn{}, make(chan int, 1)
	f.control, f.killed = make(chan []byte, 8), make(chan struct{})
}

func (f *fakeExec) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == "POST" && r.URL.Path == "/1.0/instances/c1/exec":
		var req ExecRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		if !req.WaitForWS || req.Interactive {
			http.Error(w, "bad request", 400)
			return
		}
		f.reset()
		w.WriteHeader(202)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "async", "status_code": 100, "operation": "/1.0/operations/op1",
			"metadata": map[string]any{"id": "op1", "status": "Running", "status_code": 103, "metadata": map[string]any{"fds": fakeSecrets}}})
	case r.URL.Path == "/1.0/operations/op1/websocket":
		f.accept(w, r)
	case r.URL.Path == "/1.0/operations/op1/wait":
		f.mu.Lock()
		exit := f.exit
		f.mu.Unlock()
		select {
		case code := <-exit:
			exit <- code // later waits see it too
			op := map[string]any{"id": "op1", "status": "Success", "status_code": 200, "metadata": map[string]any{"return": code}}
			f.mu.Lock()
			if f.failure != "" {
				op["status"], op["status_code"], op["err"] = "Failure", 400, f.failure
			}
			f.mu.Unlock()
			_ = json.NewEncoder(w).Encode(map[string]any{"type": "sync", "status_code": 200, "metadata": op})
		case <-r.Context().Done():
		}
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeExec) accept(w http.ResponseWriter, r *http.Request) {
	name := ""
	for k, s := range fakeSecrets {
		if r.URL.Query().Get("secret") == s {
			name = k
		}
	}
	if name == "" {
		w.WriteHeader(403)
		_, _ = w.Write([]byte(`{"type":"error","error":"Forbidden","error_code":403}`))
		return
	}
	up := websocket.Upgrader{}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn.SetPongHandler(func(string) error { f.pongs.Add(1); return nil })
	f.mu.Lock()
	f.conns[name] = conn
	if name == "control" {
		go f.readControl(conn)
	}
	_, in := f.conns["0"]
	_, out := f.conns["1"]
	_, errs := f.conns["2"]
	start := name != "control" && in && out && errs
	conns := maps.Clone(f.conns)
	exit, killed := f.exit, f.killed
	f.mu.Unlock()
	if start {
		go f.watchStdout(conns["1"], killed)
		go func() { exit <- f.script(f, conns) }()
	}
}

// watchStdout reads stdout, on which a client never sends: when the read
// fails (the client closed it) and no control socket is connected, LXD
// kills the command.
func (f *fakeExec) watchStdout(conn *websocket.Conn, killed chan struct{}) {
	_, _, _ = conn.ReadMessage()
	f.mu.Lock()
	_, control := f.conns["control"]
	f.mu.Unlock()
	if !control {
		close(killed)
	}
}

// readControl collects what the client sends on the control socket.
func (f *fakeExec) readControl(conn *websocket.Conn) {
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		f.control <- data
	}
}

func (f *fakeExec) closeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		_ = c.Close()
	}
}

// readStdin returns what the client sent on stdin up to its end marker.
func readStdin(conn *websocket.Conn) ([]byte, error) {
	var buf bytes.Buffer
	for {
		mt, data, err := conn.ReadMessage()
		if err != nil {
			return buf.Bytes(), err
		}
		if mt == websocket.TextMessage {
			return buf.Bytes(), nil
		}
		buf.Write(data)
	}
}

// endOutput sends LXD's end-of-stream marker on the output sockets, then
// drops the connections as LXD does once the operation is over.
func endOutput(ws map[string]*websocket.Conn) {
	for _, fd := range []string{"1", "2"} {
		_ = ws[fd].WriteMessage(websocket.TextMessage, nil)
	}
}

// settleGoroutines waits briefly for goroutines to drop back to want.
func settleGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > want {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left, want <= %d:\n%s", n, want, buf[:runtime.Stack(buf, true)])
	}
}

func TestExecStreamsStdinAndExitCode(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 100_000) // 1.6 MB, many messages
	var gotStdin []byte
	_, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int {
		var err error
		gotStdin, err = readStdin(ws["0"])
		if err != nil {
			return 99
		}
		// Echo stdin to stdout in odd-sized messages, interleaved with stderr.
		for off, i := 0, 0; off < len(gotStdin); i++ {
			n := min(1+i*7919%65536, len(gotStdin)-off)
			_ = ws["1"].WriteMessage(websocket.BinaryMessage, gotStdin[off:off+n])
			off += n
			if i%50 == 0 {
				_ = ws["2"].WriteMessage(websocket.BinaryMessage, []byte("e"))
			}
		}
		endOutput(ws)
		return 42
	})
	var out, errb bytes.Buffer
	res, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"cat"}},
		ExecIO{Stdin: bytes.NewReader(payload), Stdout: &out, Stderr: &errb})
	require.NoError(t, err)
	assert.Equal(t, 42, res.ExitCode)
	assert.True(t, bytes.Equal(payload, gotStdin), "stdin differs")
	assert.True(t, bytes.Equal(payload, out.Bytes()), "stdout differs: got %d bytes, want %d", out.Len(), len(payload))
	assert.NotZero(t, errb.Len())
	assert.Equal(t, strings.Repeat("e", errb.Len()), errb.String())
}

func TestExecFailedOperationWithExitCodeIsAResult(t *testing.T) {
	f, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int {
		endOutput(ws)
		return 127
	})
	f.mu.Lock()
	f.failure = "Command not found"
	f.mu.Unlock()
	res, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"nope"}}, ExecIO{})
	require.NoError(t, err)
	assert.Equal(t, 127, res.ExitCode)
}

func TestExecNoStdinSendsEndAtOnce(t *testing.T) {
	_, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int {
		data, err := readStdin(ws["0"])
		if err != nil || len(data) != 0 {
			return 99
		}
		endOutput(ws)
		return 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Exec(ctx, "c1", ExecRequest{Command: []string{"cat"}}, ExecIO{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
}

func TestExecAnswersPings(t *testing.T) {
	_, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int {
		// Pings on every socket; the client's readers must answer them
		// while the "command" runs. The server reads every socket to see
		// the pongs (stdout is read by watchStdout already).
		_, _ = readStdin(ws["0"]) // the end marker comes at once; pongs may follow it
		for _, fd := range []string{"0", "2"} {
			go func() {
				for {
					if _, _, err := ws[fd].NextReader(); err != nil {
						return
					}
				}
			}()
		}
		for _, conn := range ws {
			_ = conn.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second))
		}
		deadline := time.Now().Add(2 * time.Second)
		for f.pongs.Load() < 3 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		_ = ws["1"].WriteMessage(websocket.BinaryMessage, fmt.Appendf(nil, "%d", f.pongs.Load()))
		endOutput(ws)
		return 0
	})
	var out bytes.Buffer
	_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"x"}}, ExecIO{Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, "3", out.String(), "pongs seen by the server")
}

func TestExecServerClosesMidStream(t *testing.T) {
	_, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int {
		_ = ws["1"].WriteMessage(websocket.BinaryMessage, []byte("partial"))
		// Drop everything without the end marker.
		for _, conn := range ws {
			_ = conn.Close()
		}
		return 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.Exec(ctx, "c1", ExecRequest{Command: []string{"x"}}, ExecIO{})
	require.Error(t, err)
	assert.Equal(t, KindConnection, kindOf(err), "%v", err)
	assert.Contains(t, err.Error(), "end-of-stream")
}

func TestExecTimeoutKillsByClosingStdout(t *testing.T) {
	_, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int {
		// Never sends anything until killed.
		select {
		case <-f.killed:
			endOutput(ws)
			return 137
		case <-time.After(10 * time.Second):
			return 0
		}
	})
	start := time.Now()
	_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"sleep", "60"}}, ExecIO{Timeout: 200 * time.Millisecond})
	require.Error(t, err)
	assert.Equal(t, KindTimeout, kindOf(err), "%v", err)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestExecKillIgnoredGivesUpAfterGrace(t *testing.T) {
	_, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int {
		time.Sleep(10 * time.Second) // a server that never ends the command
		return 0
	})
	start := time.Now()
	_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"x"}}, ExecIO{Timeout: 100 * time.Millisecond})
	assert.Equal(t, KindTimeout, kindOf(err), "%v", err)
	assert.Less(t, time.Since(start), killGrace+time.Second)
}

func TestExecCancelReturnsPromptly(t *testing.T) {
	_, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int {
		<-f.killed
		endOutput(ws)
		return 137
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Exec(ctx, "c1", ExecRequest{Command: []string{"x"}}, ExecIO{})
	assert.Equal(t, KindCancelled, kindOf(err), "%v", err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), time.Second)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

func TestExecWriterFailureKills(t *testing.T) {
	killed := make(chan bool, 1)
	_, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int {
		_ = ws["1"].WriteMessage(websocket.BinaryMessage, []byte("x"))
		select {
		case <-f.killed:
			killed <- true
		case <-time.After(5 * time.Second):
			killed <- false
		}
		endOutput(ws)
		return 137
	})
	_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"x"}}, ExecIO{Stdout: failingWriter{}})
	assert.ErrorIs(t, err, io.ErrShortWrite)
	assert.True(t, <-killed, "the command was not killed")
}

// TestExecConnectsNoControlSocket: control would be one more dial on every
// call's critical path, and its presence would stop LXD from taking a
// closed stdout as the kill.
func TestExecConnectsNoControlSocket(t *testing.T) {
	f, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int {
		endOutput(ws)
		return 0
	})
	_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"true"}}, ExecIO{})
	require.NoError(t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	assert.NotContains(t, f.conns, "control")
	assert.Len(t, f.conns, 3)
}

func TestExecLeavesNoGoroutines(t *testing.T) {
	f, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int {
		_, _ = readStdin(ws["0"])
		endOutput(ws)
		for _, conn := range ws {
			_ = conn.Close()
		}
		return 0
	})
	run := func() {
		_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"x"}}, ExecIO{})
		require.NoError(t, err)
		f.closeAll()
	}
	run() // warm up: the HTTP pool keeps an idle connection (and its goroutines)
	base := runtime.NumGoroutine()
	for range 10 {
		run()
	}
	settleGoroutines(t, base+2)
}

func TestDialWebsocketRefusedKeepsLXDError(t *testing.T) {
	_, c := newFakeExec(t, func(f *fakeExec, ws map[string]*websocket.Conn) int { return 0 })
	_, err := c.DialWebsocket(context.Background(), OperationWebsocketPath("op1", "wrong"))
	require.Error(t, err)
	assert.Equal(t, KindAPI, kindOf(err))
	assert.Contains(t, err.Error(), "Forbidden")
	assert.NotContains(t, err.Error(), "wrong", "secrets stay out of messages")
}

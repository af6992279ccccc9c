package rest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

// newExec starts a fake LXD with a running instance c1 whose commands
// script plays (see fakelxd.ExecFunc), and a client of it.
func newExec(t *testing.T, script fakelxd.ExecFunc) (*fakelxd.Server, *Client) {
	f, c := newFake(t, Config{})
	f.AddInstance("c1", fakelxd.Object{"status": "Running"})
	f.HandleExec(script)
	return f, c
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
	stdin := make(chan []byte, 1)
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		got, err := io.ReadAll(x.Stdin)
		stdin <- got
		if err != nil {
			return 99
		}
		// Echo stdin to stdout in odd-sized messages, interleaved with stderr.
		for off, i := 0, 0; off < len(got); i++ {
			n := min(1+i*7919%65536, len(got)-off)
			_, _ = x.Stdout.Write(got[off : off+n])
			off += n
			if i%50 == 0 {
				_, _ = x.Stderr.Write([]byte("e"))
			}
		}
		return 42
	})
	var out, errb bytes.Buffer
	res, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"cat"}},
		ExecIO{Stdin: bytes.NewReader(payload), Stdout: &out, Stderr: &errb})
	require.NoError(t, err)
	assert.Equal(t, 42, res.ExitCode)
	assert.True(t, bytes.Equal(payload, <-stdin), "stdin differs")
	assert.True(t, bytes.Equal(payload, out.Bytes()), "stdout differs: got %d bytes, want %d", out.Len(), len(payload))
	assert.NotZero(t, errb.Len())
	assert.Equal(t, strings.Repeat("e", errb.Len()), errb.String())
}

func TestExecFailedOperationWithExitCodeIsAResult(t *testing.T) {
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		x.Fail("Command not found") // as LXD 5.0.2 reports a missing command
		return 127
	})
	res, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"nope"}}, ExecIO{})
	require.NoError(t, err)
	assert.Equal(t, 127, res.ExitCode)
}

func TestExecNoStdinSendsEndAtOnce(t *testing.T) {
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		data, err := io.ReadAll(x.Stdin)
		if err != nil || len(data) != 0 {
			return 99
		}
		return 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Exec(ctx, "c1", ExecRequest{Command: []string{"cat"}}, ExecIO{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
}

func TestExecAnswersPings(t *testing.T) {
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		// Pings on every socket; the client's readers must answer them
		// while the "command" runs (the fake reads every socket, so it
		// sees the pongs).
		_, _ = io.ReadAll(x.Stdin) // the end marker comes at once; pongs may follow it
		for _, conn := range x.Conns {
			_ = conn.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second))
		}
		deadline := time.Now().Add(2 * time.Second)
		for x.Pongs() < 3 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		fmt.Fprintf(x.Stdout, "%d", x.Pongs())
		return 0
	})
	var out bytes.Buffer
	_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"x"}}, ExecIO{Stdout: &out})
	require.NoError(t, err)
	assert.Equal(t, "3", out.String(), "pongs seen by the server")
}

func TestExecServerClosesMidStream(t *testing.T) {
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		_, _ = x.Stdout.Write([]byte("partial"))
		// Drop everything without the end marker.
		for _, conn := range x.Conns {
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
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		// Never sends anything until killed.
		select {
		case <-x.Killed:
			return 137
		case <-time.After(time.Minute):
			return 0
		}
	})
	start := time.Now()
	_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"sleep", "60"}}, ExecIO{Timeout: 200 * time.Millisecond})
	require.Error(t, err)
	assert.Equal(t, KindTimeout, kindOf(err), "%v", err)
	assert.Less(t, time.Since(start), 20*time.Second)
}

func TestExecKillIgnoredGivesUpAfterGrace(t *testing.T) {
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		// A server that never ends the command (until the test is over).
		select {
		case <-time.After(time.Minute):
		case <-x.Context().Done():
		}
		return 0
	})
	start := time.Now()
	_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"x"}}, ExecIO{Timeout: 100 * time.Millisecond})
	assert.Equal(t, KindTimeout, kindOf(err), "%v", err)
	assert.Less(t, time.Since(start), killGrace+15*time.Second)
}

func TestExecCancelReturnsPromptly(t *testing.T) {
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		<-x.Killed
		return 137
	})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Exec(ctx, "c1", ExecRequest{Command: []string{"x"}}, ExecIO{})
	assert.Equal(t, KindCancelled, kindOf(err), "%v", err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 10*time.Second)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrShortWrite }

func TestExecWriterFailureKills(t *testing.T) {
	killed := make(chan bool, 1)
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		_, _ = x.Stdout.Write([]byte("x"))
		select {
		case <-x.Killed:
			killed <- true
		case <-time.After(5 * time.Second):
			killed <- false
		}
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
	connected := make(chan map[string]*websocket.Conn, 1)
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		connected <- x.Conns
		return 0
	})
	_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"true"}}, ExecIO{})
	require.NoError(t, err)
	conns := <-connected
	assert.NotContains(t, conns, "control")
	assert.Len(t, conns, 3)
}

func TestExecLeavesNoGoroutines(t *testing.T) {
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		_, _ = io.ReadAll(x.Stdin)
		return 0
	})
	run := func() {
		_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"x"}}, ExecIO{})
		require.NoError(t, err)
	}
	run() // warm up: the HTTP pool keeps an idle connection (and its goroutines)
	base := runtime.NumGoroutine()
	for range 10 {
		run()
	}
	settleGoroutines(t, base+2)
}

func TestDialWebsocketRefusedKeepsLXDError(t *testing.T) {
	_, c := newExec(t, func(x *fakelxd.Exec) int { <-x.Context().Done(); return 0 })
	started, err := c.StartExec(context.Background(), "c1", ExecRequest{Command: []string{"x"}, WaitForWS: true})
	require.NoError(t, err)
	_, err = c.DialWebsocket(context.Background(), OperationWebsocketPath(started.Operation.ID, "wrong"))
	require.Error(t, err)
	assert.Equal(t, KindAPI, kindOf(err))
	assert.Contains(t, err.Error(), "permission denied") // LXD 5.0.2's answer to a wrong secret
	assert.NotContains(t, err.Error(), "wrong", "secrets stay out of messages")
}

// Websockets: dialled over TLS, verified, traced without secrets, cancelled.

func TestDialWebsocketOverTLS(t *testing.T) {
	f := fakelxd.NewTLS(t, fakelxd.Config{})
	c, err := New(Config{Endpoint: f.Endpoint(), Insecure: true})
	require.NoError(t, err)
	conn, err := c.DialWebsocket(context.Background(), "/1.0/events?type=lifecycle")
	require.NoError(t, err)
	defer conn.Close()
	l := f.WaitListeners(1)[0]
	assert.Equal(t, "lifecycle", l.Query.Get("type"), "the query reaches the server")
	require.NoError(t, l.Send([]byte("hi")))
	_, data, err := conn.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "hi", string(data))
}

func TestDialWebsocketVerifiesServer(t *testing.T) {
	f := fakelxd.NewTLS(t, fakelxd.Config{})
	c, err := New(Config{Endpoint: f.Endpoint()}) // verification on: self-signed is refused
	require.NoError(t, err)
	_, err = c.DialWebsocket(context.Background(), "/1.0/events")
	require.Error(t, err)
	assert.Equal(t, KindConnection, kindOf(err))
}

func TestDialWebsocketTraceHidesSecret(t *testing.T) {
	var trace bytes.Buffer
	f, c := newFake(t, Config{Trace: &trace})
	f.AddInstance("c1", fakelxd.Object{"status": "Running"})
	started, err := c.StartExec(context.Background(), "c1", ExecRequest{Command: []string{"true"}, WaitForWS: true})
	require.NoError(t, err)
	trace.Reset()
	secret := started.Secrets["0"]
	conn, err := c.DialWebsocket(context.Background(), started.WebsocketPath("0"))
	require.NoError(t, err)
	conn.Close()
	want := "lxdstar: WEBSOCKET /1.0/operations/" + started.Operation.ID + "/websocket?secret=REDACTED 101"
	assert.True(t, strings.HasPrefix(trace.String(), want), trace.String())
	assert.NotContains(t, trace.String(), secret)
}

func TestDialWebsocketCancelled(t *testing.T) {
	_, c := newFake(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.DialWebsocket(ctx, "/1.0/events")
	assert.Equal(t, KindCancelled, kindOf(err), "%v", err)
}

// Fault injection with the fake LXD (internal/fakelxd): connections that drop or
// stall in the middle of an exec, an operation wait or a streamed transfer.
// Each case must end with a clear error of the right kind, promptly, without
// a panic and without leaving goroutines behind.

// dropAll closes the network connections under the websockets without a
// close frame, as a crashed server or a cut cable would.
func dropAll(ws map[string]*websocket.Conn) {
	// x.Conns: the fake's own reader of each socket then sees the drop.
	for _, conn := range ws {
		_ = conn.UnderlyingConn().Close()
	}
}

// TestFaultExecWebsocketsDropWhileOperationRuns: the websockets vanish but
// the operation goes on (its /wait never answers). Exec must not wait for
// the command's end: it gives up after killGrace with ClientConnectionFailed.
func TestFaultExecWebsocketsDropWhileOperationRuns(t *testing.T) {
	release := make(chan struct{})
	_, c := newExec(t, func(x *fakelxd.Exec) int {
		_, _ = x.Stdout.Write([]byte("partial output"))
		dropAll(x.Conns)
		<-release // the "command" runs on, unobserved
		return 0
	})
	base := runtime.NumGoroutine()
	var out strings.Builder
	start := time.Now()
	_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"sleep", "3600"}}, ExecIO{Stdout: &out})
	took := time.Since(start)
	close(release)
	require.Error(t, err)
	assert.Equal(t, KindConnection, kindOf(err), "%v", err)
	assert.True(t, strings.HasPrefix(err.Error(), "ClientConnectionFailed: exec of "), "%q", err)
	assert.Contains(t, err.Error(), "end-of-stream")
	assert.Less(t, took, killGrace+10*time.Second)
	settleGoroutines(t, base)
}

// TestFaultExecServerDiesMidExec: websockets and the operation wait fail
// together (the daemon is gone): the error comes at once, not after a grace.
func TestFaultExecServerDiesMidExec(t *testing.T) {
	dead := make(chan struct{})
	f, c := newExec(t, func(x *fakelxd.Exec) int {
		_, _ = x.Stdout.Write([]byte("partial"))
		close(dead)
		dropAll(x.Conns)
		return 0
	})
	f.Intercept("GET /1.0/operations/*/wait", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-dead
		// A dead daemon's connections just close: no answer.
		fakelxd.Cut("").ServeHTTP(w, r)
	}))
	start := time.Now()
	_, err := c.Exec(context.Background(), "c1", ExecRequest{Command: []string{"sleep", "60"}}, ExecIO{})
	require.Error(t, err)
	assert.Equal(t, KindConnection, kindOf(err), "%v", err)
	assert.Less(t, time.Since(start), killGrace, "a dead server is noticed without waiting out the grace")
}

// stallingWait is a client of a fake whose answers to waits for operation
// "op" stall (see fakelxd.Stall) after prefix.
func stallingWait(t *testing.T, prefix string) *Client {
	f, c := newFake(t, Config{})
	f.Intercept("GET /1.0/operations/op/wait", fakelxd.Stall(prefix))
	return c
}

func TestFaultOperationWaitServerStalls(t *testing.T) {
	for _, tc := range []struct{ name, prefix string }{
		{"before the headers", ""},
		{"mid-body", `{"type":"sync","metadata":{"id":"op","status":"Runn`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := stallingWait(t, tc.prefix)
			c.polls = polls{wait: 400 * time.Millisecond, grace: 300 * time.Millisecond} // given up on in a second, not 40 s
			base := runtime.NumGoroutine()
			start := time.Now()
			_, err := c.WaitOperation(context.Background(), &Operation{ID: "op", StatusCode: 103}, 0)
			assert.Equal(t, KindConnection, kindOf(err), "%v", err)
			assert.Contains(t, err.Error(), "did not answer a wait for operation op")
			assert.Less(t, time.Since(start), 15*time.Second) // not the 40 s of a default poll

			// The background watcher reports the same.
			p := c.Watch(context.Background(), &Operation{ID: "op", StatusCode: 103})
			_, err = p.Wait(context.Background(), 0)
			assert.Equal(t, KindConnection, kindOf(err), "%v", err)
			c.http.CloseIdleConnections()
			settleGoroutines(t, base)
		})
	}
}

// A stalled wait still honours the caller's timeout and cancellation at
// once, whatever the poll length.
func TestFaultOperationWaitStallTimeoutAndCancel(t *testing.T) {
	c := stallingWait(t, "")
	start := time.Now()
	_, err := c.WaitOperation(context.Background(), &Operation{ID: "op", StatusCode: 103, Description: "Creating instance"}, 200*time.Millisecond)
	assert.Equal(t, KindTimeout, kindOf(err), "%v", err)
	assert.Contains(t, err.Error(), "still running after 200ms")
	assert.Less(t, time.Since(start), 10*time.Second)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	_, err = c.WaitOperation(ctx, &Operation{ID: "op", StatusCode: 103}, 0)
	assert.Equal(t, KindCancelled, kindOf(err), "%v", err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 10*time.Second)
}

// Garbage where the wait's answer should be is a connection failure, not a
// panic nor a success.
func TestFaultOperationWaitGarbage(t *testing.T) {
	for _, body := range []string{`{"type":"sync","metadata":`, `{"type":"sync","metadata":[1,2]}`, `<html>oops</html>`, ``} {
		c := replying(t, body, 200, Config{})
		_, err := c.WaitOperation(context.Background(), &Operation{ID: "op", StatusCode: 103}, 0)
		assert.Equal(t, KindConnection, kindOf(err), "body %q: %v", body, err)
	}
}

// An image export whose connection drops half way, or stalls until the
// caller cancels, ends with ClientConnectionFailed or Cancelled.
func TestFaultExportDropsOrStalls(t *testing.T) {
	f, c := newFake(t, Config{})
	part := string(make([]byte, 100_000))
	// The first export drops after a tenth of its body, the next stalls there.
	f.Intercept("GET /1.0/images/abc/export", fakelxd.Stall(part))
	f.InterceptN("GET /1.0/images/abc/export", 1,
		fakelxd.Cut("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"+part))
	discard := func(_ string, r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	}
	err := c.ExportImage(context.Background(), "abc", discard)
	assert.Equal(t, KindConnection, kindOf(err), "%v", err)
	assert.True(t, strings.HasPrefix(err.Error(), "ClientConnectionFailed: exporting image abc"), "%q", err)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err = c.ExportImage(ctx, "abc", discard)
	assert.Equal(t, KindCancelled, kindOf(err), "%v", err)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, time.Since(start), 10*time.Second)
}

// A wait given up (cancelled) just as the watcher learns the outcome: under
// -race this caught Wait reading the watcher's state without its lock.
func TestFaultPendingWaitCancelledAsTheOperationEnds(t *testing.T) {
	c := replying(t, `{"type":"sync","metadata":{"id":"op","status":"Success","status_code":200}}`, 200, Config{})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for range 50 {
		p := c.Watch(context.Background(), &Operation{ID: "op", StatusCode: 103})
		op, err := p.Wait(cancelled, 0)
		if err != nil {
			assert.Equal(t, KindCancelled, kindOf(err), "%v", err)
		}
		assert.Equal(t, "op", op.ID)
		<-p.Done()
	}
}

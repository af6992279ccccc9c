package rest

import (
	"bytes"
	"context"
	"fmt"
	"io"
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

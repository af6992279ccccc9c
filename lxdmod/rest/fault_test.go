package rest

// Fault injection with the fake LXD (internal/fakelxd): connections that drop or
// stall in the middle of an exec, an operation wait or a streamed transfer.
// Each case must end with a clear error of the right kind, promptly, without
// a panic and without leaving goroutines behind.

import (
	"context"
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

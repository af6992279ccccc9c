package lazyconn

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echoServer accepts on a unix socket and echoes each connection; accepted
// counts the connections it saw.
func echoServer(t *testing.T) (path string, accepted *atomic.Int32) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", path)
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return path, accepted
}

func TestUnusedConnectionNeverConnects(t *testing.T) {
	path, accepted := echoServer(t)
	c, err := Unix(path)(context.Background(), "tcp", "ignored:80")
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(time.Minute)))
	require.NoError(t, c.Close())
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, net.ErrClosed)
	time.Sleep(50 * time.Millisecond)
	assert.Zero(t, accepted.Load(), "the server saw a connection")
}

func TestFirstWriteConnectsOnce(t *testing.T) {
	path, accepted := echoServer(t)
	c, _ := Unix(path)(context.Background(), "tcp", "x")
	defer c.Close()
	got := make(chan string, 1)
	go func() { // the Transport reads before it writes
		b := make([]byte, 5)
		_, err := io.ReadFull(c, b)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b)
	}()
	_, err := c.Write([]byte("hel"))
	require.NoError(t, err)
	_, err = c.Write([]byte("lo"))
	require.NoError(t, err)
	assert.Equal(t, "hello", <-got)
	assert.Equal(t, int32(1), accepted.Load())
	assert.Equal(t, path, c.RemoteAddr().String())
}

func TestDeadlineSetBeforeConnectingApplies(t *testing.T) {
	path, _ := echoServer(t)
	c, _ := Unix(path)(context.Background(), "tcp", "x")
	defer c.Close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(-time.Second)))
	_, err := c.Write([]byte("x"))
	require.NoError(t, err)
	_, err = c.Read(make([]byte, 1))
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

func TestDialErrorReachesWriteAndRead(t *testing.T) {
	c, _ := Unix(filepath.Join(t.TempDir(), "absent"))(context.Background(), "tcp", "x")
	_, werr := c.Write([]byte("x"))
	var op *net.OpError
	require.True(t, errors.As(werr, &op), "%v", werr)
	assert.Equal(t, "dial", op.Op)
	_, rerr := c.Read(make([]byte, 1))
	assert.Equal(t, werr, rerr)
}

// Close during the dial abandons it, and a connection the dial still
// returns is closed, not leaked.
func TestCloseWhileDialling(t *testing.T) {
	path, _ := echoServer(t)
	release := make(chan struct{})
	var dialled net.Conn
	c := New(func(ctx context.Context) (net.Conn, error) {
		<-release
		conn, err := (&net.Dialer{}).DialContext(context.Background(), "unix", path)
		dialled = conn
		return conn, err
	}, &net.UnixAddr{Name: path, Net: "unix"})
	wrote := make(chan error, 1)
	go func() { _, err := c.Write([]byte("x")); wrote <- err }()
	time.Sleep(20 * time.Millisecond)
	require.NoError(t, c.Close())
	close(release)
	assert.ErrorIs(t, <-wrote, net.ErrClosed)
	_, err := dialled.Write([]byte("y"))
	assert.Error(t, err, "the late connection was closed")
}

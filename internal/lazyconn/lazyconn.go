// Package lazyconn provides connections that connect on their first write.
//
// LXD 5.0 and Incus 6.0 accept on their unix socket one connection at a time
// and read its first bytes before accepting the next (to tell STARTTLS from
// HTTP). net/http's Transport, when a request waiting for a new connection
// is served by one freed meanwhile, keeps the new one idle for later: on
// that socket such an idle connection holds up every other client of the
// daemon, its own container start hooks among them, for as long as it stays
// idle. A Transport whose DialContext returns lazy connections never leaves
// one on the daemon's socket: a connection it never writes to never connects
// (lxdmod/rest's TestConcurrentRequestsLeaveNoSilentConnection).
package lazyconn

import (
	"context"
	"net"
	"sync"
	"time"
)

// lazyConn connects on its first write, so that the request is on its way
// the moment the server accepts.
type lazyConn struct {
	dial   func(context.Context) (net.Conn, error)
	remote net.Addr

	ctx    context.Context // ends when the conn is closed, abandoning a dial
	cancel context.CancelFunc
	once   sync.Once
	ready  chan struct{} // closed once the dial has returned
	conn   net.Conn      // set before ready is closed
	err    error

	mu        sync.Mutex
	deadlines [2]time.Time // read, write: kept for the conn still to come
}

// New returns a connection that calls dial on its first write (or never).
// remote is what RemoteAddr reports. Close before then abandons the dial.
func New(dial func(context.Context) (net.Conn, error), remote net.Addr) net.Conn {
	ctx, cancel := context.WithCancel(context.Background())
	return &lazyConn{dial: dial, remote: remote, ctx: ctx, cancel: cancel, ready: make(chan struct{})}
}

// Unix is a DialContext for an http.Transport talking to the unix socket at
// path, whatever address the Transport asks for.
func Unix(path string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	remote := &net.UnixAddr{Name: path, Net: "unix"}
	dial := func(ctx context.Context) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}
	return func(context.Context, string, string) (net.Conn, error) { return New(dial, remote), nil }
}

// connect dials once; every caller gets the same conn or error.
func (c *lazyConn) connect() (net.Conn, error) {
	c.once.Do(func() {
		conn, err := c.dial(c.ctx)
		if err == nil {
			c.mu.Lock()
			err = applyDeadlines(conn, c.deadlines)
			c.mu.Unlock()
			if err == nil && c.ctx.Err() != nil { // closed while dialling
				err = net.ErrClosed
			}
			if err != nil {
				conn.Close()
				conn = nil
			}
		}
		c.conn, c.err = conn, err
		close(c.ready)
	})
	return c.conn, c.err
}

func (c *lazyConn) Write(p []byte) (int, error) {
	conn, err := c.connect()
	if err != nil {
		return 0, err
	}
	return conn.Write(p)
}

// Read waits for the first write to connect (the Transport starts reading
// at once), or for Close.
func (c *lazyConn) Read(p []byte) (int, error) {
	select {
	case <-c.ready:
	case <-c.ctx.Done():
		return 0, net.ErrClosed
	}
	if c.err != nil {
		return 0, c.err
	}
	return c.conn.Read(p)
}

func (c *lazyConn) Close() error {
	c.cancel()
	select {
	case <-c.ready:
		if c.conn != nil {
			return c.conn.Close()
		}
	default:
		// Not dialled, or being dialled: connect sees the cancel and
		// closes what it gets.
	}
	return nil
}

func (c *lazyConn) LocalAddr() net.Addr  { return &net.UnixAddr{Net: c.remote.Network()} }
func (c *lazyConn) RemoteAddr() net.Addr { return c.remote }

func (c *lazyConn) SetDeadline(t time.Time) error {
	return c.setDeadlines(func(d *[2]time.Time) { d[0], d[1] = t, t })
}
func (c *lazyConn) SetReadDeadline(t time.Time) error {
	return c.setDeadlines(func(d *[2]time.Time) { d[0] = t })
}
func (c *lazyConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadlines(func(d *[2]time.Time) { d[1] = t })
}

// setDeadlines records the change, and applies it to the conn if there is
// one already (connect applies what was recorded before it).
func (c *lazyConn) setDeadlines(change func(*[2]time.Time)) error {
	c.mu.Lock()
	change(&c.deadlines)
	d := c.deadlines
	c.mu.Unlock()
	select {
	case <-c.ready:
		if c.conn != nil {
			return applyDeadlines(c.conn, d)
		}
	default:
	}
	return nil
}

func applyDeadlines(conn net.Conn, d [2]time.Time) error {
	if err := conn.SetReadDeadline(d[0]); err != nil {
		return err
	}
	return conn.SetWriteDeadline(d[1])
}

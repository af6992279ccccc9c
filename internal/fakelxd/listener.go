package fakelxd

import (
	"bufio"
	"net"
)

// peekingListener accepts as LXD 5.0's and Incus 6.0's local (unix socket)
// endpoint does: Accept reads the first 8 bytes of the new connection itself,
// to tell a STARTTLS upgrade from plain HTTP, before it returns. So a client
// that connects and sends nothing holds up every later connection, of any
// client, until it writes or closes. The fake reproduces that so that unit
// tests catch clients that leave such connections behind.
type peekingListener struct {
	net.Listener
}

func (l peekingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	_, _ = br.Peek(8) // a short or failed peek: the server's reads will say
	return &peekedConn{Conn: c, r: br}, nil
}

// peekedConn is a connection whose first bytes were already read into r.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

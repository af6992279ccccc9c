package rest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// wsBufferSize is the read and write buffer of each websocket: large enough
// that bulk output (tens of MB from exec) moves in few system calls.
const wsBufferSize = 64 << 10

// DialWebsocket opens a websocket to path, an absolute API path that may
// carry a query ("/1.0/events?type=lifecycle"). It goes over the client's
// own transport: the unix socket, or TCP with the client's TLS settings
// (client certificate, pinned or skipped server verification). The project
// is not added: callers put it in the query when the endpoint wants it.
//
// A refused handshake comes back as the LXD error the server sent (e.g.
// Forbidden, NotFound); transport failures as ClientConnectionFailed,
// Timeout or Cancelled.
func (c *Client) DialWebsocket(ctx context.Context, path string) (*websocket.Conn, error) {
	return c.dialWebsocket(ctx, path, wsBufferSize)
}

// dialWebsocket is DialWebsocket with a read buffer of readBuf bytes.
func (c *Client) dialWebsocket(ctx context.Context, path string, readBuf int) (*websocket.Conn, error) {
	target, err := c.websocketURL(path)
	if err != nil {
		return nil, err
	}
	d := &websocket.Dialer{
		NetDialContext:   func(ctx context.Context, _, _ string) (net.Conn, error) { return c.dial(ctx) },
		TLSClientConfig:  websocketTLS(c),
		HandshakeTimeout: c.timeout,
		ReadBufferSize:   readBuf,
		WriteBufferSize:  wsBufferSize,
		WriteBufferPool:  c.wsWrite,
		// No Proxy: LXD is reached directly, as every other request is.
	}
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	start := time.Now()
	conn, resp, err := d.DialContext(ctx, target, http.Header{"User-Agent": {"lxdstar"}})
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	c.traceWebsocket(path, status, start)
	if err == nil {
		conn.SetPingHandler(pongHandler(conn))
		return conn, nil
	}
	if resp != nil && errors.Is(err, websocket.ErrBadHandshake) {
		return nil, handshakeError(path, resp)
	}
	return nil, c.transportError(ctx, fmt.Errorf("websocket %s: %w", redactPath(path), err))
}

// websocketURL turns an API path into a ws:// or wss:// URL.
func (c *Client) websocketURL(path string) (string, error) {
	u := c.URL(path)
	switch {
	case strings.HasPrefix(u, "https://"):
		return "wss://" + strings.TrimPrefix(u, "https://"), nil
	case strings.HasPrefix(u, "http://"):
		return "ws://" + strings.TrimPrefix(u, "http://"), nil
	}
	return "", &Error{Kind: KindConnection, Message: "cannot make a websocket URL from " + redactPath(path)}
}

// websocketTLS returns a copy of the client's TLS settings fit for a
// websocket: HTTP/1.1 only, since the upgrade needs it.
func websocketTLS(c *Client) *tls.Config {
	if c.tls == nil {
		return nil
	}
	tc := c.tls.Clone()
	tc.NextProtos = nil
	return tc
}

// handshakeError reads LXD's error envelope from a refused upgrade.
func handshakeError(path string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_, err := ParseResponse(resp.StatusCode, resp.Header, body)
	if err == nil {
		err = &Error{Kind: KindForStatus(resp.StatusCode), StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("websocket %s refused (HTTP %d)", redactPath(path), resp.StatusCode)}
	}
	return err
}

func (c *Client) traceWebsocket(path string, status int, start time.Time) {
	if c.trace == nil {
		return
	}
	st := "ERR"
	if status != 0 {
		st = fmt.Sprint(status)
	}
	fmt.Fprintf(c.trace, "lxdstar: WEBSOCKET %s %s %s\n", redactPath(path), st, time.Since(start).Round(10*time.Microsecond))
}

// redactPath hides secrets in a path's query, for messages and traces.
func redactPath(path string) string {
	i := strings.IndexByte(path, '?')
	if i < 0 {
		return path
	}
	q, err := url.ParseQuery(path[i+1:])
	if err != nil {
		return path[:i] + "?REDACTED"
	}
	return path[:i] + "?" + redactQuery(q)
}

// OperationWebsocketPath is the path of one websocket of an operation, as
// exec hands them out ("/1.0/operations/<id>/websocket?secret=<secret>").
func OperationWebsocketPath(opID, secret string) string {
	return Path("operations", opID, "websocket") + "?secret=" + url.QueryEscape(secret)
}

// pongHandler answers a ping without letting a failed answer end the
// stream. LXD pings each exec websocket as it connects; under load the pong
// write sometimes fails (EPIPE) although the connection goes on to deliver
// all of the command's output. gorilla's default handler would turn that
// failure into a read error and lose the output, so it is ignored here: a
// connection that is really gone fails the next read anyway.
func pongHandler(conn *websocket.Conn) func(string) error {
	return func(data string) error {
		_ = conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
		return nil
	}
}

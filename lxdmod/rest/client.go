// Package rest is a small client for LXD's REST API: connection set-up (unix
// socket or HTTPS), the response envelope, error kinds, ETags and operation
// waits. It knows nothing of Starlark.
package rest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lxdstar/lxdstar/internal/lazyconn"
)

// Config says how to reach one LXD server.
type Config struct {
	// Endpoint is a unix socket path, "unix:///path", or "https://host:port".
	// Empty means: discover the local socket (see DiscoverSocket).
	Endpoint string
	// CertFile and KeyFile are the client certificate for HTTPS.
	CertFile, KeyFile string
	// Insecure skips verification of the server certificate.
	Insecure bool
	// ServerCertFile pins the server certificate (PEM): only that exact
	// certificate is accepted.
	ServerCertFile string
	// Timeout bounds each HTTP request (not operation waits). Zero: none.
	Timeout time.Duration
	// Project is sent as ?project= on every request when non-empty.
	Project string
	// Trace, when set, receives one line per HTTP request.
	Trace io.Writer
	// Getenv looks up environment variables for socket discovery; nil means
	// os.Getenv. Tests and embedders use it to isolate a client from the
	// process environment.
	Getenv func(string) string
	// DryRun refuses every request that could change the server (anything
	// but GET and HEAD) with a DryRun error naming it; reads go through.
	DryRun bool
}

// Client talks to one LXD server. It is safe for concurrent use; all its
// requests share one keep-alive connection pool.
type Client struct {
	http     *http.Client
	base     string // URL prefix requests are built on
	endpoint string // what was dialled, for error messages
	unix     bool
	project  string
	dryRun   bool
	timeout  time.Duration
	trace    io.Writer
	tls      *tls.Config // nil for unix sockets; websocket dialers reuse it
	dial     func(ctx context.Context) (net.Conn, error)

	transfers   TransferFunc // nil: no byte counting (see WithTransfers)
	transferIDs *atomic.Uint64

	polls polls     // of WaitOperation; zero: the defaults
	ident *identity // which server this is, once known (server.go)

	// wsWrite lends websockets their write buffers only while a message is
	// being written: a command's four sockets mostly sit idle, and buffers
	// owned for a connection's lifetime would be allocated on every exec.
	wsWrite *sync.Pool
}

// New prepares a client. It does no I/O: call Server to check the connection.
func New(cfg Config) (*Client, error) {
	ep := strings.TrimSpace(cfg.Endpoint)
	c := &Client{project: cfg.Project, dryRun: cfg.DryRun, timeout: cfg.Timeout, trace: cfg.Trace, wsWrite: &sync.Pool{}, ident: &identity{}}
	switch {
	case ep == "" || strings.HasPrefix(ep, "unix://") || strings.HasPrefix(ep, "/") || isSocket(ep):
		path := strings.TrimPrefix(ep, "unix://")
		if path == "" {
			var err error
			if path, err = DiscoverSocket(cfg.Getenv); err != nil {
				return nil, err
			}
		}
		c.unix, c.endpoint, c.base = true, path, "http://unix.socket"
		c.dial = func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
	case strings.HasPrefix(ep, "https://"):
		u, err := url.Parse(strings.TrimRight(ep, "/"))
		if err != nil || u.Host == "" {
			return nil, &Error{Kind: KindConnection, Message: fmt.Sprintf("invalid endpoint %q", ep), Err: err}
		}
		host := u.Host
		if u.Port() == "" {
			host = net.JoinHostPort(u.Hostname(), "8443")
		}
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		c.tls, c.endpoint, c.base = tc, "https://"+host, "https://"+host
		c.dial = func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", host)
		}
	default:
		return nil, &Error{Kind: KindConnection, Message: fmt.Sprintf(
			"invalid endpoint %q: want a unix socket path, unix:///path or https://host:port", ep)}
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) { return c.dial(ctx) }
	if c.unix {
		// A connection the Transport keeps without using must not reach
		// the daemon: see internal/lazyconn.
		remote := &net.UnixAddr{Name: c.endpoint, Net: "unix"}
		dial = func(_ context.Context, _, _ string) (net.Conn, error) { return lazyconn.New(c.dial, remote), nil }
	}
	tr := &http.Transport{
		DialContext:         dial,
		TLSClientConfig:     c.tls,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

func isSocket(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// DiscoverSocket finds the local LXD or Incus socket: the first that exists
// of $LXD_SOCKET, $LXD_DIR/unix.socket, $INCUS_SOCKET,
// $INCUS_DIR/unix.socket, the LXD snap's, LXD's default, and Incus's two
// defaults. getenv nil means os.Getenv. The error names every path tried.
func DiscoverSocket(getenv func(string) string) (string, error) {
	return discoverSocket(lookupEnv(getenv), defaultSockets())
}

// defaultSockets are where the LXD snap, LXD and Incus put their sockets.
func defaultSockets() []string {
	return []string{"/var/snap/lxd/common/lxd/unix.socket", "/var/lib/lxd/unix.socket",
		"/run/incus/unix.socket", "/var/lib/incus/unix.socket"}
}

// discoverSocket tries the sockets the environment names, then the
// default paths.
func discoverSocket(getenv func(string) string, defaults []string) (string, error) {
	var candidates []string
	for _, v := range [][2]string{{"LXD_SOCKET", "LXD_DIR"}, {"INCUS_SOCKET", "INCUS_DIR"}} {
		if s := getenv(v[0]); s != "" {
			candidates = append(candidates, s)
		}
		if d := getenv(v[1]); d != "" {
			candidates = append(candidates, filepath.Join(d, "unix.socket"))
		}
	}
	candidates = append(candidates, defaults...)
	for _, p := range candidates {
		if isSocket(p) {
			return p, nil
		}
	}
	return "", &Error{Kind: KindConnection, Message: "no LXD or Incus unix socket found (tried " + strings.Join(candidates, ", ") + ")"}
}

// notAPath reports whether a certificate or key "path" is in fact PEM data
// (a caller passing the key itself): such a value must never be echoed in
// an error, nor in the OS error that opening it would produce.
func notAPath(p string) bool {
	return strings.Contains(p, "-----BEGIN") || strings.ContainsAny(p, "\n\r\x00")
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	for _, p := range []string{cfg.CertFile, cfg.KeyFile, cfg.ServerCertFile} {
		if notAPath(p) {
			return nil, &Error{Kind: KindConnection, Message: "certificate and key arguments are file paths, not PEM data (the value given is not shown)"}
		}
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			// Name the files, never their content.
			return nil, &Error{Kind: KindConnection, Message: fmt.Sprintf("cannot load client certificate %s / key %s", cfg.CertFile, cfg.KeyFile), Err: err}
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	switch {
	case cfg.ServerCertFile != "":
		data, err := os.ReadFile(cfg.ServerCertFile)
		if err != nil {
			return nil, &Error{Kind: KindConnection, Message: "cannot read server certificate " + cfg.ServerCertFile, Err: err}
		}
		// The first CERTIFICATE block: a key file given by mistake must
		// not become the "certificate" every server is compared with.
		var block *pem.Block
		for more := data; ; {
			if block, more = pem.Decode(more); block == nil || block.Type == "CERTIFICATE" {
				break
			}
		}
		if block == nil {
			return nil, &Error{Kind: KindConnection, Message: "no PEM certificate in " + cfg.ServerCertFile}
		}
		pinned := block.Bytes
		// A pinned certificate replaces chain and name checks: LXD's
		// certificates are self-signed, often for no matching host name.
		tc.InsecureSkipVerify = true
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, pinned) {
				return fmt.Errorf("server certificate does not match the pinned certificate %s", cfg.ServerCertFile)
			}
			return nil
		}
	case cfg.Insecure:
		tc.InsecureSkipVerify = true
	}
	return tc, nil
}

// CloseIdleConnections closes the keep-alive connections not in use (and
// the goroutines that watch them). The client stays usable: later requests
// dial afresh.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// Endpoint names the socket or URL the client talks to.
func (c *Client) Endpoint() string { return c.endpoint }

// IsUnix reports whether the client uses a unix socket.
func (c *Client) IsUnix() bool { return c.unix }

// Project returns the project requests run in ("" = the server default).
func (c *Client) Project() string { return c.project }

// WithProject returns a client for another project sharing the connections.
func (c *Client) WithProject(project string) *Client {
	cp := *c
	cp.project = project
	return &cp
}

// TLSConfig returns the TLS settings (nil for unix sockets), for websockets.
func (c *Client) TLSConfig() *tls.Config { return c.tls }

// Dial opens a raw connection to the server, for websockets.
func (c *Client) Dial(ctx context.Context) (net.Conn, error) { return c.dial(ctx) }

// URL returns the absolute URL of path (which may hold a query).
func (c *Client) URL(path string) string { return c.base + path }

// Path joins segments under /1.0, escaping each one: names like
// "ubuntu/22.04" stay one segment.
func Path(segments ...string) string {
	var b strings.Builder
	b.WriteString("/1.0")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// Request describes one HTTP request.
type Request struct {
	Method string
	Path   string     // e.g. Path("instances", name); may already hold a query
	Query  url.Values // merged with project
	Body   any        // JSON-encoded unless it is an io.Reader or []byte
	Header http.Header
	// NoProject leaves out ?project= (server-wide endpoints).
	NoProject bool
	// NoTimeout exempts the request from Config.Timeout (long polls, streams).
	NoTimeout bool
	// Label names a streamed transfer ("/root/big.bin", "image abc…") for
	// the client's TransferFunc; unlabelled requests are not metered.
	Label string
}

// Response is LXD's standard envelope, plus what the HTTP layer said.
type Response struct {
	Type       string          `json:"type"` // sync, async or error
	Status     string          `json:"status"`
	StatusCode int             `json:"status_code"`
	Operation  string          `json:"operation"`
	ErrorCode  int             `json:"error_code"`
	Error      string          `json:"error"`
	Metadata   json.RawMessage `json:"metadata"`

	HTTPStatus int
	Header     http.Header
	ETag       string
}

// Decode unmarshals the metadata into v.
func (r *Response) Decode(v any) error {
	if len(r.Metadata) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Metadata, v); err != nil {
		return &Error{Kind: KindConnection, Message: "invalid metadata in response", Err: err}
	}
	return nil
}

func (c *Client) url(req *Request) string {
	q := url.Values{}
	path := req.Path
	if i := strings.IndexByte(path, '?'); i >= 0 {
		q, _ = url.ParseQuery(path[i+1:])
		path = path[:i]
	}
	for k, vs := range req.Query {
		q[k] = vs
	}
	if c.project != "" && !req.NoProject && q.Get("project") == "" {
		q.Set("project", c.project)
	}
	if len(q) == 0 {
		return c.base + path
	}
	return c.base + path + "?" + q.Encode()
}

// Raw sends a request and returns the HTTP response unparsed; the caller
// closes its body. Transport failures come back as ClientConnectionFailed,
// Timeout or Cancelled. The returned cancel func must be called once the
// body is consumed (it releases the request's timeout).
func (c *Client) Raw(ctx context.Context, req *Request) (*http.Response, context.CancelFunc, error) {
	if err := c.refuseWrite(req); err != nil {
		return nil, nil, err
	}
	cancel := context.CancelFunc(func() {})
	if c.timeout > 0 && !req.NoTimeout {
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
	}
	var body io.Reader
	var up *meter
	contentType := ""
	size := int64(-1) // of a streamed body, when known
	switch b := req.Body.(type) {
	case nil:
	case io.Reader:
		switch l := b.(type) {
		case interface{ Len() int }: // bytes.Reader, strings.Reader (what is left), a sized host file
			size = int64(l.Len())
		case *io.SectionReader: // a host file's section, not yet read
			size = l.Size()
		}
		body, up = c.meterUpload(req, b, size)
		contentType = "application/octet-stream"
	case []byte:
		size = int64(len(b))
		body, up = c.meterUpload(req, bytes.NewReader(b), size)
		contentType = "application/octet-stream"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			cancel()
			return nil, nil, fmt.Errorf("encoding request body for %s %s: %w", req.Method, req.Path, err)
		}
		body = bytes.NewReader(data)
		contentType = "application/json"
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, c.url(req), body)
	if err != nil {
		cancel()
		return nil, nil, &Error{Kind: KindConnection, Message: "invalid request " + req.Path, Err: err}
	}
	if size > 0 {
		hr.ContentLength = size // net/http cannot see it through a meter or a file
	}
	if contentType != "" {
		hr.Header.Set("Content-Type", contentType)
	}
	header := req.Header
	if hasServerHeaders(header) {
		kind, err := c.ServerKind(ctx)
		if err != nil {
			cancel()
			return nil, nil, err
		}
		header = serverHeaders(header, kind)
	}
	for k, vs := range header {
		hr.Header[k] = vs
	}
	hr.Header.Set("User-Agent", "lxdstar")
	start := time.Now()
	resp, err := c.http.Do(hr)
	if up != nil {
		up.end()
	}
	if err != nil {
		c.traceLine(hr, 0, start)
		// Classified before cancel: cancelling the request's own timeout
		// context would make every failure look like a cancellation.
		err = c.transportError(ctx, err)
		cancel()
		return nil, nil, err
	}
	c.traceLine(hr, resp.StatusCode, start)
	c.meterDownload(req, resp)
	return resp, cancel, nil
}

func (c *Client) traceLine(hr *http.Request, status int, start time.Time) {
	if c.trace == nil {
		return
	}
	// Only method, path and query: never headers, bodies or credentials.
	target := hr.URL.EscapedPath()
	if hr.URL.RawQuery != "" {
		target += "?" + redactQuery(hr.URL.Query())
	}
	st := "ERR"
	if status != 0 {
		st = fmt.Sprint(status)
	}
	fmt.Fprintf(c.trace, "lxdstar: %s %s %s %s\n", hr.Method, target, st, time.Since(start).Round(10*time.Microsecond))
}

// redactQuery hides websocket secrets and similar tokens from trace output.
func redactQuery(q url.Values) string {
	for k := range q {
		if k == "secret" || k == "password" || k == "token" {
			q.Set(k, "REDACTED")
		}
	}
	return q.Encode()
}

func (c *Client) transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ContextError(ctx, "request to "+c.endpoint)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Kind: KindTimeout, Message: "request to " + c.endpoint + " timed out", Err: err}
	}
	var unknown x509.UnknownAuthorityError
	if errors.As(err, &unknown) {
		// LXD servers have self-signed certificates: say how to trust one.
		return &Error{Kind: KindConnection, Err: err, Message: "cannot talk to " + c.name() + " at " + c.endpoint +
			": its certificate is not signed by a known authority; trust it with verify=\"<server.crt>\" (pin the certificate), " +
			"remote=\"<name>\" (an lxc remote whose certificate is stored), or verify=False (no verification)"}
	}
	return &Error{Kind: KindConnection, Message: "cannot talk to " + c.name() + " at " + c.endpoint, Err: err}
}

// connReader marks the errors of reading a streamed response body as
// ClientConnectionFailed. Callers copy such bodies into their own writers
// (a host file, a buffer); the kind tells a broken connection, which
// scripts can catch as such, from a failure of their own writer.
type connReader struct {
	io.ReadCloser
	server   string // "LXD" or "Incus"
	endpoint string
}

func (r *connReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		var e *Error
		if !errors.As(err, &e) {
			err = &Error{Kind: KindConnection, Message: "reading the answer of " + r.server + " at " + r.endpoint, Err: err}
		}
	}
	return n, err
}

// maxEnvelope bounds how much of a non-streamed response is read.
const maxEnvelope = 256 << 20

// Do sends a request and parses LXD's envelope. An error response comes back
// as *Error with the LXD kind; the Response is returned as well when one was
// parsed.
func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {
	resp, cancel, err := c.Raw(ctx, req)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	data, err := readBody(io.LimitReader(resp.Body, maxEnvelope))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ContextError(ctx, "request to "+c.endpoint)
		}
		return nil, &Error{Kind: KindConnection, Message: fmt.Sprintf("reading response to %s %s from %s", req.Method, req.Path, c.endpoint), Err: err}
	}
	return ParseResponse(resp.StatusCode, resp.Header, data)
}

// ParseResponse decodes one envelope. It never panics on bad input.
func ParseResponse(status int, header http.Header, data []byte) (*Response, error) {
	r := &Response{HTTPStatus: status, Header: header}
	if header != nil {
		r.ETag = header.Get("ETag")
	}
	if err := decodeEnvelope(data, r); err != nil || r.Type == "" {
		if status >= 400 {
			return nil, &Error{Kind: KindForStatus(status), StatusCode: status,
				Message: fmt.Sprintf("HTTP %d with a non-LXD body: %s", status, snippet(data))}
		}
		detail := "not an LXD response"
		if err != nil {
			detail = "invalid JSON"
		}
		return nil, &Error{Kind: KindConnection, StatusCode: status, Message: fmt.Sprintf("%s (HTTP %d): %s", detail, status, snippet(data)), Err: err}
	}
	if r.Type == "error" || status >= 400 {
		code := r.ErrorCode
		if code == 0 {
			code = status
		}
		msg := r.Error
		if msg == "" {
			msg = http.StatusText(code)
		}
		return r, APIError(code, msg)
	}
	return r, nil
}

func snippet(data []byte) string {
	s := strings.Join(strings.Fields(string(data)), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return fmt.Sprintf("%q", s)
}

// Package fakelxd is an in-process fake LXD server for unit tests: LXD's
// response envelope, ETags and If-Match, background operations with
// server-side long-poll waits that are forgotten after they end, exec and
// events websockets, and hooks that script failures (intercept a request,
// hold or fail an operation, stall, cut a connection) and count requests.
//
// It behaves as LXD 5.0.2 does where it implements something (messages,
// status codes, which verbs are asynchronous: measured against the real
// daemon), for instances (state, snapshots, backups, exec, copy, rename), profiles,
// projects, networks, storage pools and volumes, images and aliases,
// operations and events. Any other path under /1.0 is a plain object store:
// seed it with Add and it answers GET, PUT, PATCH and DELETE synchronously.
//
// A fake is for fast unit tests and fault injection. It is not LXD: the
// integration tests in tests/ run against real daemons and stay the ground
// truth.
//
// A test starts one with New (unix socket) or NewTLS (HTTPS), seeds it
// (AddInstance, AddProfile, Add, …), points a client at Endpoint, and then
// checks what was sent (Requests, Count) and what the server holds (Get):
//
//	f := fakelxd.New(t, fakelxd.Config{})
//	f.AddInstance("c1", fakelxd.Object{"status": "Running"})
//	c, _ := rest.New(rest.Config{Endpoint: f.Endpoint()})
//	...
//	if n := f.Count("GET /1.0/instances"); n != 1 { ... }
package fakelxd

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// Object is a JSON object as LXD sends and receives it.
type Object = map[string]any

// Config says what server the fake pretends to be. The zero Config is a
// trusted, standalone LXD 5.0.2.
type Config struct {
	// Server is "lxd" (the default) or "incus": GET /1.0's
	// environment.server.
	Server string
	// Version is environment.server_version (default "5.0.2", or "6.0.4"
	// for Incus).
	Version string
	// Extensions are the api_extensions; nil means the list LXD 5.0.2
	// reports (for Incus too: give Incus's own when a test depends on it).
	Extensions []string
	// Untrusted makes the client untrusted: GET /1.0 answers the short
	// form, POST /1.0/certificates with TrustPassword (as "password" or
	// "trust_token") trusts it, and everything else is refused with 403.
	Untrusted     bool
	TrustPassword string
	// Clustered sets environment.server_clustered.
	Clustered bool
	// ForgetAfter is how long an ended operation stays readable before
	// GET and /wait answer 404, as LXD deletes operations 5 s after they
	// end (the default).
	ForgetAfter time.Duration
	// Bare starts the server empty. By default it holds what every test
	// bed daemon has: project "default", profile "default" with a root
	// disk, storage pool "default" (dir) and an image aliased "busybox".
	Bare bool
}

// Server is a running fake. Its methods are safe for concurrent use.
type Server struct {
	cfg      Config
	endpoint string
	ctx      context.Context // ends when the server closes
	stop     context.CancelFunc
	closers  []func()
	tls      *httptest.Server // NewTLS only

	mu        sync.Mutex
	trusted   bool
	store     *store
	ops       map[string]*operation
	opOrder   []string // operation ids, oldest first
	log       []*Request
	rules     []*rule
	exec      ExecFunc
	listeners []*Listener
	conns     map[*websocket.Conn]bool // every websocket, closed with the server
}

// BusyboxFingerprint is the fingerprint of the image a fake holds unless
// Config.Bare is set.
const BusyboxFingerprint = "f6341489208a228b2abecc40d890719a4340b9d356825742ad3f96259a7be362"

// New starts a fake listening on a unix socket in t.TempDir(); it stops when
// the test ends. Like LXD's own socket, it accepts one connection at a time,
// each only once it has sent its first bytes (listener.go).
func New(t testing.TB, cfg Config) *Server {
	t.Helper()
	s := newServer(cfg)
	sock := filepath.Join(t.TempDir(), "lxd.socket")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("fakelxd: %v", err)
	}
	srv := &http.Server{Handler: s, ErrorLog: discardLog()}
	go func() { _ = srv.Serve(peekingListener{ln}) }()
	s.endpoint = sock
	s.closers = append(s.closers, func() { _ = srv.Close() })
	t.Cleanup(s.Close)
	return s
}

// NewTLS starts a fake serving HTTPS on a loopback port with a self-signed
// certificate (clients connect with verification off, or pin Certificate).
func NewTLS(t testing.TB, cfg Config) *Server {
	t.Helper()
	s := newServer(cfg)
	ts := httptest.NewUnstartedServer(s)
	ts.Config.ErrorLog = discardLog()
	ts.StartTLS()
	s.endpoint = ts.URL
	s.closers = append(s.closers, ts.Close)
	s.tls = ts
	t.Cleanup(s.Close)
	return s
}

func newServer(cfg Config) *Server {
	if cfg.Server == "" {
		cfg.Server = "lxd"
	}
	if cfg.Version == "" {
		cfg.Version = "5.0.2"
		if cfg.Server == "incus" {
			cfg.Version = "6.0.4"
		}
	}
	if cfg.Extensions == nil {
		cfg.Extensions = lxd50Extensions()
	}
	if cfg.ForgetAfter == 0 {
		cfg.ForgetAfter = 5 * time.Second
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, ctx: ctx, stop: stop, trusted: !cfg.Untrusted, store: newStore(),
		ops: map[string]*operation{}, exec: DefaultExec, conns: map[*websocket.Conn]bool{}}
	if !cfg.Bare {
		s.seedTestBed()
	}
	return s
}

// seedTestBed adds what tests/testbed/testbed.sh sets up on every daemon.
func (s *Server) seedTestBed() {
	s.AddProject("default", Object{"description": "Default LXD project"})
	s.AddStoragePool("default", Object{"driver": "dir", "config": Object{"source": "/var/lib/lxd/storage-pools/default"}})
	s.AddProfile("default", Object{"description": "Default LXD profile",
		"devices": Object{"root": Object{"path": "/", "pool": "default", "type": "disk"}}})
	s.AddImage(BusyboxFingerprint, Object{
		"aliases":    []any{Object{"name": "busybox", "description": ""}},
		"properties": Object{"architecture": "x86_64", "description": "busybox (fakelxd)", "os": "busybox", "release": "v1.35.0"},
		"size":       1036095,
	})
}

// Certificate is the PEM certificate of a NewTLS server (nil for a unix
// socket), for tests that pin it.
func (s *Server) Certificate() []byte {
	if s.tls == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.tls.Certificate().Raw})
}

// Endpoint is what a client connects to: the socket path, or the https://
// URL of a NewTLS server.
func (s *Server) Endpoint() string { return s.endpoint }

// Close stops the server: listeners and websockets are closed, waits and
// stalls end. Tests need not call it (New registers it with t.Cleanup).
func (s *Server) Close() {
	s.stop()
	s.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	for _, c := range s.closers {
		c()
	}
	s.closers = nil
}

// Request is one request the fake received.
type Request struct {
	Method string
	URL    *url.URL // as received: URL.EscapedPath(), URL.Query()
	Header http.Header
	// Body holds the request body when it is at most 1 MiB (JSON bodies
	// always are); larger uploads are not kept.
	Body []byte
}

// String is "METHOD /path?query".
func (r *Request) String() string { return r.Method + " " + r.URL.RequestURI() }

// JSON decodes the body into a generic value (nil when it is not JSON).
func (r *Request) JSON() any {
	var v any
	if json.Unmarshal(r.Body, &v) != nil {
		return nil
	}
	return v
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Request(nil), s.log...)
}

// Count returns how many requests so far match pattern (see Intercept for
// the pattern syntax; "GET /1.0/instances" counts listings in any project
// with any recursion).
func (s *Server) Count(pattern string) int {
	p := parsePattern(pattern)
	n := 0
	for _, r := range s.Requests() {
		if p.match(r.Method, r.URL) {
			n++
		}
	}
	return n
}

const maxLoggedBody = 1 << 20

// ServeHTTP answers one request: it records it, hands it to the newest
// matching Intercept if any, and otherwise serves it as LXD would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	logged := &Request{Method: r.Method, URL: r.URL, Header: r.Header.Clone()}
	if r.Body != nil && r.ContentLength <= maxLoggedBody {
		data, err := io.ReadAll(io.LimitReader(r.Body, maxLoggedBody+1))
		if err == nil && len(data) <= maxLoggedBody {
			logged.Body = data
		}
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(data), r.Body))
	}
	s.mu.Lock()
	s.log = append(s.log, logged)
	h := s.interceptLocked(r)
	s.mu.Unlock()
	if h != nil {
		h.ServeHTTP(w, r)
		return
	}
	s.Backend().ServeHTTP(w, r)
}

// Backend is the fake's own handler, without intercepts and without
// recording: an Intercept handler can pass a request on to it.
func (s *Server) Backend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := &query{s: s, w: w, r: r}
		q.serve()
	})
}

// query is one request being answered.
type query struct {
	s       *Server
	w       http.ResponseWriter
	r       *http.Request
	segs    []string // unescaped path segments below /1.0
	project string
}

func (q *query) serve() {
	path := q.r.URL.EscapedPath()
	if path == "/" || path == "" {
		q.sync(http.StatusOK, []any{"/1.0"})
		return
	}
	rest, ok := strings.CutPrefix(path, "/1.0")
	if !ok || (rest != "" && rest[0] != '/') {
		q.fail(http.StatusNotFound, "not found")
		return
	}
	for _, seg := range strings.Split(strings.Trim(rest, "/"), "/") {
		if seg == "" {
			continue
		}
		u, err := url.PathUnescape(seg)
		if err != nil {
			q.fail(http.StatusBadRequest, "invalid path")
			return
		}
		q.segs = append(q.segs, u)
	}
	q.project = q.r.URL.Query().Get("project")
	if q.project == "" {
		q.project = "default"
	}
	if !q.authorised() {
		q.fail(http.StatusForbidden, "not authorized")
		return
	}
	q.route()
}

// authorised lets an untrusted client see GET /1.0 and trust itself.
func (q *query) authorised() bool {
	q.s.mu.Lock()
	trusted := q.s.trusted
	q.s.mu.Unlock()
	if trusted || len(q.segs) == 0 {
		return true
	}
	return q.r.Method == http.MethodPost && len(q.segs) == 1 && q.segs[0] == "certificates"
}

// --- responses: LXD's envelope ------------------------------------------------

func (q *query) writeJSON(status int, v any) {
	q.w.Header().Set("Content-Type", "application/json")
	q.w.WriteHeader(status)
	_ = json.NewEncoder(q.w).Encode(v)
}

// sync answers {"type": "sync", ...} with metadata.
func (q *query) sync(status int, metadata any) {
	q.writeJSON(status, Object{"type": "sync", "status": "Success", "status_code": 200,
		"operation": "", "error_code": 0, "error": "", "metadata": metadata})
}

// syncETag answers an object with its ETag header.
func (q *query) syncETag(metadata any, etag string) {
	if etag != "" {
		q.w.Header().Set("ETag", `"`+etag+`"`)
	}
	q.sync(http.StatusOK, metadata)
}

// created answers 201 with a Location header, as LXD does for objects
// created synchronously.
func (q *query) created(location string) {
	q.w.Header().Set("Location", location)
	q.sync(http.StatusCreated, nil)
}

// fail answers {"type": "error", ...}.
func (q *query) fail(code int, msg string) {
	q.writeJSON(code, Object{"type": "error", "status": "", "status_code": 0,
		"operation": "", "error_code": code, "error": msg, "metadata": nil})
}

// async answers 202 with the operation, as LXD does for background work.
func (q *query) async(op *operation) {
	url := "/1.0/operations/" + op.id
	q.s.mu.Lock()
	md := cloneObject(op.initial) // LXD answers before the work has started
	q.s.mu.Unlock()
	q.w.Header().Set("Location", url)
	q.writeJSON(http.StatusAccepted, Object{"type": "async", "status": "Operation created", "status_code": 100,
		"operation": url, "error_code": 0, "error": "", "metadata": md})
}

// decode reads a JSON body; a bad body is answered with 400 and false.
func (q *query) decode(v any) bool {
	data, err := io.ReadAll(q.r.Body)
	if err == nil && len(bytes.TrimSpace(data)) == 0 {
		return true // an empty body is an empty object
	}
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		q.fail(http.StatusBadRequest, "failed to parse request body: "+err.Error())
		return false
	}
	return true
}

// recursion is the ?recursion= level (0 when absent or invalid).
func (q *query) recursion() int {
	n, _ := strconv.Atoi(q.r.URL.Query().Get("recursion"))
	return n
}

// ifMatch checks If-Match against etag: false (and 412 sent) when stale.
func (q *query) ifMatch(etag string) bool {
	want := strings.Trim(q.r.Header.Get("If-Match"), `"`)
	if want == "" || want == etag {
		return true
	}
	q.fail(http.StatusPreconditionFailed, "ETag doesn't match: "+etag+" vs "+want)
	return false
}

// --- /1.0 ----------------------------------------------------------------------

func (q *query) serverInfo() {
	s := q.s
	s.mu.Lock()
	trusted := s.trusted
	s.mu.Unlock()
	info := Object{"api_extensions": s.cfg.Extensions, "api_status": "stable", "api_version": "1.0",
		"public": false, "auth_methods": []any{"tls"}}
	if !trusted {
		info["auth"] = "untrusted"
		q.sync(http.StatusOK, info)
		return
	}
	info["auth"] = "trusted"
	info["config"] = Object{}
	info["environment"] = Object{
		"addresses": []any{}, "architectures": []any{"x86_64", "i686"}, "driver": "lxc",
		"driver_version": s.cfg.Version, "firewall": "nftables", "kernel": "Linux", "kernel_architecture": "x86_64",
		"os_name": "Debian GNU/Linux", "os_version": "12", "project": q.project,
		"server": s.cfg.Server, "server_clustered": s.cfg.Clustered, "server_event_mode": "full-mesh",
		"server_name": "fakelxd", "server_pid": 1, "server_version": s.cfg.Version,
		"storage": "dir", "storage_version": "1",
	}
	q.syncETag(info, etagOf(info["config"]))
}

// trust handles POST /1.0/certificates from an untrusted client.
func (q *query) trust() {
	var body struct {
		Password   string `json:"password"`
		TrustToken string `json:"trust_token"`
	}
	if !q.decode(&body) {
		return
	}
	secret := body.Password + body.TrustToken
	if q.s.cfg.TrustPassword == "" || secret != q.s.cfg.TrustPassword {
		q.fail(http.StatusForbidden, "not authorized")
		return
	}
	q.s.mu.Lock()
	q.s.trusted = true
	q.s.mu.Unlock()
	q.created("/1.0/certificates/fakelxd")
}

func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// Package tests holds the integration tests: every one runs against the real
// LXD and Incus daemons of the test bed (tests/testbed/testbed.sh, started by
// make test). Tests that are not about one server's own feature run against
// both, as subtests named after the server (see eachServer).
package tests

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/internal/lazyconn"
	"github.com/lxdstar/lxdstar/internal/testbed"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// The test bed's layout (tests/testbed/testbed.sh).
const (
	mainHTTPS    = "https://127.0.0.1:8443"
	secondSocket = "/var/lib/lxd2/unix.socket"
	node1Socket  = "/var/lib/lxd3/unix.socket"
	node2Socket  = "/var/lib/lxd4/unix.socket"
	incusSocket  = "/var/lib/incus/unix.socket"
	incusHTTPS   = "https://127.0.0.1:8446"
	imageAlias   = "busybox"
)

// mainSocket is the main LXD daemon's socket: $LXDSTAR_TEST_SOCKET, else the
// test bed's.
var mainSocket = testbed.Socket()

// server is one server of the test bed the suite runs against.
type server struct {
	Name   string // "lxd" or "incus", as client.server says; names the subtest
	Socket string
	HTTPS  string
}

// testServers are the servers every test not about one server's own feature
// runs against: the main LXD 5.0 daemon and the Incus 6.0 one.
func testServers() []server { return []server{lxdServer(), incusServer()} }

func lxdServer() server   { return server{"lxd", mainSocket, mainHTTPS} }
func incusServer() server { return server{"incus", incusSocket, incusHTTPS} }

// cli is the server's own command-line client (lxc or incus) on its unix
// socket, for checks that do not depend on the code under test.
func (s server) cli(args ...string) *exec.Cmd {
	tool, dirVar := "lxc", "LXD_DIR"
	if s.Name == "incus" {
		tool, dirVar = "incus", "INCUS_DIR"
	}
	cmd := exec.Command(tool, args...)
	cmd.Env = append(os.Environ(), dirVar+"="+filepath.Dir(s.Socket))
	return cmd
}

// instanceNotFound is the server's own message for a missing instance:
// Incus 6.0 names the instance and project, LXD 5.0 does not.
func (s server) instanceNotFound(name string) string {
	if s.Name == "incus" {
		return fmt.Sprintf("Failed to fetch instance %q in project \"default\": Instance not found", name)
	}
	return "Instance not found"
}

// eachServer runs body against every test server, as subtests named after
// the server (TestX/lxd, TestX/incus) that run in parallel with each other.
// Whether TestX runs in parallel with other tests is TestX's own choice.
func eachServer(t *testing.T, body func(t *testing.T, srv server)) {
	forServers(t, true, body)
}

// parallelOnEachServer runs body as eachServer does, the test itself in
// parallel with the other tests.
func parallelOnEachServer(t *testing.T, body func(t *testing.T, srv server)) {
	t.Parallel()
	eachServer(t, body)
}

// eachServerInTurn is eachServer for tests that measure the process (its
// goroutines): one server after the other.
func eachServerInTurn(t *testing.T, body func(t *testing.T, srv server)) {
	forServers(t, false, body)
}

func forServers(t *testing.T, parallel bool, body func(t *testing.T, srv server)) {
	for _, srv := range testServers() {
		t.Run(srv.Name, func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			needSocket(t, srv.Socket)
			body(t, srv)
		})
	}
}

func trustPassword() string {
	if p := os.Getenv("LXDSTAR_TRUST_PASSWORD"); p != "" {
		return p
	}
	return "s3cret"
}

// needSocket fails the test when a test-bed daemon is missing: the main
// one answered (see checkTestbed) and make test starts them all, so absence
// is a broken set-up, not a reason to skip.
func needSocket(t testing.TB, path string) {
	t.Helper()
	if fi, err := os.Stat(path); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no LXD or Incus socket at %s: start the test bed with `make testbed-up`", path)
	}
}

// hostLinks serialises the tests that create, rename or delete network
// interfaces of the host (bridges). Stopping a bridge, Incus 6.0.4 scans
// every host interface and fails ("Failed to delete bridge children
// interfaces: ... Device ... does not exist") when one vanishes meanwhile;
// the LXD and Incus daemons of the test bed share the host's interfaces.
var hostLinks sync.Mutex

// holdHostLinks takes hostLinks until the test (and its cleanups) ends.
// A test holding it must not start parallel subtests: they would wait for
// a slot that tests waiting for hostLinks hold.
func holdHostLinks(t testing.TB) {
	hostLinks.Lock()
	t.Cleanup(hostLinks.Unlock)
}

// uniqueName returns a fresh, valid LXD name starting with "t-<prefix>-".
func uniqueName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "t-" + prefix + "-" + hex.EncodeToString(b)
}

// restClient talks to a daemon directly, for checks that do not trust the
// Starlark layer under test.
func restClient(t testing.TB, socket string) *rest.Client {
	t.Helper()
	needSocket(t, socket)
	c, err := rest.New(rest.Config{Endpoint: socket})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serverObject reads one object's metadata through the REST client.
func serverObject(t testing.TB, c *rest.Client, path string) map[string]any {
	t.Helper()
	resp, err := c.Do(context.Background(), &rest.Request{Method: "GET", Path: path})
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	var m map[string]any
	if err := resp.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// serverExists reports whether path exists on the server.
func serverExists(t testing.TB, c *rest.Client, path string) bool {
	t.Helper()
	_, err := c.Do(context.Background(), &rest.Request{Method: "GET", Path: path})
	if errors.Is(err, rest.ErrNotFound) {
		return false
	}
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return true
}

// requireGone fails the test, saying why, when path still exists on the
// server.
func requireGone(t testing.TB, c *rest.Client, path, why string) {
	t.Helper()
	if serverExists(t, c, path) {
		t.Fatalf("%s: %s", why, path)
	}
}

// deleteByScript deletes a server-wide object through the script API
// (client.<collection>.get(name).delete()), then checks that exists() says
// no and that the server no longer has it at path.
func deleteByScript(t *testing.T, socket string, c *rest.Client, collection, name, path string) {
	t.Helper()
	newScript(t, socket).with("collection", starlark.String(collection)).with("name", starlark.String(name)).mustRun(`
objects = getattr(lxd.Client(), collection)
objects.get(name).delete()
if objects.exists(name):
    fail("%s %s survived delete()" % (collection, name))
`)
	requireGone(t, c, path, collection+" still on the server after delete()")
}

// cleanupInstance force-deletes an instance when the test ends, whatever
// state it is in (a missing instance is fine).
func cleanupInstance(t testing.TB, socket, name string) {
	t.Helper()
	c := restClient(t, socket)
	t.Cleanup(func() { deleteInstance(c, name) })
}

// newInstanceName returns a fresh name ("t-<prefix>-…") for an instance the
// test is about to create, and deletes that instance when the test ends.
func newInstanceName(t testing.TB, socket, prefix string) string {
	t.Helper()
	name := uniqueName(prefix)
	cleanupInstance(t, socket, name)
	return name
}

// newInstance creates an instance of the test image named "t-<prefix>-…"
// (started if start), deletes it when the test ends and returns its name.
func newInstance(t testing.TB, socket, prefix string, start bool) string {
	t.Helper()
	name := uniqueName(prefix)
	createInstance(t, socket, name, start)
	return name
}

func deleteInstance(c *rest.Client, name string) {
	ctx := context.Background()
	path := rest.Path("instances", name)
	// A loaded server sometimes refuses or fails a stop or a delete (busy,
	// an operation still running): try again rather than leave it behind.
	for attempt := 0; attempt < 5; attempt++ {
		_ = sendAndWait(c, &rest.Request{Method: "PUT", Path: path + "/state", Body: map[string]any{"action": "stop", "force": true, "timeout": -1}}, 30*time.Second)
		_ = sendAndWait(c, &rest.Request{Method: "DELETE", Path: path}, 30*time.Second)
		if _, err := c.Get(ctx, path, nil, nil); errors.Is(err, rest.ErrNotFound) {
			return
		}
		time.Sleep(time.Second)
	}
}

// createInstance makes a stopped (or started) busybox container through the
// REST client and schedules its deletion.
func createInstance(t testing.TB, socket, name string, start bool) {
	t.Helper()
	c := restClient(t, socket)
	t.Cleanup(func() { deleteInstance(c, name) })
	body := map[string]any{"name": name, "source": map[string]any{"type": "image", "alias": imageAlias}}
	if err := sendAndWait(c, &rest.Request{Method: "POST", Path: rest.Path("instances"), Body: body}, time.Minute); err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	if !start {
		return
	}
	if err := sendAndWait(c, &rest.Request{Method: "PUT", Path: rest.Path("instances", name, "state"), Body: map[string]any{"action": "start", "timeout": 30}}, time.Minute); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
}

// sendAndWait sends a request that may start an operation and waits for the
// operation's end, for at most limit in all.
func sendAndWait(c *rest.Client, req *rest.Request, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	return c.SendAndWait(ctx, req)
}

// script runs Starlark source with the lxd module against the test bed.
type script struct {
	t       testing.TB
	cfg     lxdmod.Config
	args    []string
	globals starlark.StringDict
	ctx     context.Context
	extra   starlark.StringDict
}

// newScript prepares a run against endpoint (a socket path or URL; "" =
// the main daemon's socket).
func newScript(t testing.TB, endpoint string) *script {
	if endpoint == "" {
		needSocket(t, mainSocket)
		endpoint = mainSocket
	}
	cfg := lxdmod.Config{Endpoint: endpoint}
	if os.Getenv("LXDSTAR_TRACE") != "" { // one line per request, as the CLI does
		cfg.Trace = os.Stderr
	}
	return &script{t: t, cfg: cfg, ctx: context.Background()}
}

// with adds predeclared names (e.g. the unique names a test uses).
func (s *script) with(name string, v starlark.Value) *script {
	if s.extra == nil {
		s.extra = starlark.StringDict{}
	}
	s.extra[name] = v
	return s
}

// run executes src and returns what it printed and its error.
func (s *script) run(src string) (string, error) {
	var out bytes.Buffer
	var mu sync.Mutex
	opts := []lxdstar.Option{
		lxdstar.WithLXD(s.cfg),
		lxdstar.WithPrint(func(msg string) { mu.Lock(); out.WriteString(msg + "\n"); mu.Unlock() }),
		lxdstar.WithArgs(s.args),
	}
	if s.extra != nil {
		opts = append(opts, lxdstar.WithPredeclared(s.extra))
	}
	ctx := s.ctx
	if _, ok := ctx.Deadline(); !ok {
		// A server that never answers fails the test rather than stall the
		// suite (and whatever lock the test holds, such as hostLinks).
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
	}
	g, err := lxdstar.New(opts...).Run(ctx, s.t.Name()+".star", []byte(src))
	s.globals = g
	return out.String(), err
}

// mustRun executes src and fails the test on error, showing the backtrace.
func (s *script) mustRun(src string) string {
	s.t.Helper()
	out, err := s.run(src)
	if err != nil {
		var e *lxdstar.Error
		if errors.As(err, &e) {
			s.t.Fatalf("script failed:\n%s\noutput so far:\n%s", e.Backtrace(), out)
		}
		s.t.Fatalf("script failed: %v\noutput so far:\n%s", err, out)
	}
	return out
}

// global returns a global the last run defined, as a Go string/bool/int
// when it is one of those, else its Starlark value.
func (s *script) global(name string) starlark.Value {
	s.t.Helper()
	v, ok := s.globals[name]
	if !ok {
		s.t.Fatalf("script defined no global %q", name)
	}
	return v
}

// countingProxy is a unix-socket HTTP proxy in front of a daemon's socket
// that counts requests, so tests can assert how many a call made.
type countingProxy struct {
	Socket string
	n      atomic.Int64
	mu     sync.Mutex
	reqs   []string
	marked []int
}

func newCountingProxy(t testing.TB, upstream string) *countingProxy {
	t.Helper()
	p := &countingProxy{}
	p.Socket = unixProxy(t, upstream, func(rp *httputil.ReverseProxy) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.n.Add(1)
			p.mu.Lock()
			p.reqs = append(p.reqs, r.Method+" "+r.URL.RequestURI())
			p.mu.Unlock()
			rp.ServeHTTP(w, r)
		})
	})
	return p
}

// unixProxy serves a reverse proxy to the daemon at upstream on a fresh unix
// socket and returns its path; the fault tests shape it (count requests,
// corrupt or cut responses) in wrap, which returns the handler to serve.
func unixProxy(t testing.TB, upstream string, wrap func(rp *httputil.ReverseProxy) http.Handler) string {
	t.Helper()
	needSocket(t, upstream)
	sock := filepath.Join(t.TempDir(), "proxy.socket")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: "lxd"})
			r.Out.Host = "lxd"
		},
		// Lazy connections: a spare one kept idle would hold up the
		// daemon's whole socket (internal/lazyconn).
		Transport:     &http.Transport{DialContext: lazyconn.Unix(upstream)},
		FlushInterval: -1,
	}
	srv := &http.Server{Handler: wrap(rp)}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock
}

// Count returns the number of requests seen so far.
func (p *countingProxy) Count() int { return int(p.n.Load()) }

// Requests returns "METHOD /path?query" for every request seen so far.
func (p *countingProxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.reqs...)
}

// mark is a predeclared mark() for scripts: each call records the
// number of requests seen so far, which marks returns.
func (p *countingProxy) mark() starlark.Value {
	return starlark.NewBuiltin("mark", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.marked = append(p.marked, len(p.reqs))
		return starlark.None, nil
	})
}

// marks returns the request counts mark() recorded, in order.
func (p *countingProxy) marks() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int(nil), p.marked...)
}

// requestsSince formats the requests after the first n, for failure messages.
func (p *countingProxy) requestsSince(n int) string {
	r := p.Requests()
	if n > len(r) {
		n = len(r)
	}
	return strings.Join(r[n:], "\n")
}

package rest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

// newFake starts a fake LXD (internal/fakelxd) and a client of it.
func newFake(t *testing.T, cfg Config) (*fakelxd.Server, *Client) {
	t.Helper()
	f := fakelxd.New(t, fakelxd.Config{})
	cfg.Endpoint = f.Endpoint()
	c, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return f, c
}

// replying is a client of a fake that answers every request with status
// and body.
func replying(t *testing.T, body string, status int, cfg Config) *Client {
	f, c := newFake(t, cfg)
	f.Intercept("*", fakelxd.Reply(status, body))
	return c
}

func kindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

func TestParseEnvelopeFaults(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		kind   Kind
		msg    string
	}{
		{"garbage JSON", 200, `{"type": "sync", "metadata": {`, KindConnection, "invalid JSON"},
		{"not an envelope", 200, `[1,2,3]`, KindConnection, "invalid JSON"},
		{"empty object", 200, `{}`, KindConnection, "not an LXD response"},
		{"HTML 502", 502, `<html><body><h1>502 Bad Gateway</h1></body></html>`, KindAPI, "HTTP 502 with a non-LXD body"},
		{"empty 500", 500, ``, KindAPI, "(empty body)"},
		{"error 404", 404, `{"type":"error","error":"Instance not found","error_code":404}`, KindNotFound, "Instance not found"},
		{"error 409", 409, `{"type":"error","error":"already exists","error_code":409}`, KindConflict, "already exists"},
		{"etag 412", 412, `{"type":"error","error":"ETag doesn't match","error_code":412}`, KindConflict, "ETag"},
		{"error 403", 403, `{"type":"error","error":"not authorized","error_code":403}`, KindAPI, "not authorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := replying(t, tc.body, tc.status, Config{})
			_, err := c.Do(context.Background(), &Request{Method: "GET", Path: "/1.0"})
			require.Error(t, err)
			assert.Equal(t, tc.kind, kindOf(err), "kind of %v", err)
			assert.Contains(t, err.Error(), tc.msg)
			assert.True(t, strings.HasPrefix(err.Error(), tc.kind.String()+": "), "message starts with kind: %q", err)
		})
	}
}

func TestErrorKindsHierarchy(t *testing.T) {
	err := APIError(404, "x")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, err, ErrAPI)
	assert.NotErrorIs(t, err, ErrConflict)
	assert.Equal(t, []string{"NotFound", "LXDAPIException"}, err.Kinds())
	wrapped := errors.Join(errors.New("context"), APIError(412, "etag"))
	assert.ErrorIs(t, wrapped, ErrConflict)
	assert.NotErrorIs(t, &Error{Kind: KindTimeout}, ErrAPI)
}

func TestConnectionClosedMidBody(t *testing.T) {
	f, c := newFake(t, Config{})
	f.Intercept("*", fakelxd.Cut("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"type\":\"sync\",\"metadata\":{"))
	_, err := c.Do(context.Background(), &Request{Method: "GET", Path: "/1.0"})
	require.Error(t, err)
	assert.Equal(t, KindConnection, kindOf(err), "%v", err)
	assert.Contains(t, err.Error(), "reading response")
}

func TestStallHitsRequestTimeout(t *testing.T) {
	f, c := newFake(t, Config{Timeout: 200 * time.Millisecond})
	f.Intercept("GET /1.0", fakelxd.Stall(""))
	start := time.Now()
	_, err := c.Do(context.Background(), &Request{Method: "GET", Path: "/1.0"})
	assert.Equal(t, KindTimeout, kindOf(err), "%v", err)
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestCancelledContext(t *testing.T) {
	f, c := newFake(t, Config{})
	f.Intercept("GET /1.0", fakelxd.Stall(""))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err := c.Do(ctx, &Request{Method: "GET", Path: "/1.0"})
	assert.Equal(t, KindCancelled, kindOf(err), "%v", err)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestNoSocket(t *testing.T) {
	c, err := New(Config{Endpoint: "unix://" + filepath.Join(t.TempDir(), "missing.socket")})
	require.NoError(t, err)
	_, err = c.Server(context.Background())
	assert.Equal(t, KindConnection, kindOf(err))
	assert.Contains(t, err.Error(), "missing.socket", "the error names the socket tried")
}

func TestDiscoverSocketOrder(t *testing.T) {
	dir := t.TempDir()
	sock := func(name string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		ln, err := net.Listen("unix", p)
		require.NoError(t, err)
		t.Cleanup(func() { ln.Close() })
		return p
	}
	env := map[string]string{
		"LXD_SOCKET": sock("lxd.socket"), "LXD_DIR": filepath.Dir(sock("lxddir/unix.socket")),
		"INCUS_SOCKET": sock("incus.socket"), "INCUS_DIR": filepath.Dir(sock("incusdir/unix.socket")),
	}
	defaults := []string{filepath.Join(dir, "missing/unix.socket"), sock("default/unix.socket")}
	getenv := func(k string) string { return env[k] }
	for _, step := range []struct{ drop, want string }{
		{"", env["LXD_SOCKET"]},
		{"LXD_SOCKET", filepath.Join(env["LXD_DIR"], "unix.socket")},
		{"LXD_DIR", env["INCUS_SOCKET"]},
		{"INCUS_SOCKET", filepath.Join(env["INCUS_DIR"], "unix.socket")},
		{"INCUS_DIR", defaults[1]},
	} {
		delete(env, step.drop)
		got, err := discoverSocket(getenv, defaults)
		require.NoError(t, err)
		assert.Equal(t, step.want, got, "without %s", step.drop)
	}
	// A variable naming something that is not a socket is passed over.
	env["LXD_SOCKET"] = filepath.Join(dir, "lxddir")
	got, err := discoverSocket(getenv, defaults)
	require.NoError(t, err)
	assert.Equal(t, defaults[1], got)
}

func TestDiscoverSocketNamesEveryPathTried(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LXD_SOCKET": "/nowhere/a", "LXD_DIR": "/nowhere/b", "INCUS_SOCKET": "/nowhere/c", "INCUS_DIR": "/nowhere/d"}
	_, err := discoverSocket(func(k string) string { return env[k] }, []string{filepath.Join(dir, "x"), filepath.Join(dir, "y")})
	assert.Equal(t, KindConnection, kindOf(err))
	assert.EqualError(t, err, "ClientConnectionFailed: no LXD or Incus unix socket found (tried /nowhere/a, /nowhere/b/unix.socket, "+
		"/nowhere/c, /nowhere/d/unix.socket, "+filepath.Join(dir, "x")+", "+filepath.Join(dir, "y")+")")
}

// The default paths are the documented ones, in their order.
func TestDiscoverSocketDefaults(t *testing.T) {
	assert.Equal(t, []string{"/var/snap/lxd/common/lxd/unix.socket", "/var/lib/lxd/unix.socket",
		"/run/incus/unix.socket", "/var/lib/incus/unix.socket"}, defaultSockets())
}

func TestPathEscapingProjectAndETag(t *testing.T) {
	f, c := newFake(t, Config{Project: "p1"})
	f.AddProject("p1", nil)
	f.AddImage(fakelxd.BusyboxFingerprint, fakelxd.Object{"project": "p1", "aliases": []any{fakelxd.Object{"name": "ubuntu/22.04"}}})
	f.AddInstance("a b", fakelxd.Object{"project": "p1"})
	ctx := context.Background()
	resp, err := c.Do(ctx, &Request{Method: "GET", Path: Path("images", "aliases", "ubuntu/22.04")})
	require.NoError(t, err)
	assert.Equal(t, `"`+f.ETag("/1.0/images/aliases/ubuntu%2F22.04?project=p1")+`"`, resp.ETag)
	resp, err = c.Do(ctx, &Request{Method: "GET", Path: Path("instances", "a b")})
	require.NoError(t, err)
	_, err = c.Do(ctx, &Request{Method: "PUT", Path: Path("instances", "a b"), Body: map[string]any{}, Header: http.Header{"If-Match": {resp.ETag}}})
	require.NoError(t, err)
	seen := f.Requests()
	require.Len(t, seen, 3)
	assert.Equal(t, "/1.0/images/aliases/ubuntu%2F22.04", seen[0].URL.EscapedPath())
	assert.Equal(t, "p1", seen[0].URL.Query().Get("project"))
	assert.Equal(t, "/1.0/instances/a%20b", seen[2].URL.EscapedPath())
	assert.Equal(t, `"`+f.ETag("/1.0/instances/a%20b?project=p1")+`"`, seen[2].Header.Get("If-Match"))
}

func TestTraceLineHasNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	f, c := newFake(t, Config{Trace: &buf})
	f.Intercept("GET /1.0/operations/x/websocket", fakelxd.Reply(200, `{"type":"sync","metadata":{}}`))
	_, err := c.Do(context.Background(), &Request{Method: "GET", Path: "/1.0/operations/x/websocket?secret=hunter2", Header: http.Header{"X-Password": {"s3cret"}}})
	require.NoError(t, err)
	line := buf.String()
	assert.Regexp(t, `^lxdstar: GET /1.0/operations/x/websocket\?secret=REDACTED 200 \S+\n$`, line)
	assert.NotContains(t, line, "hunter2")
	assert.NotContains(t, line, "s3cret")
}

func TestWaitOperationFinalNeedsNoRequest(t *testing.T) {
	f, c := newFake(t, Config{})
	op, err := c.WaitOperation(context.Background(), &Operation{ID: "x", StatusCode: 200, Status: "Success"}, 0)
	require.NoError(t, err)
	assert.Equal(t, "Success", op.Status)
	_, err = c.WaitOperation(context.Background(), &Operation{ID: "y", StatusCode: 400, Status: "Failure", Err: "boom"}, 0)
	assert.Equal(t, KindAPI, kindOf(err))
	assert.Contains(t, err.Error(), "boom")
	assert.Empty(t, f.Requests())
}

// operationJSON is LXD's answer to a wait: the operation as it is now.
func operationJSON(t *testing.T, f *fakelxd.Server, id string) []byte {
	op, ok := f.Operation(id)
	require.True(t, ok)
	data, err := json.Marshal(map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": op})
	require.NoError(t, err)
	return data
}

func TestWaitOperationLongPolls(t *testing.T) {
	f, c := newFake(t, Config{Timeout: time.Millisecond}) // the request timeout must not bound waits
	release := make(chan struct{})
	id := f.StartOperation("Testing", func(ctx context.Context) (fakelxd.Object, error) {
		<-release
		return fakelxd.Object{"return": 0}, nil
	})
	// The first two polls end with the operation still running, as LXD's
	// do when their timeout passes; the third waits for the end.
	var mu sync.Mutex
	polls := 0
	f.InterceptN("GET /1.0/operations/*/wait", 2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		polls++
		if polls == 2 {
			close(release)
		}
		mu.Unlock()
		_, _ = w.Write(operationJSON(t, f, id))
	}))
	op, err := c.WaitOperation(context.Background(), &Operation{ID: id, StatusCode: 103}, 0)
	require.NoError(t, err)
	reqs := f.Requests()
	assert.Len(t, reqs, 3)
	for _, r := range reqs {
		assert.Equal(t, "/1.0/operations/"+id+"/wait", r.URL.Path)
		assert.NotEmpty(t, r.URL.Query().Get("timeout"))
	}
	assert.Equal(t, float64(0), op.Metadata["return"])
}

func TestWaitOperationVanished(t *testing.T) {
	_, c := newFake(t, Config{})
	_, err := c.WaitOperation(context.Background(), &Operation{ID: "gone", StatusCode: 103}, 0)
	assert.Equal(t, KindNotFound, kindOf(err))
	assert.Contains(t, err.Error(), "operation gone no longer exists")
}

func TestPendingKeepsResultAfterServerForgets(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{ForgetAfter: 10 * time.Millisecond})
	c, err := New(Config{Endpoint: f.Endpoint()})
	require.NoError(t, err)
	release := make(chan struct{})
	id := f.StartOperation("Testing", func(ctx context.Context) (fakelxd.Object, error) {
		<-release
		return nil, nil
	})
	p := c.Watch(context.Background(), &Operation{ID: id, StatusCode: 103})
	close(release)
	<-p.Done()
	require.Eventually(t, func() bool { _, ok := f.Operation(id); return !ok }, 2*time.Second, 5*time.Millisecond,
		"the server forgot the operation")
	n := len(f.Requests())
	op, err := p.Wait(context.Background(), 0)
	require.NoError(t, err)
	assert.Equal(t, "Success", op.Status)
	assert.Len(t, f.Requests(), n, "the result was kept, not asked for again")
}

func TestWaitTimeout(t *testing.T) {
	f, c := newFake(t, Config{})
	id := f.StartOperation("Testing", func(ctx context.Context) (fakelxd.Object, error) {
		<-ctx.Done() // runs until the server closes
		return nil, nil
	})
	start := time.Now()
	_, err := c.WaitOperation(context.Background(), &Operation{ID: id, StatusCode: 103}, 300*time.Millisecond)
	assert.Less(t, time.Since(start), 10*time.Second)
	require.Error(t, err)
	assert.Equal(t, KindTimeout, kindOf(err), "%v", err)
}

func TestInvalidEndpoint(t *testing.T) {
	_, err := New(Config{Endpoint: "ftp://host"})
	assert.Equal(t, KindConnection, kindOf(err))
	assert.Contains(t, err.Error(), "ftp://host")
}

func TestBadClientCertNamesFilesOnly(t *testing.T) {
	_, err := New(Config{Endpoint: "https://127.0.0.1:1", CertFile: "/nonexistent/c.crt", KeyFile: "/nonexistent/c.key"})
	assert.Equal(t, KindConnection, kindOf(err))
	assert.Contains(t, err.Error(), "/nonexistent/c.crt")
}

func TestGetBodyFileAnswers(t *testing.T) {
	ctx := context.Background()
	// LXD answers file endpoints (an ACL's log) with the bytes themselves.
	log := "{\"time\":\"t\",\"action\":\"drop\"}\n\x00\xff"
	f, c := newFake(t, Config{})
	f.Intercept("*", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write([]byte(log))
	}))
	got, err := c.GetBody(ctx, "/1.0/network-acls/a/log", 1<<20)
	require.NoError(t, err)
	assert.Equal(t, []byte(log), got)

	_, err = c.GetBody(ctx, "/1.0/network-acls/a/log", int64(len(log)-1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "larger than")

	c = replying(t, `{"type":"error","error":"Only OVN log entries may be retrieved at this time","error_code":500}`, 500, Config{})
	_, err = c.GetBody(ctx, "/1.0/network-acls/a/log", 1<<20)
	assert.Equal(t, KindAPI, kindOf(err))
	assert.Equal(t, "LXDAPIException: Only OVN log entries may be retrieved at this time", err.Error())

	c = replying(t, `{"type":"error","error":"Network ACL not found","error_code":404}`, 404, Config{})
	_, err = c.GetBody(ctx, "/1.0/network-acls/a/log", 1<<20)
	assert.Equal(t, KindNotFound, kindOf(err))
}

func TestParseServerInfo(t *testing.T) {
	cases := []struct {
		name, meta string
		want       ServerInfo
	}{
		{"trusted LXD", `{"auth":"trusted","api_extensions":["restrict_devlxd"],"environment":{"server":"lxd","server_version":"5.0.2"}}`,
			ServerInfo{Kind: ServerLXD, Version: "5.0.2", Auth: "trusted", Extensions: []string{"restrict_devlxd"}}},
		{"trusted Incus", `{"auth":"trusted","environment":{"server":"incus","server_version":"6.0.4","server_clustered":true}}`,
			ServerInfo{Kind: ServerIncus, Version: "6.0.4", Auth: "trusted", Clustered: true}},
		// What an untrusted client sees (measured on LXD 5.0.2 and Incus 6.0.4).
		{"untrusted Incus", `{"auth":"untrusted","api_extensions":["etag","restrict_dev_incus","dev_incus_events"]}`,
			ServerInfo{Kind: ServerIncus, Auth: "untrusted", Extensions: []string{"etag", "restrict_dev_incus", "dev_incus_events"}}},
		{"untrusted LXD", `{"auth":"untrusted","api_extensions":["etag","restrict_devlxd","devlxd_events"]}`,
			ServerInfo{Kind: ServerLXD, Auth: "untrusted", Extensions: []string{"etag", "restrict_devlxd", "devlxd_events"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseServerInfo(json.RawMessage(tc.meta))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	_, err := ParseServerInfo(json.RawMessage(`[1]`))
	assert.Equal(t, KindConnection, kindOf(err))
}

// fakeServer answers GET /1.0 as server kind and records the headers of
// every other request; other requests get an empty sync answer.
type fakeServer struct {
	kind string
	mu   sync.Mutex
	seen []http.Header
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/1.0" {
		_, _ = w.Write([]byte(`{"type":"sync","status_code":200,"metadata":{"auth":"trusted","environment":{"server":"` + f.kind + `"}}}`))
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, r.Header.Clone())
	f.mu.Unlock()
	_, _ = w.Write([]byte(`{"type":"sync","status_code":200,"metadata":{}}`))
}

func serverHeaderNames(h http.Header) []string {
	var names []string
	for k := range h {
		if strings.HasPrefix(k, lxdHeaderPrefix) || strings.HasPrefix(k, incusHeaderPrefix) {
			names = append(names, k)
		}
	}
	return names
}

// Incus ignores the X-LXD-* names of image-upload and backup-import
// headers: each server gets its own names, learnt from one GET /1.0.
func TestHeadersNamedForTheServer(t *testing.T) {
	for _, tc := range []struct{ kind, prefix string }{{ServerLXD, "X-Lxd-"}, {ServerIncus, "X-Incus-"}} {
		t.Run(tc.kind, func(t *testing.T) {
			f := &fakeServer{kind: tc.kind}
			c := intercepting(t, f.serve, Config{})
			ctx := context.Background()
			require.NoError(t, c.PushFile(ctx, "c1", "/f", FilePush{Type: "file", Mode: 0o640, UID: 1, GID: 2, Content: strings.NewReader("x")}))
			up := ImageUploadRequest(ImageUpload{Rootfs: strings.NewReader("img"), Public: true, Filename: "a.tar",
				Fingerprint: "ab", Properties: map[string]string{"os": "busybox", "b": "1 2"}})
			_, err := c.Do(ctx, up)
			require.NoError(t, err)
			kind, err := c.ServerKind(ctx)
			require.NoError(t, err)
			assert.Equal(t, tc.kind, kind)

			require.Len(t, f.seen, 2)
			file, img := f.seen[0], f.seen[1]
			assert.ElementsMatch(t, []string{tc.prefix + "Type", tc.prefix + "Mode", tc.prefix + "Uid", tc.prefix + "Gid", tc.prefix + "Write"}, serverHeaderNames(file))
			assert.Equal(t, "0640", file.Get(tc.prefix+"mode"))
			assert.Equal(t, "overwrite", file.Get(tc.prefix+"write"))
			assert.ElementsMatch(t, []string{tc.prefix + "Public", tc.prefix + "Filename", tc.prefix + "Fingerprint", tc.prefix + "Properties"}, serverHeaderNames(img))
			assert.Equal(t, "1", img.Get(tc.prefix+"public"))
			assert.Equal(t, []string{"b=1+2", "os=busybox"}, img.Values(tc.prefix+"properties"), "one key=value per header, URL-encoded")
		})
	}
}

// A file answer is read whichever names the server used.
func TestFileHeadersReadFromEitherServer(t *testing.T) {
	for _, prefix := range []string{"X-LXD-", "X-Incus-"} {
		c := intercepting(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(prefix+"type", "file")
			w.Header().Set(prefix+"mode", "0750")
			w.Header().Set(prefix+"uid", "1000")
			w.Header().Set(prefix+"gid", "100")
			_, _ = w.Write([]byte("data"))
		}, Config{})
		info, err := c.StatFile(context.Background(), "c1", "/f", false)
		require.NoError(t, err, prefix)
		assert.Equal(t, FileInfo{Type: "file", Mode: 0o750, UID: 1000, GID: 100}, info, prefix)
	}
	c := replying(t, "data", 200, Config{})
	_, err := c.StatFile(context.Background(), "c1", "/f", false)
	assert.ErrorContains(t, err, "no X-LXD-type or X-Incus-type header")
}

// Incus 6.0 answers a wait on an operation that outlived the wait's timeout,
// or that failed, with an error envelope under HTTP 200; the operation
// itself then tells which (measured on Incus 6.0.4).
func TestWaitOperationIncusErrorEnvelopes(t *testing.T) {
	var mu sync.Mutex
	waits := 0
	c := intercepting(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/wait"):
			waits++
			if waits == 1 {
				_, _ = w.Write([]byte(`{"type":"error","error_code":500,"error":"context deadline exceeded"}`))
				return
			}
			_, _ = w.Write([]byte(`{"type":"error","error_code":400,"error":"Command not found"}`))
		case waits == 1: // GET after the timed-out wait: still running
			_, _ = w.Write([]byte(`{"type":"sync","metadata":{"id":"op1","status":"Running","status_code":103}}`))
		default:
			_, _ = w.Write([]byte(`{"type":"sync","metadata":{"id":"op1","status":"Failure","status_code":400,"err":"Command not found","metadata":{"return":127}}}`))
		}
	}, Config{})
	op, err := c.WaitOperation(context.Background(), &Operation{ID: "op1", StatusCode: 103}, 0)
	assert.ErrorIs(t, err, ErrAPI)
	assert.ErrorContains(t, err, "Command not found")
	require.NotNil(t, op)
	assert.Equal(t, 400, op.StatusCode, "the final operation, read back")
	code, ok := exitCode(op)
	assert.True(t, ok)
	assert.Equal(t, 127, code)
	assert.Equal(t, 2, waits, "a wait that ran out is followed by another")
}

// Messages name the server as it is once the client knows it.
func TestMessagesNameIncus(t *testing.T) {
	f := &fakeServer{kind: ServerIncus}
	c := intercepting(t, f.serve, Config{})
	assert.Equal(t, "LXD", c.name(), "before GET /1.0: the API's name")
	_, err := c.Server(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "Incus", c.name())
	assert.Equal(t, "Incus", c.WithProject("p").name(), "copies share what was learnt")
}

// A client with a request timeout reports a refused connection as such,
// not as a cancellation (the timeout's context is released after the
// error is classified).
func TestTimeoutClientReportsConnectionFailure(t *testing.T) {
	c, err := New(Config{Endpoint: "/nonexistent/lxd.socket", Timeout: time.Minute})
	require.NoError(t, err)
	_, err = c.Server(context.Background())
	assert.Equal(t, KindConnection, kindOf(err), "%v", err)
	assert.ErrorContains(t, err, "cannot talk to LXD at /nonexistent/lxd.socket")
}

// intercepting is a client of the fake LXD (internal/fakelxd) whose every
// request h answers, for tests that shape the server's answers themselves.
func intercepting(t *testing.T, h http.HandlerFunc, cfg Config) *Client {
	f, c := newFake(t, cfg)
	f.Intercept("*", h)
	return c
}

func TestDryRunRefusesWritesOnly(t *testing.T) {
	f, c := newFake(t, Config{DryRun: true})
	ctx := context.Background()
	before := len(f.Requests())

	_, err := c.Do(ctx, &Request{Method: "GET", Path: Path("instances")})
	require.NoError(t, err, "reads go through")

	cases := []struct {
		method, path, want string
	}{
		{"POST", Path("instances"), "DryRun: POST /1.0/instances (would create an instance)"},
		{"PUT", Path("profiles", "web"), `DryRun: PUT /1.0/profiles/web (would change profile "web")`},
		{"PATCH", Path("profiles", "web") + "?x=1", `DryRun: PATCH /1.0/profiles/web (would change profile "web")`},
		{"DELETE", Path("instances", "c1"), `DryRun: DELETE /1.0/instances/c1 (would delete instance "c1")`},
		{"POST", Path("instances", "c1"), `DryRun: POST /1.0/instances/c1 (would rename or move instance "c1")`},
		{"PUT", Path("instances", "c1", "state"), `DryRun: PUT /1.0/instances/c1/state (would change the state of instance "c1")`},
		{"POST", Path("instances", "c1", "exec"), `DryRun: POST /1.0/instances/c1/exec (would run a command in instance "c1")`},
		{"POST", Path("storage-pools"), "DryRun: POST /1.0/storage-pools (would create a storage pool)"},
		{"POST", Path("storage-pools", "default", "volumes", "custom"), "DryRun: POST /1.0/storage-pools/default/volumes/custom (would create a volume)"},
		{"DELETE", Path("storage-pools", "default", "volumes", "custom", "v1"), `DryRun: DELETE /1.0/storage-pools/default/volumes/custom/v1 (would delete volume "v1")`},
		{"DELETE", Path("images", "aliases", "busybox"), `DryRun: DELETE /1.0/images/aliases/busybox (would delete alias "busybox")`},
		{"POST", Path("instances", "c1", "snapshots"), "DryRun: POST /1.0/instances/c1/snapshots (would create a snapshot)"},
		{"PUT", "/1.0", "DryRun: PUT /1.0"},
	}
	for _, tc := range cases {
		_, err := c.Do(ctx, &Request{Method: tc.method, Path: tc.path, Body: map[string]any{}})
		require.Error(t, err, tc.method+" "+tc.path)
		assert.Equal(t, tc.want, err.Error())
		assert.True(t, errors.Is(err, ErrDryRun))
		assert.False(t, errors.Is(err, ErrAPI), "a refusal is not an LXD error")
		var e *Error
		require.True(t, errors.As(err, &e))
		assert.Equal(t, []string{"DryRun"}, e.Kinds())
	}
	assert.Len(t, f.Requests(), before+1, "only the read reached the server")
}

func TestWithDryRunSharesTheClient(t *testing.T) {
	f, c := newFake(t, Config{})
	d := c.WithDryRun()
	assert.True(t, d.DryRun())
	assert.False(t, c.DryRun(), "the original still writes")
	_, err := d.Do(context.Background(), &Request{Method: "DELETE", Path: Path("profiles", "default")})
	assert.True(t, errors.Is(err, ErrDryRun))
	_, ok := f.Get(Path("profiles", "default"))
	assert.True(t, ok)
}

// After a burst of concurrent requests the client leaves no connection that
// has sent nothing: on LXD's and Incus's socket (reproduced by the fake) one
// such connection holds up every other client's requests, LXD's own
// container start hooks among them, until it is used or closed.
func TestConcurrentRequestsLeaveNoSilentConnection(t *testing.T) {
	f, c := newFake(t, Config{})
	f.Intercept("GET /1.0/instances", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond) // requests end while others still connect
		fakelxd.Reply(200, `{"type":"sync","status":"Success","status_code":200,"metadata":[]}`).ServeHTTP(w, r)
	}))
	// A connect that takes a while, as on a loaded machine, lets a request
	// that waits for a connection be served by one freed meanwhile: the
	// transport then keeps the late one, unused, for later.
	connect := c.dial
	c.dial = func(ctx context.Context) (net.Conn, error) {
		time.Sleep(20 * time.Millisecond)
		return connect(ctx)
	}
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * time.Millisecond) // arrivals spread out
			for range 4 {
				if _, err := c.Do(context.Background(), &Request{Method: "GET", Path: "/1.0/instances"}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Another client: a new connection that asks at once.
	conn, err := net.Dial("unix", f.Endpoint())
	require.NoError(t, err)
	defer conn.Close()
	require.NoError(t, conn.SetDeadline(time.Now().Add(5*time.Second)))
	_, err = conn.Write([]byte("GET /1.0 HTTP/1.0\r\nHost: x\r\n\r\n"))
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err, "the server is held up by a connection that sent nothing")
	resp.Body.Close()
}

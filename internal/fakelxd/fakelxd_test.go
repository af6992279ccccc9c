package fakelxd_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

// client speaks raw HTTP to a fake, so that these tests see exactly what
// the fake sends (no lxdstar code in between).
type client struct {
	t    *testing.T
	http *http.Client
	base string
	dial func(ctx context.Context) (net.Conn, error)
	tls  *tls.Config
}

func newClient(t *testing.T, f *fakelxd.Server) *client {
	c := &client{t: t}
	if ep := f.Endpoint(); strings.HasPrefix(ep, "https://") {
		c.base = ep
		c.tls = &tls.Config{InsecureSkipVerify: true}
		c.http = &http.Client{Transport: &http.Transport{TLSClientConfig: c.tls}}
		host := strings.TrimPrefix(ep, "https://")
		c.dial = func(ctx context.Context) (net.Conn, error) { return (&net.Dialer{}).DialContext(ctx, "tcp", host) }
	} else {
		c.base = "http://lxd"
		c.dial = func(ctx context.Context) (net.Conn, error) { return (&net.Dialer{}).DialContext(ctx, "unix", ep) }
		c.http = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return c.dial(ctx)
		}}}
	}
	t.Cleanup(c.http.CloseIdleConnections)
	return c
}

// reply is a parsed response.
type reply struct {
	status int
	header http.Header
	env    map[string]any // the envelope
}

func (r reply) meta() map[string]any {
	m, _ := r.env["metadata"].(map[string]any)
	return m
}

func (r reply) list() []any {
	l, _ := r.env["metadata"].([]any)
	return l
}

func (c *client) do(method, path string, body any, header ...string) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	var env map[string]any
	require.NoError(c.t, json.Unmarshal(data, &env), "body %q", data)
	return reply{resp.StatusCode, resp.Header, env}
}

// wait waits for an async reply's operation to end and returns it.
func (c *client) wait(r reply) map[string]any {
	c.t.Helper()
	require.Equal(c.t, 202, r.status, "%v", r.env)
	id := r.meta()["id"].(string)
	w := c.do("GET", "/1.0/operations/"+id+"/wait?timeout=10", nil)
	require.Equal(c.t, 200, w.status, "%v", w.env)
	return w.meta()
}

func (c *client) ws(path string) *websocket.Conn {
	c.t.Helper()
	d := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) { return c.dial(ctx) },
		TLSClientConfig: c.tls}
	u := strings.Replace(strings.Replace(c.base, "https://", "wss://", 1), "http://", "ws://", 1) + path
	conn, resp, err := d.Dial(u, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	require.NoError(c.t, err)
	c.t.Cleanup(func() { conn.Close() })
	return conn
}

func TestEnvelopeAndServerInfo(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	c := newClient(t, f)
	r := c.do("GET", "/1.0", nil)
	assert.Equal(t, 200, r.status)
	for _, k := range []string{"type", "status", "status_code", "operation", "error_code", "error", "metadata"} {
		assert.Contains(t, r.env, k)
	}
	assert.Equal(t, "sync", r.env["type"])
	assert.Equal(t, "trusted", r.meta()["auth"])
	env := r.meta()["environment"].(map[string]any)
	assert.Equal(t, "lxd", env["server"])
	assert.Equal(t, "5.0.2", env["server_version"])
	// LXD 5.0.2's list (internal/fakelxd/lxd50-extensions.txt), whole and in order.
	exts := r.meta()["api_extensions"].([]any)
	assert.Len(t, exts, 318)
	assert.Equal(t, "storage_zfs_remove_snapshots", exts[0])
	assert.Equal(t, "cpu_hotplug", exts[len(exts)-1])
	assert.Contains(t, exts, "instances")

	r = c.do("GET", "/1.0/nothing", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, map[string]any{"type": "error", "status": "", "status_code": float64(0), "operation": "",
		"error_code": float64(404), "error": "not found", "metadata": nil}, r.env)

	incus := newClient(t, fakelxd.New(t, fakelxd.Config{Server: "incus", Extensions: []string{"x"}}))
	info := incus.do("GET", "/1.0", nil).meta()
	assert.Equal(t, "incus", info["environment"].(map[string]any)["server"])
	assert.Equal(t, "6.0.4", info["environment"].(map[string]any)["server_version"])
	assert.Equal(t, []any{"x"}, info["api_extensions"])
}

func TestUntrustedUntilTrusted(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{Untrusted: true, TrustPassword: "s3cret"})
	c := newClient(t, f)
	r := c.do("GET", "/1.0", nil)
	assert.Equal(t, "untrusted", r.meta()["auth"])
	assert.NotContains(t, r.meta(), "environment")
	assert.Equal(t, 403, c.do("GET", "/1.0/instances", nil).status)
	assert.Equal(t, 403, c.do("POST", "/1.0/certificates", map[string]any{"password": "wrong"}).status)
	assert.Equal(t, 201, c.do("POST", "/1.0/certificates", map[string]any{"trust_token": "s3cret"}).status)
	assert.Equal(t, "trusted", c.do("GET", "/1.0", nil).meta()["auth"])
}

func TestTLSEndpoint(t *testing.T) {
	f := fakelxd.NewTLS(t, fakelxd.Config{})
	require.True(t, strings.HasPrefix(f.Endpoint(), "https://127.0.0.1:"), f.Endpoint())
	assert.Contains(t, string(f.Certificate()), "BEGIN CERTIFICATE")
	c := newClient(t, f)
	assert.Equal(t, "trusted", c.do("GET", "/1.0", nil).meta()["auth"])
}

func TestInstanceCreateIsAsyncWithLocation(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	c := newClient(t, f)
	r := c.do("POST", "/1.0/instances", map[string]any{"name": "c1", "source": map[string]any{"type": "image", "alias": "busybox"}})
	require.Equal(t, 202, r.status)
	assert.Equal(t, "async", r.env["type"])
	assert.Equal(t, float64(100), r.env["status_code"])
	op := r.meta()
	assert.Equal(t, "/1.0/operations/"+op["id"].(string), r.env["operation"])
	assert.Equal(t, r.env["operation"], r.header.Get("Location"))
	assert.Equal(t, "Creating instance", op["description"])
	assert.Equal(t, "Running", op["status"])
	assert.Equal(t, map[string]any{"instances": []any{"/1.0/instances/c1"}, "containers": []any{"/1.0/containers/c1"}}, op["resources"])
	done := c.wait(r)
	assert.Equal(t, "Success", done["status"])

	g := c.do("GET", "/1.0/instances/c1", nil)
	inst := g.meta()
	assert.Equal(t, "Stopped", inst["status"])
	assert.Equal(t, float64(102), inst["status_code"])
	assert.Equal(t, "busybox", inst["config"].(map[string]any)["image.os"])
	assert.Equal(t, fakelxd.BusyboxFingerprint, inst["config"].(map[string]any)["volatile.base_image"])
	assert.Equal(t, map[string]any{"path": "/", "pool": "default", "type": "disk"},
		inst["expanded_devices"].(map[string]any)["root"], "profiles are expanded")
	assert.Equal(t, `"`+f.ETag("/1.0/instances/c1")+`"`, g.header.Get("ETag"))

	// A taken name fails the operation, as LXD 5.0.2 does.
	done = c.wait(c.do("POST", "/1.0/instances", map[string]any{"name": "c1", "source": map[string]any{"type": "none"}}))
	assert.Equal(t, "Failure", done["status"])
	assert.Equal(t, float64(400), done["status_code"])
	assert.Contains(t, done["err"], "already exists")
	// An unknown image is refused at once.
	r = c.do("POST", "/1.0/instances", map[string]any{"name": "c2", "source": map[string]any{"type": "image", "alias": "nope"}})
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "Image alias not found", r.env["error"])
	r = c.do("POST", "/1.0/instances", map[string]any{"name": "c3", "profiles": []any{"nope"}, "source": map[string]any{"type": "none"}})
	assert.Equal(t, 500, r.status)
	assert.Equal(t, `Requested profile "nope" doesn't exist`, r.env["error"])
	r = c.do("POST", "/1.0/instances", map[string]any{"name": "c3", "source": map[string]any{"type": "copy", "source": "zz"}})
	assert.Equal(t, `Failed to fetch instance "zz" in project "default": Instance not found`, r.env["error"])
	r = c.do("POST", "/1.0/instances", map[string]any{"name": "a/b", "source": map[string]any{"type": "none"}})
	assert.Equal(t, `The character "/" is reserved for snapshots`, r.env["error"])
	c.wait(c.do("POST", "/1.0/instances", map[string]any{"name": "c4", "source": map[string]any{"type": "none"}}))
	r = c.do("POST", "/1.0/instances/c4", map[string]any{"name": "c1"})
	assert.Equal(t, 409, r.status, "a taken name is refused before any operation")
	assert.Equal(t, `Name "c1" already in use`, r.env["error"])
	// No name: LXD picks one.
	done = c.wait(c.do("POST", "/1.0/instances", map[string]any{"source": map[string]any{"type": "none"}}))
	assert.Equal(t, "Success", done["status"])
	assert.Len(t, c.do("GET", "/1.0/instances", nil).list(), 3)
}

func TestETagAndIfMatch(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	f.AddInstance("c1", fakelxd.Object{"config": fakelxd.Object{"user.a": "1"}})
	c := newClient(t, f)
	etag := c.do("GET", "/1.0/instances/c1", nil).header.Get("ETag")
	require.NotEmpty(t, etag)

	// Another writer changes the config: the old ETag is stale.
	f.Set("/1.0/instances/c1", fakelxd.Object{"config": fakelxd.Object{"user.a": "2", "volatile.idmap.base": "0"}})
	r := c.do("PUT", "/1.0/instances/c1", map[string]any{"config": map[string]any{"user.a": "3"}}, "If-Match", etag)
	assert.Equal(t, 412, r.status)
	assert.Equal(t, "ETag doesn't match: "+f.ETag("/1.0/instances/c1")+" vs "+strings.Trim(etag, `"`), r.env["error"])
	got, _ := f.Get("/1.0/instances/c1")
	assert.Equal(t, "2", got["config"].(map[string]any)["user.a"], "a stale PUT changes nothing")

	// The description is not part of an instance's ETag (LXD hashes
	// architecture, config, devices, ephemeral and profiles).
	before := f.ETag("/1.0/instances/c1")
	f.Set("/1.0/instances/c1", fakelxd.Object{"description": "x"})
	assert.Equal(t, before, f.ETag("/1.0/instances/c1"))

	// PUT is asynchronous; PATCH merges and is synchronous.
	fresh := c.do("GET", "/1.0/instances/c1", nil).header.Get("ETag")
	done := c.wait(c.do("PUT", "/1.0/instances/c1", map[string]any{
		"config": map[string]any{"user.a": "4", "volatile.idmap.base": "0"}, "profiles": []any{"default"}}, "If-Match", fresh))
	assert.Equal(t, "Success", done["status"], "%v", done)
	r = c.do("PATCH", "/1.0/instances/c1", map[string]any{"config": map[string]any{"user.b": "5"}})
	assert.Equal(t, 200, r.status)
	got, _ = f.Get("/1.0/instances/c1")
	assert.Equal(t, map[string]any{"user.a": "4", "user.b": "5", "volatile.idmap.base": "0"}, got["config"])
	assert.Equal(t, "", got["description"], "PUT replaced the description it did not send")

	// Storage pools: no ETag on GET (LXD 5.0.2), but If-Match is checked.
	assert.Empty(t, c.do("GET", "/1.0/storage-pools/default", nil).header.Get("ETag"))
	assert.Equal(t, 412, c.do("PATCH", "/1.0/storage-pools/default", map[string]any{}, "If-Match", `"zz"`).status)
}

func TestSaveDroppingVolatileIdmapKeysFails(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	f.AddInstance("c1", nil)
	c := newClient(t, f)
	done := c.wait(c.do("PUT", "/1.0/instances/c1", map[string]any{"config": map[string]any{"user.b": "1"}}))
	assert.Equal(t, "Failure", done["status"])
	assert.Equal(t, "Volatile idmap keys can't be deleted by the user", done["err"])
	got, _ := f.Get("/1.0/instances/c1")
	assert.NotContains(t, got["config"], "user.b")
}

func TestListRecursionTypeAndProject(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	f.AddProject("p1", nil)
	f.AddInstance("c1", fakelxd.Object{"status": "Running"})
	f.AddInstance("v1", fakelxd.Object{"type": "virtual-machine"})
	f.AddInstance("c2", fakelxd.Object{"project": "p1"})
	f.AddSnapshot("c1", "s0", nil)
	c := newClient(t, f)

	assert.Equal(t, []any{"/1.0/instances/c1", "/1.0/instances/v1"}, c.do("GET", "/1.0/instances", nil).list())
	assert.Equal(t, []any{"/1.0/instances/c2?project=p1"}, c.do("GET", "/1.0/instances?project=p1", nil).list())
	l := c.do("GET", "/1.0/instances?recursion=1&instance-type=container", nil).list()
	require.Len(t, l, 1)
	assert.Equal(t, "c1", l[0].(map[string]any)["name"])
	assert.NotContains(t, l[0], "state")
	l = c.do("GET", "/1.0/instances?recursion=2", nil).list()
	require.Len(t, l, 2)
	c1, v1 := l[0].(map[string]any), l[1].(map[string]any)
	assert.Equal(t, "Running", c1["state"].(map[string]any)["status"])
	assert.Len(t, c1["snapshots"], 1)
	assert.Nil(t, v1["snapshots"], "LXD 5.0.2 sends null for no snapshots")
	l = c.do("GET", "/1.0/instances?recursion=1&filter=status+eq+Running", nil).list()
	assert.Len(t, l, 1)

	assert.Equal(t, 404, c.do("GET", "/1.0/instances/c2", nil).status, "c2 is in p1 only")
	assert.Equal(t, 200, c.do("GET", "/1.0/instances/c2?project=p1", nil).status)
	r := c.do("GET", "/1.0/profiles?project=nope", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, `Failed loading project "nope": Project not found`, r.env["error"])
	assert.Equal(t, []any{"/1.0/profiles/default?project=p1"}, c.do("GET", "/1.0/profiles?project=p1", nil).list(),
		"a project has its own default profile")
}

func TestInstanceLifecycle(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	f.AddInstance("c1", nil)
	c := newClient(t, f)
	state := func(action string) map[string]any {
		return c.wait(c.do("PUT", "/1.0/instances/c1/state", map[string]any{"action": action, "timeout": 30}))
	}
	assert.Equal(t, "Success", state("start")["status"])
	st := c.do("GET", "/1.0/instances/c1/state", nil).meta()
	assert.Equal(t, "Running", st["status"])
	assert.Equal(t, float64(1), st["processes"])
	op := state("start")
	assert.Equal(t, "Failure", op["status"])
	assert.Equal(t, "The instance is already running", op["err"])

	r := c.do("DELETE", "/1.0/instances/c1", nil)
	assert.Equal(t, 400, r.status)
	assert.Equal(t, "Instance is running", r.env["error"])
	op = c.wait(c.do("POST", "/1.0/instances/c1", map[string]any{"name": "c2"}))
	assert.Equal(t, "Renaming of running container not allowed", op["err"])
	op = state("unfreeze")
	assert.Equal(t, "The container is already running", op["err"])
	assert.Equal(t, "Unknown action: 'bogus'", c.do("PUT", "/1.0/instances/c1/state", map[string]any{"action": "bogus"}).env["error"])
	assert.Equal(t, "Success", state("freeze")["status"])
	r = c.do("POST", "/1.0/instances/c1/exec", map[string]any{"command": []any{"true"}})
	assert.Equal(t, "Instance is frozen", r.env["error"])
	assert.Equal(t, "Success", state("unfreeze")["status"])
	assert.Equal(t, "Success", state("stop")["status"])
	r = c.do("POST", "/1.0/instances/c1/exec", map[string]any{"command": []any{"true"}})
	assert.Equal(t, "Instance is not running", r.env["error"])
	assert.Equal(t, "The instance is already stopped", state("restart")["err"])
	assert.Equal(t, "The container isn't running", state("freeze")["err"])

	c.wait(c.do("POST", "/1.0/instances/c1/snapshots", map[string]any{}))
	assert.Equal(t, []any{"/1.0/instances/c1/snapshots/snap0"}, c.do("GET", "/1.0/instances/c1/snapshots", nil).list())
	assert.Equal(t, "Success", c.wait(c.do("POST", "/1.0/instances/c1", map[string]any{"name": "c2"}))["status"])
	assert.Equal(t, 404, c.do("GET", "/1.0/instances/c1", nil).status)
	assert.Equal(t, 200, c.do("GET", "/1.0/instances/c2/snapshots/snap0", nil).status, "snapshots follow a rename")
	r = c.do("GET", "/1.0/instances/c2/snapshots/nope", nil)
	assert.Equal(t, "Instance not found", r.env["error"], "LXD 5.0.2's wording for a missing snapshot")
	assert.Equal(t, "Success", c.wait(c.do("DELETE", "/1.0/instances/c2", nil))["status"])
	_, ok := f.Get("/1.0/instances/c2/snapshots/snap0")
	assert.False(t, ok)
}

func TestWaitLongPollsAndOperationsAreForgotten(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{ForgetAfter: 200 * time.Millisecond})
	f.AddInstance("c1", nil)
	release := f.Hold("PUT /1.0/instances/*/state")
	c := newClient(t, f)
	r := c.do("PUT", "/1.0/instances/c1/state", map[string]any{"action": "start"})
	id := r.meta()["id"].(string)

	start := time.Now()
	w := c.do("GET", "/1.0/operations/"+id+"/wait?timeout=1", nil)
	assert.GreaterOrEqual(t, time.Since(start), time.Second)
	assert.Equal(t, 200, w.status, "a wait that times out answers the running operation")
	assert.Equal(t, "Running", w.meta()["status"])
	got, _ := f.Get("/1.0/instances/c1")
	assert.Equal(t, "Stopped", got["status"], "a held operation has not acted")

	release()
	w = c.do("GET", "/1.0/operations/"+id+"/wait?timeout=5", nil)
	assert.Equal(t, "Success", w.meta()["status"])
	ops := c.do("GET", "/1.0/operations?recursion=1", nil).meta()
	assert.Len(t, ops["success"], 1)
	assert.Eventually(t, func() bool { _, ok := f.Operation(id); return !ok }, 2*time.Second, 10*time.Millisecond)
	r = c.do("GET", "/1.0/operations/"+id+"/wait", nil)
	assert.Equal(t, 404, r.status)
	assert.Equal(t, "Operation not found", r.env["error"])
}

func TestFailNextLeavesTheServerUntouched(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	f.AddInstance("c1", nil)
	f.FailNext("PUT /1.0/instances/c1/state", "boom")
	c := newClient(t, f)
	op := c.wait(c.do("PUT", "/1.0/instances/c1/state", map[string]any{"action": "start"}))
	assert.Equal(t, "Failure", op["status"])
	assert.Equal(t, "boom", op["err"])
	got, _ := f.Get("/1.0/instances/c1")
	assert.Equal(t, "Stopped", got["status"])
	op = c.wait(c.do("PUT", "/1.0/instances/c1/state", map[string]any{"action": "start"}))
	assert.Equal(t, "Success", op["status"], "FailNext fails one operation")
}

func TestStartOperationAndCancel(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	c := newClient(t, f)
	id := f.StartOperation("Testing", func(ctx context.Context) (fakelxd.Object, error) {
		return fakelxd.Object{"return": 3}, fmt.Errorf("went wrong")
	})
	w := c.do("GET", "/1.0/operations/"+id+"/wait", nil).meta()
	assert.Equal(t, "Failure", w["status"])
	assert.Equal(t, "went wrong", w["err"])
	assert.Equal(t, map[string]any{"return": float64(3)}, w["metadata"], "metadata survives a failure")
	r := c.do("DELETE", "/1.0/operations/"+id, nil)
	assert.Equal(t, 400, r.status)
}

func TestSyncResourcesAsLXDAnswersThem(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	c := newClient(t, f)
	r := c.do("POST", "/1.0/profiles", map[string]any{"name": "web"})
	assert.Equal(t, 201, r.status)
	assert.Equal(t, "/1.0/profiles/web", r.header.Get("Location"))
	assert.Nil(t, r.env["metadata"])
	r = c.do("POST", "/1.0/profiles", map[string]any{"name": "web"})
	assert.Equal(t, 500, r.status)
	assert.Equal(t, `Error inserting "web" into database: The profile already exists`, r.env["error"])
	assert.Equal(t, "No name provided", c.do("POST", "/1.0/profiles", map[string]any{}).env["error"])
	assert.Equal(t, "Profile names may not contain slashes", c.do("POST", "/1.0/profiles", map[string]any{"name": "a/b"}).env["error"])
	assert.Equal(t, 201, c.do("POST", "/1.0/profiles/web", map[string]any{"name": "web2"}).status)
	assert.Equal(t, 200, c.do("DELETE", "/1.0/profiles/web2", nil).status)
	assert.Equal(t, "Profile not found", c.do("DELETE", "/1.0/profiles/web2", nil).env["error"])

	// A project's rename is an operation.
	assert.Equal(t, 201, c.do("POST", "/1.0/projects", map[string]any{"name": "p1"}).status)
	assert.Equal(t, "Success", c.wait(c.do("POST", "/1.0/projects/p1", map[string]any{"name": "p2"}))["status"])
	assert.Equal(t, []any{"/1.0/profiles/default?project=p2"}, c.do("GET", "/1.0/profiles?project=p2", nil).list())

	// Volumes: created with 200, listed with their snapshots.
	r = c.do("POST", "/1.0/storage-pools/default/volumes/custom", map[string]any{"name": "v1"})
	assert.Equal(t, 200, r.status)
	assert.Equal(t, "Volume by that name already exists",
		c.do("POST", "/1.0/storage-pools/default/volumes/custom", map[string]any{"name": "v1"}).env["error"])
	c.wait(c.do("POST", "/1.0/storage-pools/default/volumes/custom/v1/snapshots", map[string]any{"name": "s1"}))
	l := c.do("GET", "/1.0/storage-pools/default/volumes?recursion=1", nil).list()
	require.Len(t, l, 2)
	assert.Equal(t, "v1/s1", l[1].(map[string]any)["name"])
	assert.Equal(t, "s1", c.do("GET", "/1.0/storage-pools/default/volumes/custom/v1/snapshots/s1", nil).meta()["name"])

	// Paths the fake has no model for are a plain store.
	assert.Equal(t, []any{}, c.do("GET", "/1.0/certificates", nil).list())
	f.Add("/1.0/certificates/abc", fakelxd.Object{"fingerprint": "abc", "name": "x"})
	assert.Equal(t, []any{"/1.0/certificates/abc"}, c.do("GET", "/1.0/certificates", nil).list())
	assert.Equal(t, 200, c.do("PATCH", "/1.0/certificates/abc", map[string]any{"name": "y"}).status)
	got, _ := f.Get("/1.0/certificates/abc")
	assert.Equal(t, "y", got["name"])
}

func TestImagesUploadAliasAndExport(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	c := newClient(t, f)
	data := []byte("a tarball")
	sum := sha256.Sum256(data)
	fp := hex.EncodeToString(sum[:])
	req, _ := http.NewRequest("POST", c.base+"/1.0/images", bytes.NewReader(data))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-LXD-fingerprint", fp)
	resp, err := c.http.Do(req)
	require.NoError(t, err)
	var env map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
	resp.Body.Close()
	op := c.wait(reply{202, resp.Header, env})
	assert.Equal(t, fp, op["metadata"].(map[string]any)["fingerprint"])

	assert.Equal(t, 201, c.do("POST", "/1.0/images/aliases", map[string]any{"name": "ubuntu/22.04", "target": fp}).status)
	alias := c.do("GET", "/1.0/images/aliases/ubuntu%2F22.04", nil)
	assert.Equal(t, fp, alias.meta()["target"])
	img := c.do("GET", "/1.0/images/"+fp[:12], nil).meta()
	assert.Equal(t, []any{map[string]any{"name": "ubuntu/22.04", "description": ""}}, img["aliases"])

	resp, err = c.http.Get(c.base + "/1.0/images/" + fp + "/export")
	require.NoError(t, err)
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, data, got)
	assert.Equal(t, "Success", c.wait(c.do("DELETE", "/1.0/images/"+fp, nil))["status"])
	assert.Equal(t, 404, c.do("GET", "/1.0/images/aliases/ubuntu%2F22.04", nil).status)
}

// execStart starts cmd in c1 and connects its websockets.
func execStart(t *testing.T, c *client, cmd []any, control bool) (reply, map[string]*websocket.Conn) {
	r := c.do("POST", "/1.0/instances/c1/exec", map[string]any{"command": cmd, "wait-for-websocket": true})
	require.Equal(t, 202, r.status, "%v", r.env)
	op := r.meta()
	assert.Equal(t, "websocket", op["class"])
	fds := op["metadata"].(map[string]any)["fds"].(map[string]any)
	names := []string{"0", "1", "2"}
	if control {
		names = append([]string{"control"}, names...)
	}
	conns := map[string]*websocket.Conn{}
	for _, fd := range names {
		conns[fd] = c.ws(fmt.Sprintf("/1.0/operations/%s/websocket?secret=%s", op["id"], fds[fd]))
	}
	return r, conns
}

// readOutput reads a stream until LXD's end-of-stream marker.
func readOutput(t *testing.T, conn *websocket.Conn) string {
	var b strings.Builder
	for {
		mt, data, err := conn.ReadMessage()
		require.NoError(t, err)
		if mt == websocket.TextMessage {
			return b.String()
		}
		b.Write(data)
	}
}

func TestExecWebsockets(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	f.AddInstance("c1", fakelxd.Object{"status": "Running"})
	c := newClient(t, f)

	r, ws := execStart(t, c, []any{"cat"}, false)
	require.NoError(t, ws["0"].WriteMessage(websocket.BinaryMessage, []byte("hello ")))
	require.NoError(t, ws["0"].WriteMessage(websocket.BinaryMessage, []byte("world")))
	require.NoError(t, ws["0"].WriteMessage(websocket.TextMessage, nil))
	assert.Equal(t, "hello world", readOutput(t, ws["1"]))
	assert.Equal(t, "", readOutput(t, ws["2"]))
	op := c.wait(r)
	assert.Equal(t, "Success", op["status"])
	assert.Equal(t, float64(0), op["metadata"].(map[string]any)["return"])

	// A scripted handler decides output and exit code.
	f.HandleExec(func(x *fakelxd.Exec) int {
		fmt.Fprint(x.Stderr, "oops")
		fmt.Fprint(x.Stdout, strings.Join(x.Command, "+"))
		return 42
	})
	r, ws = execStart(t, c, []any{"a", "b"}, false)
	assert.Equal(t, "a+b", readOutput(t, ws["1"]))
	assert.Equal(t, "oops", readOutput(t, ws["2"]))
	assert.Equal(t, float64(42), c.wait(r)["metadata"].(map[string]any)["return"])

	// Closing stdout without a control socket kills the command.
	killed := make(chan bool, 1)
	f.HandleExec(func(x *fakelxd.Exec) int {
		select {
		case <-x.Killed:
			killed <- true
		case <-time.After(5 * time.Second):
			killed <- false
		}
		return 137
	})
	r, ws = execStart(t, c, []any{"sleep", "60"}, false)
	ws["1"].Close()
	assert.True(t, <-killed)
	assert.Equal(t, float64(137), c.wait(r)["metadata"].(map[string]any)["return"])

	// With control connected, a closed stdout is no kill; signal 9 is.
	r, ws = execStart(t, c, []any{"sleep", "60"}, true)
	ws["1"].Close()
	select {
	case <-killed:
		t.Fatal("killed by a closed stdout while control is connected")
	case <-time.After(100 * time.Millisecond):
	}
	require.NoError(t, ws["control"].WriteJSON(map[string]any{"command": "signal", "signal": 9}))
	assert.True(t, <-killed)
	c.wait(r)

	// Unknown commands fail the operation yet report 127, as LXD 5.0.2 does.
	f.HandleExec(fakelxd.DefaultExec)
	r, ws = execStart(t, c, []any{"nope"}, false)
	op = c.wait(r)
	assert.Equal(t, "Failure", op["status"])
	assert.Equal(t, "Command not found", op["err"])
	assert.Equal(t, float64(127), op["metadata"].(map[string]any)["return"])

	// A wrong secret: LXD 5.0.2 answers 500 "permission denied".
	r = c.do("GET", fmt.Sprintf("/1.0/operations/%s/websocket?secret=wrong", r.meta()["id"]), nil)
	assert.Equal(t, 500, r.status)
	assert.Equal(t, "permission denied", r.env["error"])
}

func TestExecWithoutWebsocketsRunsAtOnce(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	f.AddInstance("c1", fakelxd.Object{"status": "Running"})
	c := newClient(t, f)
	r := c.do("POST", "/1.0/instances/c1/exec", map[string]any{"command": []any{"false"}})
	assert.Equal(t, "task", r.meta()["class"])
	assert.Nil(t, r.meta()["metadata"], "LXD 5.0.2 shows no command, environment or fds then")
	assert.Equal(t, float64(1), c.wait(r)["metadata"].(map[string]any)["return"])
	op := c.wait(c.do("POST", "/1.0/instances/c1/exec", map[string]any{"command": []any{}}))
	assert.Equal(t, "Failed to retrieve PID of executing child process", op["err"])
}

func TestEvents(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	f.AddInstance("c1", nil)
	c := newClient(t, f)
	ws := c.ws("/1.0/events?type=lifecycle")
	ls := f.WaitListeners(1)
	require.Len(t, ls, 1)
	assert.Equal(t, "lifecycle", ls[0].Query.Get("type"))

	c.wait(c.do("PUT", "/1.0/instances/c1/state", map[string]any{"action": "start"}))
	var ev map[string]any
	require.NoError(t, ws.ReadJSON(&ev))
	assert.Equal(t, "lifecycle", ev["type"], "operation events are filtered out")
	assert.Equal(t, "instance-started", ev["metadata"].(map[string]any)["action"])
	assert.Equal(t, "/1.0/instances/c1", ev["metadata"].(map[string]any)["source"])

	f.Emit(fakelxd.Object{"type": "logging", "metadata": fakelxd.Object{"message": "skipped"}})
	f.Emit(fakelxd.Object{"type": "lifecycle", "metadata": fakelxd.Object{"action": "custom"}})
	require.NoError(t, ws.ReadJSON(&ev))
	assert.Equal(t, "custom", ev["metadata"].(map[string]any)["action"])
	assert.NotEmpty(t, ev["timestamp"])

	require.NoError(t, ls[0].Send([]byte("not json")))
	_, data, err := ws.ReadMessage()
	require.NoError(t, err)
	assert.Equal(t, "not json", string(data))
	ls[0].Drop()
	_, _, err = ws.ReadMessage()
	assert.Error(t, err)
}

func TestInterceptsAndCounts(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	c := newClient(t, f)
	f.InterceptN("GET /1.0/instances", 1, fakelxd.Reply(502, `{"type":"error","error":"bad gateway","error_code":502}`))
	r := c.do("GET", "/1.0/instances?recursion=1", nil)
	assert.Equal(t, 502, r.status)
	assert.Equal(t, 200, c.do("GET", "/1.0/instances?recursion=1", nil).status, "InterceptN(1) is used up")

	remove := f.Intercept("/1.0/profiles/**", fakelxd.Reply(200, `{"type":"sync","metadata":"mine"}`))
	assert.Equal(t, "mine", c.do("GET", "/1.0/profiles/default", nil).env["metadata"])
	remove()
	assert.Equal(t, "default", c.do("GET", "/1.0/profiles/default", nil).meta()["name"])

	f.InterceptN("*", 1, fakelxd.Cut("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"type\":"))
	_, err := c.http.Get(c.base + "/1.0")
	if err == nil {
		t.Log("the cut surfaced while reading the body") // net/http may defer it
	}

	f.InterceptN("GET /1.0", 1, fakelxd.Stall(""))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/1.0", nil)
	start := time.Now()
	_, err = c.http.Do(req)
	assert.Error(t, err)
	assert.Less(t, time.Since(start), 10*time.Second)

	assert.Equal(t, 2, f.Count("GET /1.0/instances"))
	assert.Equal(t, 2, f.Count("GET /1.0/profiles/*"))
	assert.Equal(t, 2, f.Count("/1.0"), "the cut and the stalled request")
	last := f.Requests()[len(f.Requests())-1]
	assert.Equal(t, "GET /1.0", last.String())
}

func TestRequestBodiesAreRecorded(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	c := newClient(t, f)
	c.do("POST", "/1.0/profiles", map[string]any{"name": "p", "config": map[string]any{"user.x": "1"}}, "If-Match", `"e"`)
	reqs := f.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, map[string]any{"name": "p", "config": map[string]any{"user.x": "1"}}, reqs[0].JSON())
	assert.Equal(t, `"e"`, reqs[0].Header.Get("If-Match"))
}

func TestInstanceBackups(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	f.AddInstance("c1", fakelxd.Object{"description": "the original"})
	c := newClient(t, f)
	r := c.do("POST", "/1.0/instances/c1/backups", map[string]any{"name": "b1", "instance_only": true})
	assert.Equal(t, map[string]any{"backups": []any{"/1.0/backups/b1"}, "instances": []any{"/1.0/instances/c1"},
		"containers": []any{"/1.0/containers/c1"}}, r.meta()["resources"], "LXD 5.0.2 names the backup so")
	assert.Equal(t, "Success", c.wait(r)["status"])
	assert.Equal(t, "Success", c.wait(c.do("POST", "/1.0/instances/c1/backups", map[string]any{}))["status"])
	assert.Equal(t, []any{"/1.0/instances/c1/backups/b1", "/1.0/instances/c1/backups/backup1"},
		c.do("GET", "/1.0/instances/c1/backups", nil).list(), "LXD picks a name when none is given")
	b := c.do("GET", "/1.0/instances/c1/backups/b1", nil).meta()
	assert.Equal(t, true, b["instance_only"])
	assert.Equal(t, "0001-01-01T00:00:00Z", b["expires_at"])
	op := c.wait(c.do("POST", "/1.0/instances/c1/backups", map[string]any{"name": "b1"}))
	assert.Equal(t, `Create backup: Backup "b1" already exists`, op["err"])
	r = c.do("PUT", "/1.0/instances/c1/backups/b1", map[string]any{"expires_at": "2030-01-01T00:00:00Z"})
	assert.Equal(t, 501, r.status)
	assert.Equal(t, "not implemented", r.env["error"])
	assert.Equal(t, "Load backup from database: Instance backup not found", c.do("GET", "/1.0/instances/c1/backups/nope", nil).env["error"])
	assert.Equal(t, "Success", c.wait(c.do("POST", "/1.0/instances/c1/backups/backup1", map[string]any{"name": "b2"}))["status"])
	assert.Equal(t, "Success", c.wait(c.do("DELETE", "/1.0/instances/c1/backups/b2", nil))["status"])
	assert.Equal(t, []any{"/1.0/instances/c1/backups/b1"}, c.do("GET", "/1.0/instances/c1/backups", nil).list())

	// The export restores, under its own name or another, in a pool that
	// exists.
	resp, err := c.http.Get(c.base + "/1.0/instances/c1/backups/b1/export")
	require.NoError(t, err)
	file, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"))
	restore := func(header ...string) reply {
		req, _ := http.NewRequest("POST", c.base+"/1.0/instances", bytes.NewReader(file))
		req.Header.Set("Content-Type", "application/octet-stream")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := c.http.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var env map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&env))
		return reply{resp.StatusCode, resp.Header, env}
	}
	op = c.wait(restore())
	assert.Equal(t, "Create instance from backup: Cannot restore volume, already exists on target", op["err"])
	r = restore("X-LXD-name", "c2", "X-LXD-pool", "default")
	assert.Equal(t, []any{"/1.0/instances/c2"}, r.meta()["resources"].(map[string]any)["instances"])
	assert.Equal(t, "Success", c.wait(r)["status"])
	c2 := c.do("GET", "/1.0/instances/c2", nil).meta()
	assert.Equal(t, "the original", c2["description"])
	assert.Equal(t, "Stopped", c2["status"])
	assert.Equal(t, "Success", c.wait(restore("X-Incus-name", "c3"))["status"], "Incus's header name too")
	assert.Equal(t, 404, restore("X-LXD-name", "c4", "X-LXD-pool", "nope").status)
	file = []byte("not a backup")
	assert.Equal(t, "Unsupported compression", restore("X-LXD-name", "c5").env["error"])
}

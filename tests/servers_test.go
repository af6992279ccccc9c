package tests

// LXD and Incus side by side: which server a client talks to, a server that
// is neither, and copies, migrations and image copies between the two.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// displayName is how messages name a server.
func (s server) displayName() string {
	return map[string]string{"lxd": "LXD", "incus": "Incus"}[s.Name]
}

// client.server and client.server_version, trusted (unix socket) and
// untrusted (HTTPS with a certificate the server does not know, to which it
// shows no environment: the server is then told by its API extensions).
func TestClientServerAndVersion(t *testing.T) { parallelOnEachServer(t, testClientServerAndVersion) }

func testClientServerAndVersion(t *testing.T, srv server) {
	env := serverObject(t, restClient(t, srv.Socket), "/1.0")["environment"].(map[string]any)
	require.Equal(t, srv.Name, env["server"], "the test bed's layout")
	cert := newTestCert(t, t.TempDir(), "stranger")
	out := newScript(t, srv.Socket).with("url", str(srv.HTTPS)).with("crt", str(cert.crtFile)).with("key", str(cert.keyFile)).mustRun(`
c = lxd.Client()
print(c.server, c.server_version, c.trusted)
u = lxd.Client(endpoint=url, verify=False, cert=(crt, key))
print(u.server, u.server_version, u.trusted, "environment" in u.host_info)
`)
	assert.Equal(t, fmt.Sprintf("%s %s True\n%s None False False\n", srv.Name, env["server_version"], srv.Name), out)
}

// A web server that is neither LXD nor Incus fails at lxd.Client() with
// ClientConnectionFailed naming its URL, whatever it answers.
func TestNeitherLXDNorIncus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		status int
		ctype  string
		body   string
	}{
		{"html page", 200, "text/html", "<html><body>It works!</body></html>"},
		{"not found", 404, "text/plain", "404 page not found"},
		{"other JSON API", 200, "application/json", `{"status": "ok", "version": "1.2"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(web.Close)
			out := newScript(t, mainSocket).with("url", str(web.URL)).mustRun(`
r = catch(lxd.Client, url, verify=False)
print(r.error.kind)
print(r.error.message)
`)
			kind, msg, _ := strings.Cut(out, "\n")
			assert.Equal(t, "ClientConnectionFailed", kind)
			assert.True(t, strings.HasPrefix(msg, web.URL+" is neither an LXD nor an Incus server: "), "message: %q", msg)
		})
	}
}

// newBodyRecorder puts a proxy in front of the daemon at upstream that
// records the JSON body of every POST /1.0/images (where a copy names its
// source's protocol) and returns the proxy's socket.
func newBodyRecorder(t *testing.T, upstream string) (socket string, bodies func() []map[string]any) {
	t.Helper()
	var mu sync.Mutex
	var seen []map[string]any
	socket = unixProxy(t, upstream, func(rp *httputil.ReverseProxy) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "POST" && r.URL.Path == "/1.0/images" {
				data, _ := io.ReadAll(r.Body)
				r.Body = io.NopCloser(bytes.NewReader(data))
				var m map[string]any
				if json.Unmarshal(data, &m) == nil {
					mu.Lock()
					seen = append(seen, m)
					mu.Unlock()
				}
			}
			rp.ServeHTTP(w, r)
		})
	})
	return socket, func() []map[string]any {
		mu.Lock()
		defer mu.Unlock()
		return append([]map[string]any(nil), seen...)
	}
}

// uploadTestImage puts a fresh private image on the server at socket and
// returns its fingerprint (deleted when the test ends).
func uploadTestImage(t *testing.T, socket, tag string) string {
	t.Helper()
	img := issue3Image(t, socket, tag)
	c := restClient(t, socket)
	require.NoError(t, sendAndWait(c, rest.ImageUploadRequest(rest.ImageUpload{Rootfs: bytes.NewReader(img.unified), Fingerprint: img.fp}), time.Minute))
	return img.fp
}

// Image.copy between LXD and Incus, both ways, and between two projects of
// one Incus server; the target pulls with the protocol the source speaks as
// far as the target knows it. Results are read back from the target.
func TestImageCopyBetweenLXDAndIncus(t *testing.T) {
	t.Parallel()
	needSocket(t, incusSocket)
	lx, ic := lxdServer(), incusServer()
	incusProject := uniqueName("imgp")
	icc := restClient(t, ic.Socket)
	cleanupPath(t, icc, rest.Path("projects", incusProject)) // after the image in it is gone
	_, err := icc.Do(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("projects"),
		Body: map[string]any{"name": incusProject, "config": map[string]string{"features.images": "true", "features.profiles": "false"}}})
	require.NoError(t, err)

	for _, tc := range []struct {
		name     string
		from, to server
		project  string
		protocol string
	}{
		{"lxd to incus", lx, ic, "", "lxd"},
		{"incus to lxd", ic, lx, "", "lxd"}, // LXD 5.0.2 fails "Unsupported protocol: incus"
		{"incus to incus", ic, ic, incusProject, "incus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp := uploadTestImage(t, tc.from.Socket, uniqueName("xcopy"))
			target := restClient(t, tc.to.Socket).WithProject(tc.project)
			t.Cleanup(func() { deletePath(target, rest.Path("images", fp)) })
			proxy, bodies := newBodyRecorder(t, tc.to.Socket)
			alias := uniqueName("xalias")
			out := newScript(t, tc.from.Socket).with("fp", str(fp)).with("dst", str(proxy)).with("alias", str(alias)).
				with("project", str(tc.project)).mustRun(`
src = lxd.Client()
dst = lxd.Client(dst, project=project or None)
img = src.images.get(fp).copy(dst, alias=alias, wait=True)
print(img.fingerprint == fp, [a["name"] for a in img.aliases] == [alias], img.public, dst.server)
`)
			assert.Equal(t, fmt.Sprintf("True True False %s\n", tc.to.Name), out)
			got := serverObject(t, target, rest.Path("images", fp))
			assert.Equal(t, fp, got["fingerprint"], "the image is on the target")
			assert.Equal(t, fp, serverObject(t, target, rest.Path("images", "aliases", alias))["target"])
			require.Len(t, bodies(), 1)
			source := bodies()[0]["source"].(map[string]any)
			assert.Equal(t, tc.protocol, source["protocol"], "protocol named to the target")
			assert.Equal(t, tc.from.HTTPS, source["server"], "pulled from the source's HTTPS address")
		})
	}
}

// copy and migrate in both directions between LXD 5.0 and Incus 6.0: the
// definition and the files arrive; a migrated instance leaves its source.
func TestCopyAndMigrateBetweenLXDAndIncus(t *testing.T) {
	t.Parallel()
	for _, dir := range []struct{ from, to server }{{lxdServer(), incusServer()}, {incusServer(), lxdServer()}} {
		t.Run(dir.from.Name+" to "+dir.to.Name, func(t *testing.T) {
			t.Parallel()
			needSocket(t, dir.from.Socket)
			needSocket(t, dir.to.Socket)
			name, copied := uniqueName("xmig"), uniqueName("xcopy")
			src, dst := restClient(t, dir.from.Socket), restClient(t, dir.to.Socket)
			cleanupInstance(t, dir.to.Socket, name)
			cleanupInstance(t, dir.to.Socket, copied)
			createDefinedInstance(t, dir.from.Socket, map[string]any{"name": name, "description": "crossing",
				"config": map[string]any{"user.app": "web", "limits.memory": "96MB"}})
			pushFile(t, src, name, "/root/marker", []byte("from "+dir.from.Name+"\n"))
			srcUUID := serverObject(t, src, rest.Path("instances", name))["config"].(map[string]any)["volatile.uuid"]

			out := newScript(t, dir.from.Socket).with("name", str(name)).with("copied", str(copied)).
				with("dst", str(dir.to.Socket)).mustRun(`
c, d = lxd.Client(), lxd.Client(dst)
inst = c.instances.get(name)
cp = inst.copy(copied, new_client=d, wait=True)
print(cp.name, cp.status, cp.config["user.app"], cp.description)
moved = inst.migrate(d, wait=True)
print(moved.name, moved.config["user.app"], c.instances.exists(name), d.instances.exists(name))
moved.start(wait=True)
print(moved.status, moved.execute(["cat", "/root/marker"]).stdout.strip())
moved.stop(force=True, wait=True)
`)
			assert.Equal(t, fmt.Sprintf("%s Stopped web crossing\n%s web False True\nRunning from %s\n", copied, name, dir.from.Name), out)
			for _, n := range []string{copied, name} {
				got := serverObject(t, dst, rest.Path("instances", n))
				cfg := got["config"].(map[string]any)
				assert.Equal(t, "web", cfg["user.app"], n)
				assert.Equal(t, "96MB", cfg["limits.memory"], n)
				assert.Equal(t, "crossing", got["description"], n)
				assert.NotEqual(t, srcUUID, cfg["volatile.uuid"], "%s: volatile.* keys are not copied", n)
				assert.Equal(t, "from "+dir.from.Name+"\n", string(pullFile(t, dst, n, "/root/marker")), n)
			}
			assert.False(t, serverExists(t, src, rest.Path("instances", name)), "a migration removes the source")
		})
	}
}

// LXD 5.0 refuses an Incus snapshot (Incus keeps keys in the snapshot's
// config that LXD 5.0 does not know, volatile.last_state.ready and
// volatile.uuid.generation among them): the error says LXD,
// the target, refused, and why; the source is untouched and nothing is left
// on the target. Without its snapshots (instance_only) the copy works.
func TestCopyRefusedBetweenServersNamesTheRefuser(t *testing.T) {
	t.Parallel()
	lx, ic := lxdServer(), incusServer()
	needSocket(t, lx.Socket)
	needSocket(t, ic.Socket)
	name, copied := uniqueName("xref"), uniqueName("xref-cp")
	// Started once before the snapshot, as any instance in use: that is
	// when Incus sets volatile.last_state.ready.
	createInstance(t, ic.Socket, name, true)
	cleanupInstance(t, lx.Socket, copied)
	src, dst := restClient(t, ic.Socket), restClient(t, lx.Socket)
	out := newScript(t, ic.Socket).with("name", str(name)).with("copied", str(copied)).with("dst", str(lx.Socket)).mustRun(`
inst = lxd.Client().instances.get(name)
inst.stop(force=True, wait=True)
inst.snapshots.create("s1", wait=True)
lx = lxd.Client(dst)
r = catch(inst.copy, copied, new_client=lx, wait=True)
print(r.error.kind)
print(r.error.message)
print(lx.instances.exists(copied), [s.name for s in inst.snapshots.all()])
cp = inst.copy(copied, new_client=lx, instance_only=True, wait=True)
print(cp.name, [s.name for s in cp.snapshots.all()])
`)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 4, out)
	assert.Equal(t, "LXDAPIException", lines[0])
	assert.True(t, strings.HasPrefix(lines[1], fmt.Sprintf("LXD at %s (target): refused the copy of instance %q from Incus at %s: ", lx.Socket, name, ic.Socket)), "message: %q", lines[1])
	assert.Contains(t, lines[1], "Unknown configuration key: volatile.", "LXD's reason (which key first varies)")
	assert.Equal(t, `False ["s1"]`, lines[2], "nothing on the target, the source untouched")
	assert.Equal(t, copied+" []", lines[3])
	r, err := dst.Do(context.Background(), &rest.Request{Method: "GET", Path: rest.Path("instances", copied, "snapshots")})
	require.NoError(t, err)
	var snaps []string
	require.NoError(t, r.Decode(&snaps))
	assert.Empty(t, snaps, "the copy on LXD has no snapshot")
	assert.Equal(t, "container", serverObject(t, dst, rest.Path("instances", copied))["type"])
	assert.True(t, serverExists(t, src, rest.Path("instances", name, "snapshots", "s1")))
}

// An image upload's headers (public, filename, properties) reach either
// server under its own names: Incus ignores X-LXD-* ones here.
func TestImageUploadHeadersReachEitherServer(t *testing.T) {
	parallelOnEachServer(t, testImageUploadHeadersReachEitherServer)
}

func testImageUploadHeadersReachEitherServer(t *testing.T, srv server) {
	img := issue3Image(t, srv.Socket, uniqueName("hdr"))
	c := restClient(t, srv.Socket)
	require.NoError(t, sendAndWait(c, rest.ImageUploadRequest(rest.ImageUpload{Rootfs: bytes.NewReader(img.unified),
		Fingerprint: img.fp, Public: true, Filename: "busybox-hdr.tar.gz",
		Properties: map[string]string{"lxdstar.tag": "a b&c"}}), time.Minute))
	got := serverObject(t, c, rest.Path("images", img.fp))
	assert.Equal(t, true, got["public"])
	assert.Equal(t, "busybox-hdr.tar.gz", got["filename"])
	assert.Equal(t, "a b&c", got["properties"].(map[string]any)["lxdstar.tag"])
}

// pushFile writes a file into an instance through the REST API.
func pushFile(t *testing.T, c *rest.Client, inst, path string, data []byte) {
	t.Helper()
	_, err := c.Do(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("instances", inst, "files"),
		Query: url.Values{"path": {path}}, Body: data,
		Header: http.Header{"X-LXD-type": {"file"}, "X-LXD-mode": {"0644"}, "X-LXD-uid": {"0"}, "X-LXD-gid": {"0"}}})
	require.NoError(t, err, "pushing %s to %s", path, inst)
}

// pullFile reads a file from an instance through the REST API.
func pullFile(t *testing.T, c *rest.Client, inst, path string) []byte {
	t.Helper()
	resp, cancel, err := c.Raw(context.Background(), &rest.Request{Method: "GET", Path: rest.Path("instances", inst, "files"), Query: url.Values{"path": {path}}})
	require.NoError(t, err)
	defer cancel()
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "GET %s from %s: %s", path, inst, data)
	return data
}

// createProfile makes a profile on a server for the test's duration.
func createProfile(t *testing.T, c *rest.Client, name string) {
	t.Helper()
	_, err := c.Do(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("profiles"),
		Body: map[string]any{"name": name, "config": map[string]any{"user.profile": name}}})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = c.Do(context.Background(), &rest.Request{Method: "DELETE", Path: rest.Path("profiles", name)})
	})
}

// createDefinedInstance creates a stopped instance with a given definition.
func createDefinedInstance(t *testing.T, socket string, body map[string]any) {
	t.Helper()
	c := restClient(t, socket)
	name := body["name"].(string)
	t.Cleanup(func() { deleteInstance(c, name) })
	body["source"] = map[string]any{"type": "image", "alias": imageAlias}
	require.NoError(t, c.SendAndWait(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("instances"), Body: body}))
}

func TestMigrateToAnotherServer(t *testing.T) {
	t.Parallel()
	name, prof := uniqueName("mig"), uniqueName("prof")
	src, dst := restClient(t, mainSocket), restClient(t, secondSocket)
	createProfile(t, src, prof)
	createProfile(t, dst, prof)
	cleanupInstance(t, secondSocket, name)
	createDefinedInstance(t, mainSocket, map[string]any{"name": name, "ephemeral": true, "profiles": []string{"default", prof},
		"config": map[string]any{"user.app": "web", "limits.memory": "96MB"}, "description": "migrating"})
	pushFile(t, src, name, "/root/marker", []byte("moved with me\n"))
	srcObj := serverObject(t, src, rest.Path("instances", name))

	out := newScript(t, "").with("name", str(name)).with("second", str(secondSocket)).mustRun(`
c = lxd.Client()
inst = c.instances.get(name)
moved = inst.migrate(lxd.Client(second), wait=True)
print(moved.name, moved.ephemeral, moved.profiles[1] == inst.profiles[1], moved.config["user.app"], moved.type)
print(c.instances.exists(name), lxd.Client(second).instances.exists(name))
`)
	assert.Equal(t, fmt.Sprintf("%s True True web container\nFalse True\n", name), out)
	assert.False(t, serverExists(t, src, rest.Path("instances", name)), "the source is gone")
	got := serverObject(t, dst, rest.Path("instances", name))
	assert.Equal(t, true, got["ephemeral"])
	assert.Equal(t, []any{"default", prof}, got["profiles"])
	assert.Equal(t, "container", got["type"])
	assert.Equal(t, "migrating", got["description"])
	cfg := got["config"].(map[string]any)
	assert.Equal(t, "web", cfg["user.app"])
	assert.Equal(t, "96MB", cfg["limits.memory"])
	srcCfg := srcObj["config"].(map[string]any)
	assert.NotEqual(t, srcCfg["volatile.uuid"], cfg["volatile.uuid"], "volatile.* keys are not copied")
	assert.Equal(t, "moved with me\n", string(pullFile(t, dst, name, "/root/marker")))
}

func TestFailedMigrationLeavesSource(t *testing.T) {
	t.Parallel()
	name := newInstance(t, mainSocket, "migfail", false)
	createInstance(t, secondSocket, name, false) // the name is taken on the target
	src := restClient(t, mainSocket)
	out := newScript(t, "").with("name", str(name)).with("second", str(secondSocket)).mustRun(`
c = lxd.Client()
inst = c.instances.get(name)
r = catch(inst.migrate, lxd.Client(second), wait=True)
print(r.error.kind, c.instances.exists(name))
inst.start(wait=True)
print(inst.status)
`)
	assert.Equal(t, "Conflict True\nRunning\n", out)
	assert.True(t, serverExists(t, src, rest.Path("instances", name)))
}

func TestMigrateRunningWithoutLiveRefused(t *testing.T) {
	t.Parallel()
	name := newInstance(t, mainSocket, "migrun", true)
	cleanupInstance(t, secondSocket, name)
	out := newScript(t, "").with("name", str(name)).with("second", str(secondSocket)).mustRun(`
inst = lxd.Client().instances.get(name)
r = catch(inst.migrate, lxd.Client(second), wait=True)
print(r.error.kind, "live=True" in r.error.message, inst.status)
`)
	assert.Equal(t, "LXDAPIException True Running\n", out)
	assert.Equal(t, "Running", instanceStatus(t, restClient(t, mainSocket), name))
	assert.False(t, serverExists(t, restClient(t, secondSocket), rest.Path("instances", name)))
}

func TestCopyToSecondServerAndClusterMember(t *testing.T) {
	t.Parallel()
	name := uniqueName("cpsrc")
	toSecond, toNode2 := uniqueName("cp2"), uniqueName("cpn2")
	createInstance(t, mainSocket, name, false)
	cleanupInstance(t, secondSocket, toSecond)
	payload := []byte("copied content\n")
	pushFile(t, restClient(t, mainSocket), name, "/root/marker", payload)

	out := newScript(t, "").with("name", str(name)).with("to_second", str(toSecond)).with("second", str(secondSocket)).mustRun(`
inst = lxd.Client().instances.get(name)
copy = inst.copy(to_second, new_client=lxd.Client(second), wait=True)
copy.start(wait=True)
print(copy.name, copy.status, inst.status)
`)
	assert.Equal(t, toSecond+" Running Stopped\n", out)
	assert.Equal(t, payload, pullFile(t, restClient(t, secondSocket), toSecond, "/root/marker"))
	assert.True(t, serverExists(t, restClient(t, mainSocket), rest.Path("instances", name)), "copy keeps the source")

	// Within the cluster: from node1 to member node2.
	clusterSrc := newInstance(t, node1Socket, "cpcl", false)
	cleanupInstance(t, node1Socket, toNode2)
	pushFile(t, restClient(t, node1Socket), clusterSrc, "/root/marker", payload)
	out = newScript(t, node1Socket).with("name", str(clusterSrc)).with("dst", str(toNode2)).mustRun(`
inst = lxd.Client().instances.get(name)
copy = inst.copy(dst, target="node2", wait=True)
copy.start(wait=True)
print(copy.location, copy.status)
`)
	assert.Equal(t, "node2 Running\n", out)
	assert.Equal(t, payload, pullFile(t, restClient(t, node2Socket), toNode2, "/root/marker"))
}

func TestClusterTargetAndMembers(t *testing.T) {
	t.Parallel()
	name := newInstanceName(t, node1Socket, "cl")
	out := newScript(t, node1Socket).with("name", str(name)).with("node2", str(node2Socket)).mustRun(`
c1 = lxd.Client()
cl = c1.cluster.get()
cl.sync()
print(c1.server_clustered, cl.server_name, cl.enabled, repr(cl))
print(sorted([m.server_name for m in c1.cluster.members.all()]), c1.cluster.members.get("node2").status)
inst = c1.instances.create({"name": name, "source": {"type": "image", "alias": "busybox"}}, target="node2", wait=True)
print(inst.location, lxd.Client(node2).instances.get(name).location)
inst.start(wait=True)
print(lxd.Client(node2).instances.get(name).status)
print(inst.execute(["sh", "-c", "echo hi from $(hostname)"]).stdout.strip())
`)
	assert.Equal(t, "True node1 True <Cluster \"node1\" enabled>\n[\"node1\", \"node2\"] Online\nnode2 node2\nRunning\nhi from "+name+"\n", out)
	assert.Equal(t, "node2", serverObject(t, restClient(t, node2Socket), rest.Path("instances", name))["location"])
}

func TestMigrateWithinCluster(t *testing.T) {
	t.Parallel()
	name := newInstanceName(t, node1Socket, "clmv")
	createDefinedInstance(t, node1Socket, map[string]any{"name": name, "config": map[string]any{"user.k": "v"}})
	pushFile(t, restClient(t, node1Socket), name, "/root/marker", []byte("x"))
	before := serverObject(t, restClient(t, node1Socket), rest.Path("instances", name))["location"]
	dest := "node2"
	if before == "node2" {
		dest = "node1"
	}
	out := newScript(t, node1Socket).with("name", str(name)).with("dest", str(dest)).with("node2", str(node2Socket)).mustRun(`
inst = lxd.Client().instances.get(name)
same = inst.migrate(lxd.Client(node2), target=dest, wait=True)
print(same.location == dest, same == inst, same.config["user.k"])
`)
	assert.Equal(t, "True True v\n", out)
	assert.Equal(t, dest, serverObject(t, restClient(t, node2Socket), rest.Path("instances", name))["location"])
}

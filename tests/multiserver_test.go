package tests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

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
	r, err := c.Do(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("instances"), Body: body})
	require.NoError(t, err)
	op, err := rest.AsyncOperation(r)
	require.NoError(t, err)
	_, err = c.WaitOperation(context.Background(), op, 0)
	require.NoError(t, err)
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
	name := uniqueName("migfail")
	createInstance(t, mainSocket, name, false)
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
	name := uniqueName("migrun")
	createInstance(t, mainSocket, name, true)
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
	clusterSrc := uniqueName("cpcl")
	createInstance(t, node1Socket, clusterSrc, false)
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
	name := uniqueName("cl")
	cleanupInstance(t, node1Socket, name)
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
	name := uniqueName("clmv")
	cleanupInstance(t, node1Socket, name)
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

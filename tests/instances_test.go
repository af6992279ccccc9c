package tests

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

func str(s string) starlark.Value { return starlark.String(s) }

// instanceStatus reads an instance's status straight from the server.
func instanceStatus(t *testing.T, c *rest.Client, name string) string {
	t.Helper()
	return serverObject(t, c, rest.Path("instances", name))["status"].(string)
}

// instanceConfig reads an instance's local config straight from the server.
func instanceConfig(t *testing.T, c *rest.Client, name string) map[string]any {
	t.Helper()
	return serverObject(t, c, rest.Path("instances", name))["config"].(map[string]any)
}

func TestInstanceLifecycle(t *testing.T) { parallelOnEachServer(t, testInstanceLifecycle) }

func testInstanceLifecycle(t *testing.T, srv server) {
	name, renamed := uniqueName("life"), uniqueName("life2")
	cleanupInstance(t, srv.Socket, name)
	cleanupInstance(t, srv.Socket, renamed)
	rc := restClient(t, srv.Socket)

	out := newScript(t, srv.Socket).with("name", str(name)).mustRun(`
inst = lxd.Client().instances.create({"name": name, "source": {"type": "image", "alias": "busybox"}}, wait=True)
print(inst.name, inst.status, inst.type, inst.dirty)
`)
	assert.Equal(t, name+" Stopped container False\n", out)
	assert.Equal(t, "Stopped", instanceStatus(t, rc, name))

	for _, st := range []struct{ action, want string }{
		{"start", "Running"}, {"freeze", "Frozen"}, {"unfreeze", "Running"}, {"restart", "Running"}, {"stop", "Stopped"},
	} {
		out := newScript(t, srv.Socket).with("name", str(name)).with("action", str(st.action)).mustRun(`
inst = lxd.Client().instances.get(name)
r = getattr(inst, action)(wait=True)
print(r, inst.status)
`)
		assert.Equal(t, "None "+st.want+"\n", out, "after %s the object is re-read", st.action)
		assert.Equal(t, st.want, instanceStatus(t, rc, name), "server status after %s", st.action)
	}

	out = newScript(t, srv.Socket).with("name", str(name)).with("renamed", str(renamed)).mustRun(`
c = lxd.Client()
inst = c.instances.get(name)
inst.rename(renamed, wait=True)
print(inst.name, repr(inst), c.instances.exists(name), c.instances.exists(renamed))
inst.delete(wait=True)
print(c.instances.exists(renamed))
`)
	assert.Equal(t, fmt.Sprintf("%s <Instance %q Stopped> False True\nFalse\n", renamed, renamed), out)
	assert.False(t, serverExists(t, rc, rest.Path("instances", name)))
	assert.False(t, serverExists(t, rc, rest.Path("instances", renamed)))
}

func TestInstanceDirtyTrackingAndSave(t *testing.T) {
	parallelOnEachServer(t, testInstanceDirtyTrackingAndSave)
}

func testInstanceDirtyTrackingAndSave(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "dirty", false)
	rc := restClient(t, srv.Socket)
	volatileBefore := map[string]any{}
	for k, v := range instanceConfig(t, rc, name) {
		volatileBefore[k] = v
	}

	out := newScript(t, srv.Socket).with("name", str(name)).mustRun(`
inst = lxd.Client().instances.get(name)
print("fresh", inst.dirty)
inst.description = "changed"
print("assigned", inst.dirty)
inst.description = ""
print("reverted", inst.dirty)
inst.config["user.note"] = "hello"
print("nested", inst.dirty)
inst.config.pop("user.note")
print("nested reverted", inst.dirty)
inst.config.update({"user.a": "1", "limits.memory": "64MB"})
print("update", inst.dirty)
inst.save(wait=True)
print("saved", inst.dirty, inst.config["user.a"])
inst.config["user.a"] = "2"
inst.rollback()
print("rolled back", inst.dirty, inst.config["user.a"])
inst.config["user.b"] = "local"
inst.sync()
print("synced keeps local", inst.dirty, inst.config.get("user.b"))
`)
	assert.Equal(t, `fresh False
assigned True
reverted False
nested True
nested reverted False
update True
saved False 1
rolled back False 1
synced keeps local True local
`, out)
	cfg := instanceConfig(t, rc, name)
	assert.Equal(t, "1", cfg["user.a"])
	assert.Equal(t, "64MB", cfg["limits.memory"])
	assert.NotContains(t, cfg, "user.b", "an unsaved change never reaches the server")
	for k, v := range volatileBefore {
		assert.Equal(t, v, cfg[k], "save leaves volatile key %s as it was", k)
	}
}

func TestSaveOfCleanObjectSendsNothing(t *testing.T) {
	parallelOnEachServer(t, testSaveOfCleanObjectSendsNothing)
}

func testSaveOfCleanObjectSendsNothing(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "clean", false)
	proxy := newCountingProxy(t, srv.Socket)
	newScript(t, proxy.Socket).with("name", str(name)).with("mark", proxy.mark()).mustRun(`
inst = lxd.Client().instances.get(name)
inst.config["user.x"] = "1"
inst.config.pop("user.x")
mark()
inst.save(wait=True)
inst.save()
print(inst.dirty, inst.to_dict()["name"], repr(inst))
mark()
`)
	m := proxy.marks()
	require.Len(t, m, 2)
	assert.Equal(t, m[0], m[1], "save() of a clean object made requests:\n%s", proxy.requestsSince(m[0]))
}

func TestAllIsOneRequest(t *testing.T) { parallelOnEachServer(t, testAllIsOneRequest) }

func testAllIsOneRequest(t *testing.T, srv server) {
	prefix := uniqueName("all")
	for i := 0; i < 4; i++ {
		createInstance(t, srv.Socket, fmt.Sprintf("%s-%d", prefix, i), false)
	}
	proxy := newCountingProxy(t, srv.Socket)
	out := newScript(t, proxy.Socket).with("prefix", str(prefix)).with("mark", proxy.mark()).mustRun(`
c = lxd.Client()
mark()
mine = [i for i in c.instances.all() if i.name.startswith(prefix)]
# Reading fields of every object must not cause requests (no N+1).
print(len(mine), sorted([i.config.get("volatile.base_image", "")[:0] + i.status for i in mine]), [i.dirty for i in mine])
mark()
full = [i for i in c.instances.all(recursion=2) if i.name.startswith(prefix)]
print(sorted([i.full_state["status"] for i in full]), [type(i.full_snapshots) for i in full][0])
mark()
print(len([i for i in c.instances.all(filter="name eq " + prefix + "-1")]))
`)
	assert.Equal(t, "4 [\"Stopped\", \"Stopped\", \"Stopped\", \"Stopped\"] [False, False, False, False]\n[\"Stopped\", \"Stopped\", \"Stopped\", \"Stopped\"] list\n1\n", out)
	m := proxy.marks()
	require.Len(t, m, 3)
	assert.Equal(t, 1, m[1]-m[0], "all() made these requests:\n%s", proxy.requestsSince(m[0]))
	assert.Equal(t, 1, m[2]-m[1], "all(recursion=2) made these requests:\n%s", proxy.requestsSince(m[1]))
}

func TestConcurrentChangeGivesConflict(t *testing.T) {
	parallelOnEachServer(t, testConcurrentChangeGivesConflict)
}

func testConcurrentChangeGivesConflict(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "conflict", false)
	rc := restClient(t, srv.Socket)
	// Another writer changes the instance between our get and our save.
	other := starlark.NewBuiltin("other_writer", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		err := rc.SendAndWait(context.Background(), &rest.Request{Method: "PATCH", Path: rest.Path("instances", name),
			Body: map[string]any{"config": map[string]any{"user.owner": "other"}, "description": "theirs"}})
		return starlark.None, err
	})
	out := newScript(t, srv.Socket).with("name", str(name)).with("other_writer", other).mustRun(`
inst = lxd.Client().instances.get(name)
other_writer()
inst.config["user.owner"] = "me"
value, err = catch(inst.save, wait=True)
print(err.kind, err.is_a("LXDAPIException"), err.status_code, inst.dirty)
inst.sync()
print(inst.config["user.owner"], inst.dirty)
inst.rollback()
print(inst.config["user.owner"], inst.description)
`)
	assert.Equal(t, "Conflict True 412 True\nme True\nother theirs\n", out)
	cfg := instanceConfig(t, rc, name)
	assert.Equal(t, "other", cfg["user.owner"], "a refused save leaves the server untouched")
}

func TestErrorKindsThroughCatch(t *testing.T) { parallelOnEachServer(t, testErrorKindsThroughCatch) }

func testErrorKindsThroughCatch(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "kinds", false)
	out := newScript(t, srv.Socket).with("name", str(name)).mustRun(`
c = lxd.Client()
r = catch(c.instances.get, "t-absent-instance")
print(bool(r), r.error.kind, r.error.is_a("NotFound"), r.error.is_a("LXDAPIException"), r.error.is_a("Conflict"), r.error.status_code)
print(r.error.message)
v, err = catch(c.instances.create, {"name": name, "source": {"type": "image", "alias": "busybox"}}, wait=True)
print(v, err.kind, err.is_a("LXDAPIException"))
v, err = catch(c.instances.create, "not a dict")
print(err.kind, err.message)
v, err = catch(c.instances.get, name)
print(v.name == name, err)
r = catch(lxd.Client, "/nonexistent/lxd.socket")
print(r.error.kind, "/nonexistent/lxd.socket" in r.error.message)
r = catch(c.assert_has_api_extension, "no_such_extension")
print(r.error.kind, c.has_api_extension("instances"))
`)
	assert.Equal(t, `False NotFound True True False 404
instance "t-absent-instance": `+srv.instanceNotFound("t-absent-instance")+`
None Conflict True
Error instances.create: for parameter config: got string, want dict
True None
ClientConnectionFailed True
LXDAPIExtensionNotAvailable True
`, out)
}

func TestGoCallerSeesErrorKind(t *testing.T) { parallelOnEachServer(t, testGoCallerSeesErrorKind) }

func testGoCallerSeesErrorKind(t *testing.T, srv server) {
	_, err := newScript(t, srv.Socket).run(`lxd.Client().instances.get("t-absent-instance")`)
	require.Error(t, err)
	var se *lxdstar.Error
	require.True(t, errors.As(err, &se))
	assert.Contains(t, se.Backtrace(), "instances.get")
	assert.ErrorIs(t, err, rest.ErrNotFound)
	assert.ErrorIs(t, err, rest.ErrAPI)
	var re *rest.Error
	require.True(t, errors.As(err, &re))
	assert.Equal(t, 404, re.StatusCode)
	assert.Equal(t, `NotFound: instance "t-absent-instance": `+srv.instanceNotFound("t-absent-instance"), re.Error())
}

func TestWaitFalseReturnsOperation(t *testing.T) {
	parallelOnEachServer(t, testWaitFalseReturnsOperation)
}

func testWaitFalseReturnsOperation(t *testing.T, srv server) {
	name := newInstanceName(t, srv.Socket, "async")
	rc := restClient(t, srv.Socket)
	out := newScript(t, srv.Socket).with("name", str(name)).mustRun(`
c = lxd.Client()
inst = c.instances.create({"name": name, "source": {"type": "image", "alias": "busybox"}})
print(type(inst), type(inst.operation), inst.dirty)
print(inst.operation.wait() == inst, inst.operation, inst.status)
op = inst.start()
print(type(op), op.op_class, op.id != "")
print(op.wait(), op.status, inst.status)
print(op.wait(), op.status)
`)
	assert.Equal(t, "Instance Operation False\nTrue None Stopped\nOperation task True\nNone Success Running\nNone Success\n", out)
	assert.Equal(t, "Running", instanceStatus(t, rc, name))
}

func TestWaitAfterServerForgotOperation(t *testing.T) {
	parallelOnEachServer(t, testWaitAfterServerForgotOperation)
}

func testWaitAfterServerForgotOperation(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "late", false)
	// LXD deletes finished operations after 5 s: waiting later must still
	// give the result, not NotFound.
	out := newScript(t, srv.Socket).with("name", str(name)).mustRun(`
inst = lxd.Client().instances.get(name)
op = inst.start()
time.sleep(6.5)
print(op.wait(), inst.status)
`)
	assert.Equal(t, "None Running\n", out)
}

func TestWaitAll(t *testing.T) { parallelOnEachServer(t, testWaitAll) }

func testWaitAll(t *testing.T, srv server) {
	prefix := uniqueName("many")
	var names []starlark.Value
	for i := 0; i < 3; i++ {
		n := fmt.Sprintf("%s-%d", prefix, i)
		cleanupInstance(t, srv.Socket, n)
		names = append(names, str(n))
	}
	rc := restClient(t, srv.Socket)
	out := newScript(t, srv.Socket).with("names", starlark.NewList(names)).mustRun(`
c = lxd.Client()
insts = [c.instances.create({"name": n, "source": {"type": "image", "alias": "busybox"}}) for n in names]
created = lxd.wait_all(insts)
print([i == j for i, j in zip(created, insts)], [i.operation for i in insts])
results = lxd.wait_all(timeout=60, *[i.start() for i in insts])
print(results, [i.status for i in insts])
ops = [i.stop(force=True) for i in insts]
print(lxd.wait_all(ops[0], [ops[1], ops[2]]))
r = catch(lxd.wait_all, [c.instances.get(n).start() for n in names[1:]] + [c.instances.create({"name": names[0], "source": {"type": "image", "alias": "busybox"}})])
print(r.error.kind, "item 2" in r.error.message)
`)
	assert.Equal(t, `[True, True, True] [None, None, None]
[None, None, None] ["Running", "Running", "Running"]
[None, None, None]
Conflict True
`, out)
	for _, n := range names[1:] {
		assert.Equal(t, "Running", instanceStatus(t, rc, n.(starlark.String).GoString()), "the other operations still ran")
	}
	assert.Equal(t, "Stopped", instanceStatus(t, rc, names[0].(starlark.String).GoString()), "the failed create touched nothing")
}

func TestTypedManagers(t *testing.T) { parallelOnEachServer(t, testTypedManagers) }

func testTypedManagers(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "typed", false)
	out := newScript(t, srv.Socket).with("name", str(name)).mustRun(`
c = lxd.Client()
print(name in [i.name for i in c.containers.all()], name in [i.name for i in c.virtual_machines.all()])
print(c.containers.exists(name), c.virtual_machines.exists(name))
print(catch(c.virtual_machines.get, name).error.kind)
print(c.containers.get(name) == c.instances.get(name))
`)
	assert.Equal(t, "True False\nTrue False\nNotFound\nTrue\n", out)
}

func TestModelFields(t *testing.T) { parallelOnEachServer(t, testModelFields) }

func testModelFields(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "fields", false)
	out := newScript(t, srv.Socket).with("name", str(name)).mustRun(`
inst = lxd.Client().instances.get(name)
d = inst.to_dict()
print(sorted([k for k in ["project", "location", "expanded_config", "stateful", "last_used_at"] if k in d]))
print(inst.project, inst.location != None, json.decode(json.encode(d))["name"] == name)
def set_name(): inst.name = "x"
def set_status(): inst.status = "Running"
def set_ephemeral(): inst.ephemeral = "yes"
def set_bogus(): inst.bogus = 1
for f in [set_name, set_status, set_ephemeral, set_bogus]:
    print(catch(f).error.message)
inst.ephemeral = True
print(inst.dirty)
`)
	assert.Equal(t, `["expanded_config", "last_used_at", "location", "project", "stateful"]
default True True
Instance.name is read-only: use instance.rename(new_name) to rename
Instance.status is read-only (writable fields: architecture, config, devices, ephemeral, profiles, description)
Instance.ephemeral: got string, want bool
Instance has no field "bogus" (writable fields: architecture, config, devices, ephemeral, profiles, description)
True
`, out)
}

func TestRawAPI(t *testing.T) { parallelOnEachServer(t, testRawAPI) }

func testRawAPI(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "raw", false)
	out := newScript(t, srv.Socket).with("name", str(name)).mustRun(`
c = lxd.Client()
r = c.api.instances[name].get()
print(r.status_code, r.json()["metadata"]["name"] == name, "Etag" in r.headers or "ETag" in r.headers)
r = c.api.instances["t-absent"].get()
print(r.status_code, r.json()["error"])
print(c.api.storage_pools.get().status_code, c.api.instances.get(params={"recursion": "1"}).status_code)
`)
	assert.Equal(t, "200 True True\n404 "+srv.instanceNotFound("t-absent")+"\n200 200\n", out)
}

func TestClientAttributes(t *testing.T) { parallelOnEachServer(t, testClientAttributes) }

func testClientAttributes(t *testing.T, srv server) {
	out := newScript(t, srv.Socket).mustRun(`
c = lxd.Client()
print(c.trusted, c.server_clustered, c.project, type(c.host_info), c.host_info["api_version"])
print("cpu" in c.resources, c.has_api_extension("instances"))
p = lxd.Client(project="default")
print(p.project)
print(catch(lxd.Client, version="2.0").error.message)
`)
	assert.Equal(t, `True False None dict 1.0
True True
default
lxd.Client: for parameter "version": only "1.0" is supported, got "2.0"
`, out)
}

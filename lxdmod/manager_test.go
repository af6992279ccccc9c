package lxdmod_test

// Managers: all/get/exists/create for each kind, one request per listing,
// typed instance managers, against the fake LXD.

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

func TestAllIsOneRequestAndReadingFieldsIsNoMore(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	for i := range 25 {
		s.f.AddInstance(fmt.Sprintf("c%02d", i), fakelxd.Object{"config": fakelxd.Object{"user.n": fmt.Sprint(i)}})
	}
	s.run(``) // connect
	n := s.mark()
	s.run(`
		insts = c.instances.all()
		assert_eq(len(insts), 25)
		ns = [i.config["user.n"] for i in insts]
		xs = [(i.expanded_config, i.status, i.devices, i.created_at) for i in insts]
		assert_eq(ns[24], "24")
	`)
	assert.Equal(t, []string{"GET /1.0/instances?recursion=1"}, s.requests(n), "all() is one request, no N+1")

	n = s.mark()
	s.run(`
		full = c.instances.all(recursion=2)
		assert_eq(full[0].full_state["status"], "Stopped")
		assert_eq(full[0].full_snapshots, [], "LXD's null becomes an empty list")
	`)
	assert.Equal(t, []string{"GET /1.0/instances?recursion=2"}, s.requests(n))

	for _, m := range []string{"profiles", "projects", "networks", "storage_pools", "images"} {
		n = s.mark()
		s.run(fmt.Sprintf(`x = [o.to_dict() for o in c.%s.all()]`, m))
		assert.Len(t, s.requests(n), 1, m)
	}
}

func TestTypedManagersFilterByType(t *testing.T) {
	s := withInstances(t, "ct")
	s.f.AddInstance("vm", fakelxd.Object{"type": "virtual-machine"})
	n := s.mark()
	s.run(`
		assert_eq([i.name for i in c.instances.all()], ["ct", "vm"])
		assert_eq([i.name for i in c.containers.all()], ["ct"])
		assert_eq([i.name for i in c.virtual_machines.all()], ["vm"])
		assert_eq(c.containers.exists("ct"), True)
		assert_eq(c.containers.exists("vm"), False)
		assert_eq(c.virtual_machines.exists("vm"), True)
		assert_eq(c.virtual_machines.get("vm").type, "virtual-machine")
	`)
	reqs := s.requests(n)
	assert.Contains(t, reqs, "GET /1.0/instances?instance-type=container&recursion=1")
	assert.Contains(t, reqs, "GET /1.0/instances?instance-type=virtual-machine&recursion=1")

	requireKind(t, s.fail(`c.containers.get("vm")`), "NotFound", "vm")
	requireKind(t, s.fail(`c.virtual_machines.get("ct")`), "NotFound", "ct")

	s.run(`
		v = c.virtual_machines.create({"name": "vm2", "source": {"type": "none"}}, wait=True)
		assert_eq(v.type, "virtual-machine")
	`)
	body := s.lastBody("POST", "/1.0/instances")
	assert.Equal(t, "virtual-machine", body["type"], "the typed manager sets the type")
	err := s.fail(`c.containers.create({"name": "x", "type": "virtual-machine", "source": {"type": "none"}})`)
	assert.Contains(t, err.Error(), "conflicts")
}

func TestGetAndExists(t *testing.T) {
	s := withInstances(t, "c1")
	s.f.AddNetwork("br0", nil)
	s.f.AddVolume("default", "custom", "v1", nil)
	s.run(`
		assert_eq(c.instances.get("c1").name, "c1")
		assert_eq(c.instances.exists("c1"), True)
		assert_eq(c.instances.exists("nope"), False)
		assert_eq(c.profiles.exists("default"), True)
		assert_eq(c.profiles.exists("nope"), False)
		assert_eq(c.networks.get("br0").managed, True)
		assert_eq(c.networks.exists("nope"), False)
		assert_eq(c.projects.exists("default"), True)
		pool = c.storage_pools.get("default")
		assert_eq(pool.driver, "dir")
		assert_eq(pool.volumes.exists("custom", "v1"), True)
		assert_eq(pool.volumes.exists("custom", "nope"), False)
		assert_eq(pool.volumes.get("custom", "v1").pool, "default")
		assert_eq(c.images.exists("busybox", alias=True), True)
		assert_eq(c.images.exists("nope", alias=True), False)
		assert_eq(c.images.get_by_alias("busybox").fingerprint, c.images.get("f6341489208a").fingerprint)
	`)
	for _, tc := range []struct{ src, text string }{
		{`c.instances.get("nope")`, "Instance not found"},
		{`c.profiles.get("nope")`, "Profile not found"},
		{`c.networks.get("nope")`, "Network not found"},
		{`c.storage_pools.get("nope")`, "Storage pool not found"},
		{`c.images.get_by_alias("nope")`, "not found"},
		{`c.storage_pools.get("default").volumes.get("custom", "nope")`, "not found"},
	} {
		requireKind(t, s.fail(tc.src), "NotFound", tc.text)
	}
	// An empty name is refused before any request.
	n := s.mark()
	err := s.fail(`c.instances.get("")`)
	assert.Contains(t, err.Error(), "for parameter name")
	err = s.fail(`c.profiles.exists("")`)
	assert.Contains(t, err.Error(), "for parameter name")
	assert.Empty(t, s.requests(n))
}

func TestCreateReturnsTheServersObject(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.run(`
		i = c.instances.create({"name": "c1", "source": {"type": "image", "alias": "busybox"},
		                        "config": {"user.a": "1"}}, wait=True)
		assert_eq(i.status, "Stopped")
		assert_eq(i.config["image.os"], "busybox", "read back from the server")
		assert_eq(i.config["user.a"], "1")
		assert_eq(i.operation, None)
		p = c.profiles.create("web", config={"user.x": "1"}, description="web servers")
		assert_eq((p.name, p.description, p.config), ("web", "web servers", {"user.x": "1"}))
		pr = c.projects.create("p1", description="mine")
		assert_eq(pr.config["features.images"], "true", "LXD's defaults, read back")
		n = c.networks.create("br1", type="bridge", config={"ipv4.address": "none"})
		assert_eq(n.config["ipv4.address"], "none")
		pool = c.storage_pools.create({"name": "p2", "driver": "dir"})
		assert_eq(pool.driver, "dir")
		v = pool.volumes.create({"name": "v1", "config": {"size": "1GB"}})
		assert_eq((v.name, v.type, v.config["size"]), ("v1", "custom", "1GB"))
		s1 = i.snapshots.create("s1", wait=True)
		assert_eq((s1.name, s1.stateful, s1.dirty), ("s1", False, False))
		assert_eq([x.name for x in i.snapshots.all()], ["s1"])
	`)
	for _, p := range []string{"/1.0/instances/c1", "/1.0/profiles/web", "/1.0/projects/p1", "/1.0/networks/br1",
		"/1.0/storage-pools/p2", "/1.0/storage-pools/p2/volumes/custom/v1", "/1.0/instances/c1/snapshots/s1"} {
		_, ok := s.f.Get(p)
		assert.True(t, ok, "%s was created", p)
	}
	body := s.lastBody("POST", "/1.0/profiles")
	assert.Equal(t, map[string]any{"name": "web", "config": map[string]any{"user.x": "1"}, "description": "web servers"}, body)
}

func TestCreateFailuresKeepLXDsKindAndText(t *testing.T) {
	s := withInstances(t, "c1")
	// A taken instance name fails the operation; its wording makes it a Conflict.
	requireKind(t, s.fail(`c.instances.create({"name": "c1", "source": {"type": "none"}}, wait=True)`),
		"Conflict", "already exists")
	// LXD 5.0.2 answers a taken profile name with a 500.
	requireKind(t, s.fail(`c.profiles.create("default")`), "LXDAPIException", "The profile already exists")
	requireKind(t, s.fail(`c.instances.create({"name": "c2", "source": {"type": "image", "alias": "nope"}})`),
		"NotFound", "Image alias not found")
	// Bad arguments fail before any request, naming function and parameter.
	s.run(`i = c.instances.get("c1")`)
	n := s.mark()
	for _, tc := range []struct{ src, want string }{
		{`c.instances.create("c2")`, "instances.create: for parameter config: got string, want dict"},
		{`c.profiles.create("a/b")`, "profiles.create: for parameter name"},
		{`c.profiles.create("web", config="x")`, `for parameter "config": got string, want dict or None`},
		{`i.snapshots.create("")`, "for parameter name"},
	} {
		assert.Contains(t, s.fail(tc.src).Error(), tc.want, tc.src)
	}
	assert.Empty(t, s.requests(n))
}

func TestCreateWaitFalseReturnsTheObjectWithItsOperation(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.run(`
		release = hold("POST /1.0/instances")
		i = c.instances.create({"name": "c1", "source": {"type": "none"}})
		assert_eq(type(i), "Instance")
		assert_eq(i.name, "c1")
		assert_eq(i.dirty, False)
		op = i.operation
		assert_eq(type(op), "Operation")
		assert_eq(op.description, "Creating instance")
		assert_eq(op.status, "Running")
		release()
		assert_eq(op.wait(), i, "wait() returns what wait=True returns")
		assert_eq(i.status, "Stopped", "read back once created")
		assert_eq(i.operation, None)
		assert_eq(lxd.wait_all(i), [i])
	`)
}

func TestManagersOfSubObjects(t *testing.T) {
	s := withInstances(t, "c1")
	s.f.AddSnapshot("c1", "snap0", nil)
	s.f.AddSnapshot("c1", "snap1", fakelxd.Object{"stateful": true})
	s.f.AddVolume("default", "custom", "v1", nil)
	s.f.Add("/1.0/storage-pools/default/volumes/custom/v1/snapshots/s1",
		fakelxd.Object{"name": "s1", "config": fakelxd.Object{}, "description": "", "expires_at": "0001-01-01T00:00:00Z"})
	n := s.mark()
	s.run(`
		i = c.instances.get("c1")
		snaps = i.snapshots.all()
		assert_eq([(x.name, x.stateful) for x in snaps], [("snap0", False), ("snap1", True)])
		assert_eq(i.snapshots.exists("snap1"), True)
		assert_eq(i.snapshots.exists("nope"), False)
		v = c.storage_pools.get("default").volumes.get("custom", "v1")
		vs = v.snapshots.all()
		assert_eq([x.name for x in vs], ["s1"], "LXD's 'volume/snapshot' listing names are made bare")
		assert_eq(vs[0].expires_at, None, "no expiry is None, whichever way LXD spells it")
		assert_eq(v.snapshots.get("s1").expires_at, None)
	`)
	assert.Contains(t, s.requests(n), "GET /1.0/instances/c1/snapshots?recursion=1")
}

func TestImagesManager(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.run(`
		imgs = c.images.all()
		assert_eq(len(imgs), 1)
		img = imgs[0]
		assert_eq(img.fingerprint, "f6341489208a228b2abecc40d890719a4340b9d356825742ad3f96259a7be362")
		assert_eq([a["name"] for a in img.aliases], ["busybox"])
		assert_eq(img.public, False)
		img.public = True
		assert_eq(img.dirty, True)
		img.save()
		assert_eq(server_get("/1.0/images/" + img.fingerprint)["public"], True)
	`)
}

func TestOperationsManager(t *testing.T) {
	s := withInstances(t, "c1")
	s.run(`
		release = hold("PUT /1.0/instances/c1/state")
		op = c.instances.get("c1").start()
		ops = c.operations.all()
		assert_eq([o.id for o in ops], [op.id])
		got = c.operations.get(op.id)
		assert_eq((got.description, got.status), ("Starting instance", "Running"))
		assert_eq(c.operations.get("/1.0/operations/" + op.id).id, op.id)
		release()
		done = c.operations.wait_for_operation(op.id, timeout=5)
		assert_eq(done.status, "Success")
	`)
	requireKind(t, s.fail(`c.operations.get("nope")`), "NotFound", "Operation not found")
}

func TestClientAttributes(t *testing.T) {
	s := newScript(t, fakelxd.Config{Extensions: []string{"instances", "file_delete"}})
	s.f.AddProject("p9", nil)
	s.run(`
		assert_eq(c.trusted, True)
		assert_eq(c.server_clustered, False)
		assert_eq(c.project, None)
		assert_eq(c.host_info["environment"]["server_version"], "5.0.2")
		assert_eq(c.has_api_extension("file_delete"), True)
		assert_eq(c.has_api_extension("nope"), False)
		assert_eq(lxd.Client(project="p9").project, "p9")
	`)
	requireKind(t, s.fail(`lxd.Client(project="p10")`), "NotFound", `project "p10"`)
	err := s.fail(`c.assert_has_api_extension("network_acl")`)
	requireKind(t, err, "LXDAPIExtensionNotAvailable", "network_acl")

	untrusted := newScript(t, fakelxd.Config{Untrusted: true})
	untrusted.run(`assert_eq(c.trusted, False)`)
	requireKind(t, untrusted.fail(`c.instances.all()`), "LXDAPIException", "not authorized")
}

func TestConnectionFailureNamesTheSocket(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	err := s.fail(`lxd.Client(endpoint="/nonexistent/lxd.socket")`)
	requireKind(t, err, "ClientConnectionFailed", "/nonexistent/lxd.socket")
}

func TestRawAPI(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("a b", nil)
	s.run(`
		r = c.api.instances["a b"].get()
		assert_eq(r.status_code, 200)
		assert_eq(r.json()["metadata"]["name"], "a b")
		assert_eq(len(r.headers["Etag"]) > 2, True)
		missing = c.api.instances.nope.get()
		assert_eq((missing.status_code, bool(missing)), (404, False), "HTTP errors are values")
		created = c.api.profiles.post(json={"name": "web"})
		assert_eq(created.status_code, 201)
		assert_eq(c.api.storage_pools.default.get().json()["metadata"]["driver"], "dir")
	`)
	reqs := s.requests(0)
	require.GreaterOrEqual(t, len(reqs), 2)
	assert.Equal(t, "GET /1.0/instances/a%20b", reqs[1], "names are escaped")
}

// instances.all(recursion=2, fields=[…]): LXD's selective recursion where
// the server has the extension; elsewhere a plain recursion=2 (which a
// server without it would otherwise read as no recursion at all).
func TestInstancesAllFields(t *testing.T) {
	s := withInstances(t, "c1")
	s.run(``) // connect
	n := s.mark()
	s.run(`
		insts = c.instances.all(recursion=2, fields=["state.disk"])
		assert_eq([i.name for i in insts], ["c1"])
		assert_eq(insts[0].full_state["status"], "Stopped")
	`)
	assert.Equal(t, []string{"GET /1.0/instances?recursion=2"}, s.requests(n), "no extension: the whole state")

	require.ErrorContains(t, s.fail(`c.instances.all(fields=["state.disk"])`),
		"instances.all: for parameter fields: only recursion=2 reads state, got recursion=1")
	require.ErrorContains(t, s.fail(`c.instances.all(recursion=2, fields="state.disk")`),
		`instances.all: for parameter "fields": got string, want list of strings or None`)

	sel := newScript(t, fakelxd.Config{Extensions: []string{"instances_state_selective_recursion"}})
	sel.f.Intercept("GET /1.0/instances", fakelxd.Reply(200,
		`{"type": "sync", "status": "Success", "status_code": 200, "metadata": [{"name": "c1", "status": "Running", "state": {"disk": {}}}]}`))
	sel.run(``)
	n = sel.mark()
	sel.run(`
		a = c.instances.all(recursion=2, fields=["state.disk", "state.network"])
		assert_eq([i.name for i in a], ["c1"])
		assert_eq(a[0].full_state, {"disk": {}})
		b = c.instances.all(recursion=2, fields=[])
	`)
	assert.Equal(t, []string{
		"GET /1.0/instances?recursion=2%3Bfields%3Dstate.disk%2Cstate.network",
		"GET /1.0/instances?recursion=2%3Bfields%3D",
	}, sel.requests(n))
}

// Method tables are built once; reading a method binds it to its receiver
// and nothing more (go.starlark.net's own methods cost the same one
// allocation), and a sub-collection costs its manager value alone.
func TestReadingAMethodAllocatesOnlyItsBinding(t *testing.T) {
	s := withInstances(t, "c1")
	s.f.AddVolume("default", "custom", "v1", nil)
	s.run(`
		i = c.instances.get("c1")
		v = c.storage_pools.get("default").volumes.get("custom", "v1")
	`)
	attr := func(v starlark.Value, name string) starlark.Value {
		x, err := v.(starlark.HasAttrs).Attr(name)
		if err != nil || x == nil {
			t.Fatalf("%s.%s: %v, %v", v.Type(), name, x, err)
		}
		return x
	}
	inst, vol, client := s.value("i"), s.value("v"), s.value("c")
	for _, tc := range []struct {
		what string
		read func()
		max  float64
	}{
		{"Instance.start", func() { attr(inst, "start") }, 1},
		{"Instance.save", func() { attr(inst, "save") }, 1},
		{"Instance.to_dict", func() { attr(inst, "to_dict") }, 1},
		{"instances.get", func() { attr(attr(client, "instances"), "get") }, 1},
		{"Client.events", func() { attr(client, "events") }, 1},
		{"inst.snapshots.create", func() { attr(attr(inst, "snapshots"), "create") }, 2},
		{"volume.snapshots.all", func() { attr(attr(vol, "snapshots"), "all") }, 2},
	} {
		assert.LessOrEqual(t, testing.AllocsPerRun(50, tc.read), tc.max, tc.what)
	}
	// The bound method keeps its qualified name for messages.
	assert.Equal(t, "Instance.start", attr(inst, "start").(*starlark.Builtin).Name())
	assert.Equal(t, "StorageVolume.snapshots.all", attr(attr(vol, "snapshots"), "all").(*starlark.Builtin).Name())
}

package lxdmod_test

// Model objects: dirty tracking, save, sync, rollback, frozen models,
// identity, repr and to_dict, against the fake LXD.

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

func TestObjectsAreBornClean(t *testing.T) {
	s := withInstance(t)
	s.run(`
		assert_eq(c.instances.get("c1").dirty, False)
		assert_eq([i.dirty for i in c.instances.all()], [False])
		assert_eq([i.dirty for i in c.instances.all(recursion=2)], [False])
		made = c.instances.create({"name": "c2", "source": {"type": "none"}}, wait=True)
		assert_eq(made.dirty, False)
		p = c.profiles.create("db", config={"user.x": "1"})
		assert_eq(p.dirty, False)
		assert_eq(c.profiles.get("web").dirty, False)
		assert_eq([x.dirty for x in c.profiles.all()], [False, False, False])
	`)
}

func TestAssignmentMakesDirtyAndTheOldValueCleanAgain(t *testing.T) {
	s := withInstance(t)
	s.run(`
		i = c.instances.get("c1")
		i.description = "second"
		assert_eq(i.dirty, True)
		i.description = "first"
		assert_eq(i.dirty, False, "back to the server's value")
		i.ephemeral = True
		assert_eq(i.dirty, True)
		i.ephemeral = False
		assert_eq(i.dirty, False)
		i.config = {"user.a": "2"}
		assert_eq(i.dirty, True)
	`)
}

func TestNestedMutationMakesDirty(t *testing.T) {
	s := withInstance(t)
	s.run(`
		i = c.instances.get("c1")
		i.config["user.b"] = "2"
		assert_eq(i.dirty, True, "a new key")
		i.config.pop("user.b")
		assert_eq(i.dirty, False, "the key removed again")
		i.config["user.a"] = "9"
		assert_eq(i.dirty, True, "a changed value")
		i.config["user.a"] = "1"
		assert_eq(i.dirty, False)
		i.config.update({"user.c": "3"})
		assert_eq(i.dirty, True, "dict.update")
		i.rollback()
		i.profiles.append("web")
		assert_eq(i.dirty, True, "a list field")
		i.profiles.pop()
		assert_eq(i.dirty, False)
		i.devices["eth0"] = {"type": "nic", "nictype": "p2p"}
		assert_eq(i.dirty, True, "a device added")
		i.rollback()
		p = c.profiles.get("default")
		p.devices["root"]["size"] = "1GB"
		assert_eq(p.dirty, True, "two levels down")
	`)
}

func TestReadOnlyFieldsRefuseAssignment(t *testing.T) {
	s := withInstance(t)
	for _, tc := range []struct{ src, want string }{
		{`c.instances.get("c1").status = "Running"`, "Instance.status is read-only"},
		{`c.instances.get("c1").expanded_config = {}`, "Instance.expanded_config is read-only"},
		{`c.instances.get("c1").name = "c2"`, "rename("},
		{`c.profiles.get("web").name = "x"`, "rename("},
		{`c.instances.get("c1").nosuchfield = 1`, `no field "nosuchfield"`},
		{`c.instances.get("c1").config = "x"`, "Instance.config: got string, want dict"},
		{`c.instances.get("c1").profiles = {}`, "Instance.profiles: got dict, want list"},
		{`c.instances.get("c1").config = None`, "Instance.config"},
	} {
		err := s.fail(tc.src)
		assert.Contains(t, err.Error(), tc.want, tc.src)
		assert.Nil(t, kinds(err), "a local mistake is no LXD error: %s", tc.src)
	}
	// None clears a string field, as JSON null does in LXD.
	s.run(`
		i = c.instances.get("c1")
		i.description = None
		assert_eq(i.dirty, True)
	`)
}

func TestUnknownServerFieldsAreReadableAndReadOnly(t *testing.T) {
	s := withInstance(t)
	s.f.Set("/1.0/instances/c1", fakelxd.Object{"future_field": fakelxd.Object{"x": 1}})
	s.run(`
		i = c.instances.get("c1")
		assert_eq(i.future_field, {"x": 1})
		assert_eq("future_field" in dir(i), True)
	`)
	assert.Contains(t, s.fail(`c.instances.get("c1").future_field = 2`).Error(), "read-only")
}

func TestSaveWhenCleanSendsNothing(t *testing.T) {
	s := withInstance(t)
	s.run(`
		i = c.instances.get("c1")
		n = request_count()
		assert_eq(i.save(), None)
		assert_eq(i.save(wait=True), None)
		i.description = "x"
		i.description = "first"
		i.save(wait=True)
		assert_eq(request_count(), n, "a clean object sends nothing")
		p = c.profiles.get("web")
		n = request_count()
		p.save()
		assert_eq(request_count(), n)
	`)
}

func TestSaveSendsIfMatchAndOnlyWritableFields(t *testing.T) {
	s := withInstance(t)
	etag := s.f.ETag("/1.0/instances/c1")
	s.run(`
		i = c.instances.get("c1")
		i.config["user.b"] = "2"
		i.save(wait=True)
	`)
	var put *fakelxd.Request
	for _, r := range s.f.Requests() {
		if r.Method == "PUT" && r.URL.Path == "/1.0/instances/c1" {
			put = r
		}
	}
	require.NotNil(t, put)
	assert.Equal(t, `"`+etag+`"`, put.Header.Get("If-Match"))
	body := put.JSON().(map[string]any)
	for k := range body {
		assert.Contains(t, []string{"architecture", "config", "devices", "ephemeral", "profiles", "description"}, k,
			"save sent a field that is not writable")
	}
	assert.NotContains(t, body, "expanded_config")
	assert.NotContains(t, body, "status")
	assert.NotContains(t, body, "name")
	cfg := body["config"].(map[string]any)
	assert.Equal(t, "2", cfg["user.b"])
	for k, v := range cfg {
		if strings.HasPrefix(k, "volatile.") {
			got, _ := s.f.Get("/1.0/instances/c1")
			assert.Equal(t, got["config"].(map[string]any)[k], v, "volatile keys go back as read: %s", k)
		}
	}
	assert.Contains(t, cfg, "volatile.idmap.next")
}

func TestSaveWaitTrueWritesTheServerAndLeavesTheObjectClean(t *testing.T) {
	s := withInstance(t)
	s.run(`
		i = c.instances.get("c1")
		i.config["user.b"] = "2"
		i.description = "second"
		assert_eq(i.save(wait=True), None)
		assert_eq(i.dirty, False)
		assert_eq(i.config["user.b"], "2")
		srv = server_get("/1.0/instances/c1")
		assert_eq(srv["config"]["user.b"], "2")
		assert_eq(srv["description"], "second")
	`)
	// The object holds the server's state: a save right after is clean.
	n := s.mark()
	s.run(`i.save(wait=True)`)
	assert.Empty(t, s.requests(n))
}

func TestSaveOfASynchronousEndpointIsImmediate(t *testing.T) {
	s := withInstance(t)
	s.run(`
		p = c.profiles.get("web")
		p.config["user.x"] = "1"
		p.description = "web servers"
		assert_eq(p.save(), None, "wait is accepted and ignored")
		assert_eq(server_get("/1.0/profiles/web")["description"], "web servers")
		assert_eq(p.dirty, False)
	`)
	req := s.lastBody("PUT", "/1.0/profiles/web")
	assert.Equal(t, map[string]any{"user.x": "1"}, req["config"])
}

func TestStaleSaveIsAConflictAndLeavesTheServerUntouched(t *testing.T) {
	s := withInstance(t)
	s.run(`
		i = c.instances.get("c1")
		i.config["user.mine"] = "1"
		server_set("/1.0/instances/c1", {"config": {"user.a": "1", "user.ext": "x", "volatile.idmap.base": "0"}})
		r = catch(i.save, wait=True)
		assert_eq(r.error.is_a("Conflict"), True)
		assert_eq(r.error.is_a("LXDAPIException"), True)
		assert_eq(r.error.status_code, 412)
		assert_eq(i.dirty, True, "the script's change is not lost")
		assert_eq(i.config["user.mine"], "1")
	`)
	got, _ := s.f.Get("/1.0/instances/c1")
	assert.Equal(t, map[string]any{"user.a": "1", "user.ext": "x", "volatile.idmap.base": "0"}, got["config"])

	// Uncaught, the error unwraps to its kind for a Go host, and keeps
	// LXD's own text.
	err := s.fail(`
		j = c.instances.get("c1")
		j.config["user.mine"] = "2"
		server_set("/1.0/instances/c1", {"config": {"user.ext": "y", "volatile.idmap.base": "0"}})
		j.save(wait=True)
	`)
	requireKind(t, err, "Conflict", "ETag doesn't match")
}

func TestFailedSaveLeavesTheServerUntouched(t *testing.T) {
	s := withInstance(t)
	err := s.fail(`
		i = c.instances.get("c1")
		i.config["user.b"] = "2"
		fail_next("PUT /1.0/instances/c1", "disk quota exceeded")
		i.save(wait=True)
	`)
	requireKind(t, err, "LXDAPIException", "disk quota exceeded")
	got, _ := s.f.Get("/1.0/instances/c1")
	assert.NotContains(t, got["config"], "user.b")
}

func TestRollbackDiscardsLocalChangesAndRereads(t *testing.T) {
	s := withInstance(t)
	s.run(`
		i = c.instances.get("c1")
		i.config["user.a"] = "local"
		i.description = "local"
		server_set("/1.0/instances/c1", {"description": "remote"})
		assert_eq(i.rollback(), None)
		assert_eq(i.dirty, False)
		assert_eq(i.description, "remote")
		assert_eq(i.config["user.a"], "1")
	`)
}

func TestSyncRereadsAndKeepsTheScriptsChanges(t *testing.T) {
	s := withInstance(t)
	s.run(`
		i = c.instances.get("c1")
		i.config["user.mine"] = "1"
		server_set("/1.0/instances/c1", {"description": "remote", "status": "Running"})
		assert_eq(i.sync(), None)
		assert_eq(i.description, "remote", "fields the script did not change are the server's")
		assert_eq(i.status, "Running")
		assert_eq(i.config["user.mine"], "1", "the script's change survives")
		assert_eq(i.dirty, True)
		i.save(wait=True)
		assert_eq(server_get("/1.0/instances/c1")["config"]["user.mine"], "1")
	`)
	// A clean object stays clean.
	s.run(`
		j = c.instances.get("c1")
		server_set("/1.0/instances/c1", {"description": "again"})
		j.sync()
		assert_eq((j.description, j.dirty), ("again", False))
	`)
}

func TestFrozenModelRefusesLocalEditsButNotServerActions(t *testing.T) {
	s := withInstance(t)
	s.run(`inst = c.instances.get("c1")`) // a finished module's globals are frozen
	for _, tc := range []struct{ src, want string }{
		{`inst.description = "x"`, "frozen"},
		{`inst.config["user.x"] = "1"`, "frozen"},
		{`inst.rollback()`, "frozen"},
	} {
		assert.Contains(t, s.fail(tc.src).Error(), tc.want, tc.src)
	}
	s.run(`
		inst.start(wait=True)
		assert_eq(c.instances.get("c1").status, "Running")
		assert_eq(inst.dirty, False)
	`)
}

func TestEqualityIsIdentityWithoutIO(t *testing.T) {
	s := withInstance(t)
	s.f.AddInstance("c2", nil)
	s.f.AddProject("p1", nil)
	s.f.AddInstance("c1", fakelxd.Object{"project": "p1"})
	s.run(`
		a = c.instances.get("c1")
		b = c.instances.all()[0]
		other = c.instances.get("c2")
		elsewhere = lxd.Client(project="p1").instances.get("c1")
		snap = None
		n = request_count()
		b.description = "changed locally"
		assert_eq(a == b, True, "same object, different fields")
		assert_eq(a != other, True)
		assert_eq(a == elsewhere, False, "another project")
		assert_eq(c.containers.get("c1") == a, True, "typed managers give the same identity")
		assert_eq(len(set([a, b, other])), 2)
		assert_eq({a: 1}[b], 1)
		assert_eq(a == c.profiles.get("default"), False)
	`)
	err := s.fail(`c.instances.get("c1") < c.instances.get("c2")`)
	assert.Contains(t, err.Error(), "not ordered")
}

func TestComparingMakesNoRequest(t *testing.T) {
	s := withInstance(t)
	s.run(`
		a = c.instances.get("c1")
		b = c.instances.get("c1")
		n = request_count()
		same = a == b
		h = hash(str(a))
		d = {a: 1}
		assert_eq(request_count(), n)
	`)
}

func TestRepr(t *testing.T) {
	s := withInstance(t)
	s.f.AddSnapshot("c1", "snap0", nil)
	s.f.AddNetwork("br0", nil)
	s.run(`
		assert_eq(repr(c.instances.get("c1")), '<Instance "c1" Stopped>')
		assert_eq(repr(c.instances.get("c1").snapshots.get("snap0")), '<Snapshot "snap0" of c1>')
		assert_eq(repr(c.profiles.get("web")), '<Profile "web">')
		assert_eq(repr(c.networks.get("br0")), '<Network "br0" bridge>')
		assert_eq(repr(c.storage_pools.get("default")), '<StoragePool "default" dir>')
		assert_eq(repr(c.images.get_by_alias("busybox")), '<Image "f6341489208a" busybox>')
		assert_eq(str(c.instances.get("c1")), '<Instance "c1" Stopped>')
		assert_eq(type(c.instances.get("c1")), "Instance")
	`)
}

func TestToDictIsEveryFieldAndEncodes(t *testing.T) {
	s := withInstance(t)
	g := s.run(`
		i = c.instances.get("c1")
		d = i.to_dict()
		keys = sorted(d.keys())
		text = json.encode(d)
		back = json.decode(text)
	`)
	keys := g["keys"].(*starlark.List)
	var names []string
	for i := 0; i < keys.Len(); i++ {
		names = append(names, string(keys.Index(i).(starlark.String)))
	}
	want, _ := s.f.Get("/1.0/instances/c1")
	var wantNames []string
	for k := range want {
		wantNames = append(wantNames, k)
	}
	assert.ElementsMatch(t, wantNames, names)
	assert.Equal(t, "c1", s.str(`back["name"]`))
	assert.Equal(t, "1", s.str(`back["config"]["user.a"]`))
}

func TestReadingAttributesMakesNoRequest(t *testing.T) {
	s := withInstance(t)
	s.run(`
		i = c.instances.get("c1")
		n = request_count()
		x = (i.name, i.status, i.config, i.expanded_config, i.dirty, i.operation, i.profiles, dir(i), repr(i))
		x = (c.host_info, c.trusted, c.project, c.instances, i.snapshots, i.files)
		assert_eq(request_count(), n)
	`)
}

func TestRenameFollowsTheObject(t *testing.T) {
	s := withInstance(t)
	s.f.AddSnapshot("c1", "snap0", nil)
	s.run(`
		i = c.instances.get("c1")
		assert_eq(i.rename("c9", wait=True), None)
		assert_eq(i.name, "c9")
		assert_eq(repr(i), '<Instance "c9" Stopped>')
		assert_eq(i.dirty, False)
		i.start(wait=True)
		assert_eq(i.status, "Running")
		assert_eq(c.instances.exists("c1"), False)
		p = c.profiles.get("web")
		p.rename("www")
		assert_eq(p.name, "www")
		assert_eq(c.profiles.exists("www"), True)
		sn = c.instances.get("c9").snapshots.get("snap0")
		sn.rename("first", wait=True)
		assert_eq(sn.name, "first")
	`)
	got, ok := s.f.Get("/1.0/instances/c9")
	require.True(t, ok)
	assert.Equal(t, "Running", got["status"], "start went to the new name")
	_, ok = s.f.Get("/1.0/instances/c9/snapshots/first")
	assert.True(t, ok)
}

func TestDeleteWaitTrue(t *testing.T) {
	s := withInstance(t)
	s.run(`
		assert_eq(c.instances.get("c1").delete(wait=True), None)
		assert_eq(c.instances.exists("c1"), False)
		c.profiles.get("web").delete()
		assert_eq(c.profiles.exists("web"), False)
	`)
	err := s.fail(`
		i = c.instances.create({"name": "c2", "source": {"type": "none"}}, wait=True)
		i.start(wait=True)
		i.delete(wait=True)
	`)
	requireKind(t, err, "LXDAPIException", "Instance is running")
}

// TestSaveOfEveryKind runs the one save mechanism over every model type the
// fake models: assign, save, and find the change on the server.
func TestSaveOfEveryKind(t *testing.T) {
	s := withInstance(t)
	s.f.AddSnapshot("c1", "snap0", nil)
	s.f.AddNetwork("br0", nil)
	s.f.AddProject("p1", nil)
	s.f.AddVolume("default", "custom", "v1", nil)
	for _, tc := range []struct{ get, edit, path, field, want string }{
		{`c.instances.get("c1")`, `o.description = "new"`, "/1.0/instances/c1", "description", "new"},
		{`c.instances.get("c1").snapshots.get("snap0")`, `o.expires_at = "2030-01-01T00:00:00Z"`,
			"/1.0/instances/c1/snapshots/snap0", "expires_at", "2030-01-01T00:00:00Z"},
		{`c.profiles.get("web")`, `o.config["user.k"] = "v"`, "/1.0/profiles/web", "config.user.k", "v"},
		{`c.projects.get("p1")`, `o.description = "new"`, "/1.0/projects/p1", "description", "new"},
		{`c.networks.get("br0")`, `o.config["user.k"] = "v"`, "/1.0/networks/br0", "config.user.k", "v"},
		{`c.storage_pools.get("default")`, `o.config = {"user.k": "v"}`, "/1.0/storage-pools/default", "config.user.k", "v"},
		{`c.storage_pools.get("default").volumes.get("custom", "v1")`, `o.description = "new"`,
			"/1.0/storage-pools/default/volumes/custom/v1", "description", "new"},
		{`c.images.get_by_alias("busybox")`, `o.properties["os"] = "tiny"`,
			"/1.0/images/" + fakelxd.BusyboxFingerprint, "properties.os", "tiny"},
	} {
		s.run("o = " + tc.get + "\n" + tc.edit + "\n" +
			"assert_eq(o.dirty, True)\no.save(wait=True)\nassert_eq(o.dirty, False)\n")
		got, ok := s.f.Get(tc.path)
		require.True(t, ok, tc.path)
		var v any = got
		for _, k := range strings.SplitN(tc.field, ".", 2) {
			v = v.(map[string]any)[k]
		}
		assert.Equal(t, tc.want, v, "%s after %s", tc.path, tc.edit)
	}
	// A pool's config keys fixed at creation go back even when the script
	// replaced the whole config (LXD refuses a PUT without them).
	pool, _ := s.f.Get("/1.0/storage-pools/default")
	assert.Equal(t, "/var/lib/lxd/storage-pools/default", pool["config"].(map[string]any)["source"])
}

func TestEventsStream(t *testing.T) {
	s := withInstance(t)
	s.run(`
		stream = c.events([lxd.EventType.Lifecycle])
		c.instances.get("c1").start(wait=True)
		ev = stream.next(timeout=5)
		assert_eq(ev["type"], "lifecycle")
		assert_eq(ev["metadata"]["action"], "instance-started")
		assert_eq(stream.next(timeout=0.1), None)
		stream.close()
	`)
	ls := s.f.Listeners()
	require.Len(t, ls, 1)
	assert.Equal(t, "lifecycle", ls[0].Query.Get("type"))
}

// A for loop over a stream fails when the server cuts it off (no failure
// goes unreported), and ends at once over a stream the script closed.
func TestEventsLoopFailsWhenTheStreamIsCut(t *testing.T) {
	s := withInstance(t)
	go func() {
		for len(s.f.Listeners()) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		s.f.Listeners()[0].Drop()
	}()
	err := s.fail(`
		for ev in c.events():
		    pass
	`)
	assert.Contains(t, err.Error(), "the event stream ended")
	s.run(`
		closed = c.events()
		closed.close()
		for ev in closed:
		    fail("a closed stream gave %s" % ev)
	`)
}

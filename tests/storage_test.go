package tests

import (
	"os"
	"path/filepath"
	"testing"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// createDirPool makes a dir pool whose source is a fresh temporary
// directory, through Starlark, and schedules its deletion.
func createDirPool(t *testing.T, c *rest.Client, name string) string {
	t.Helper()
	src := filepath.Join(t.TempDir(), "pool")
	if err := os.Mkdir(src, 0o711); err != nil {
		t.Fatal(err)
	}
	cleanupPath(t, c, rest.Path("storage-pools", name))
	newScript(t, c.Endpoint()).with("name", starlark.String(name)).with("src", starlark.String(src)).mustRun(`
pool = lxd.Client().storage_pools.create({"name": name, "driver": "dir", "config": {"source": src}}, wait=True)
if pool.driver != "dir" or pool.config["source"] != src or pool.used_by != [] or pool.status != "Created":
    fail("created pool reads %s" % pool.to_dict())
if repr(pool) != '<StoragePool "%s" dir>' % name:
    fail("repr: %s" % repr(pool))
`)
	return src
}

func TestStoragePoolSavePutPatchResources(t *testing.T) {
	parallelOnEachServer(t, testStoragePoolSavePutPatchResources)
}

func testStoragePoolSavePutPatchResources(t *testing.T, srv server) {
	c := restClient(t, srv.Socket)
	name := uniqueName("pool")
	src := createDirPool(t, c, name)

	newScript(t, srv.Socket).with("name", starlark.String(name)).with("src", starlark.String(src)).mustRun(`
client = lxd.Client()
if not client.storage_pools.exists(name) or name not in [p.name for p in client.storage_pools.all()]:
    fail("pool not listed")
pool = client.storage_pools.get(name)

res = pool.resources.get()
if res.space["total"] <= 0 or "used" not in res.inodes:
    fail("resources: %s" % res)

# The script replaces config without "source": LXD refuses a PUT that
# drops it, so save() must send the pool's source back.
pool.config = {"rsync.bwlimit": "1MB"}
pool.description = "saved"
pool.save()
if pool.dirty or pool.config != {"source": src, "rsync.bwlimit": "1MB"}:
    fail("after save: %s" % pool.to_dict())

pool.put({"description": "put", "config": {"source": src, "rsync.bwlimit": "2MB"}})
if pool.description != "put" or pool.config["rsync.bwlimit"] != "2MB" or pool.dirty:
    fail("after put: %s" % pool.to_dict())

# LXD 5.0's pool PATCH merges config but clears a description it is not
# given; patch() sends the dict as it is, so the object shows what the
# server did.
pool.patch({"config": {"rsync.compression": "false"}}, wait=True)
if pool.config != {"source": src, "rsync.bwlimit": "2MB", "rsync.compression": "false"}:
    fail("after patch: %s" % pool.config)
if pool.description != client.storage_pools.get(name).description:
    fail("patch did not sync the description")
pool.patch({"description": "put"})

r = catch(pool.put, {"description": "put", "config": {"source": "/elsewhere"}})
if not r.error or not r.error.is_a("LXDAPIException"):
    fail("changing the source: %s" % r)
`)
	got := serverObject(t, c, rest.Path("storage-pools", name))
	cfg, _ := got["config"].(map[string]any)
	if got["description"] != "put" || cfg["source"] != src || cfg["rsync.bwlimit"] != "2MB" || cfg["rsync.compression"] != "false" {
		t.Fatalf("server has %v", got)
	}
	deleteByScript(t, srv.Socket, c, "storage_pools", name, rest.Path("storage-pools", name))
}

func TestStorageVolumes(t *testing.T) { parallelOnEachServer(t, testStorageVolumes) }

func testStorageVolumes(t *testing.T, srv server) {
	c := restClient(t, srv.Socket)
	pool := uniqueName("pool")
	createDirPool(t, c, pool)
	vol, renamed, moved := uniqueName("vol"), uniqueName("vol"), uniqueName("vol")
	for _, p := range []string{volPath(pool, vol), volPath(pool, renamed), volPath("default", moved)} {
		cleanupPath(t, c, p)
	}

	newScript(t, srv.Socket).with("pool_name", starlark.String(pool)).with("vol", starlark.String(vol)).
		with("renamed", starlark.String(renamed)).with("moved", starlark.String(moved)).mustRun(`
client = lxd.Client()
pool = client.storage_pools.get(pool_name)
v = pool.volumes.create({"name": vol, "config": {"user.a": "1"}, "description": "first"}, wait=True)
if v.type != "custom" or v.pool != pool_name or v.config != {"user.a": "1"} or v.description != "first":
    fail("created volume reads %s" % v.to_dict())
if repr(v) != '<StorageVolume "%s" custom>' % vol or v.content_type != "filesystem":
    fail("repr %s, content_type %s" % (repr(v), v.content_type))
if not pool.volumes.exists("custom", vol) or pool.volumes.exists("custom", "nope"):
    fail("exists")
if pool.volumes.get("custom", vol) != v:
    fail("get() is not the same volume")
if [x.name for x in pool.volumes.all()] != [vol]:
    fail("all(): %s" % pool.volumes.all())

v.description = "saved"
v.config["user.b"] = "2"
v.save()
if v.dirty or v.config != {"user.a": "1", "user.b": "2"}:
    fail("after save: %s" % v.to_dict())

# A copy read before a change is stale: its save is refused. (LXD's
# volume ETag covers name, type and config, not the description.)
stale = pool.volumes.get("custom", vol)
v.config["user.z"] = "newer"
v.save()
stale.description = "stale"
r = catch(stale.save)
if not r.error or not r.error.is_a("Conflict"):
    fail("stale save: %s" % r)

v.put({"description": "put", "config": {"user.c": "3"}})
if v.description != "put" or v.config != {"user.c": "3"}:
    fail("after put: %s" % v.to_dict())
v.patch({"config": {"user.d": "4"}})
if v.config != {"user.c": "3", "user.d": "4"}:
    fail("after patch: %s" % v.config)

v.rename(renamed, wait=True)
if v.name != renamed or pool.volumes.exists("custom", vol) or not pool.volumes.exists("custom", renamed):
    fail("rename: %s" % v.to_dict())

# Renaming into another pool moves the volume; the object follows it.
v.rename(moved, wait=True, pool="default")
if v.name != moved or v.pool != "default" or v.config["user.d"] != "4":
    fail("move: %s" % v.to_dict())
if pool.volumes.exists("custom", renamed) or not client.storage_pools.get("default").volumes.exists("custom", moved):
    fail("volume not moved")
v.description = "in default"
v.save()

r = catch(v.rename, "x", False, "default")
if not r.error or "keyword-only" not in r.error.message:
    fail("positional pool: %s" % r)
v.delete()
if client.storage_pools.get("default").volumes.exists("custom", moved):
    fail("volume survived delete()")
`)
	for _, p := range []string{volPath(pool, vol), volPath(pool, renamed), volPath("default", moved)} {
		if serverExists(t, c, p) {
			t.Fatalf("%s exists", p)
		}
	}
}

func volPath(pool, name string) string {
	return rest.Path("storage-pools", pool, "volumes", "custom", name)
}

// A snapshot restore brings back the volume's content: for the dir driver
// a custom volume is a directory under the pool's source, which the test
// writes and reads directly.
func TestStorageVolumeSnapshots(t *testing.T) { parallelOnEachServer(t, testStorageVolumeSnapshots) }

func testStorageVolumeSnapshots(t *testing.T, srv server) {
	c := restClient(t, srv.Socket)
	pool := uniqueName("pool")
	src := createDirPool(t, c, pool)
	vol := uniqueName("vol")
	cleanupPath(t, c, volPath(pool, vol))
	s := func() *script {
		return newScript(t, srv.Socket).with("pool_name", starlark.String(pool)).with("vol", starlark.String(vol))
	}
	s().mustRun(`lxd.Client().storage_pools.get(pool_name).volumes.create({"name": vol}, wait=True)`)

	data := filepath.Join(src, "custom", "default_"+vol, "data.txt")
	if err := os.WriteFile(data, []byte("one"), 0o644); err != nil {
		t.Fatal(err)
	}
	s().mustRun(`
v = lxd.Client().storage_pools.get(pool_name).volumes.get("custom", vol)
snap = v.snapshots.create("s1", expires_at="2099-01-02T03:04:05Z", wait=True)
if snap.name != "s1" or not snap.expires_at.startswith("2099-01-02") or snap.dirty:
    fail("created snapshot reads %s" % snap.to_dict())
if repr(snap) != '<StorageVolumeSnapshot "s1">':
    fail("repr: %s" % repr(snap))

auto = v.snapshots.create(wait=True)      # LXD picks the name
if type(auto.name) != "string" or auto.name == "s1" or "/" in auto.name:
    fail("unnamed snapshot: %s" % auto.to_dict())
op = v.snapshots.create()                 # not waited: an Operation
if type(op) != "Operation":
    fail("create() without name and wait returned %s" % type(op))
third = op.wait()
r = catch(v.snapshots.create, "", wait=True)  # empty is a mistake, not "pick one"
if not r.error or "for parameter name" not in r.error.message:
    fail("create(\"\") gave %s" % r)
names = sorted([x.name for x in v.snapshots.all()])
if names != sorted(["s1", auto.name, third.name]):
    fail("all(): %s" % names)
if not v.snapshots.exists("s1") or v.snapshots.exists("nope") or v.snapshots.get("s1") != snap:
    fail("exists/get")
for x in v.snapshots.all():
    if x.expires_at != None and not x.expires_at.startswith("2099"):
        fail("listed expiry: %s" % x.to_dict())

snap.description = "before change"
snap.expires_at = "2098-05-06T07:08:09Z"
snap.save()
if snap.dirty or not snap.expires_at.startswith("2098-05-06"):
    fail("after save: %s" % snap.to_dict())
snap.rename("s1b", wait=True)
if snap.name != "s1b" or v.snapshots.exists("s1"):
    fail("rename: %s" % snap.name)
auto.delete(wait=True)
third.delete(wait=True)
if v.snapshots.exists(auto.name):
    fail("snapshot survived delete()")
`)
	got := serverObject(t, c, volPath(pool, vol)+"/snapshots/s1b")
	if got["description"] != "before change" || got["expires_at"] != "2098-05-06T07:08:09Z" {
		t.Fatalf("server snapshot: %v", got)
	}

	if err := os.WriteFile(data, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	s().mustRun(`
v = lxd.Client().storage_pools.get(pool_name).volumes.get("custom", vol)
v.snapshots.get("s1b").restore(wait=True)
`)
	if b, err := os.ReadFile(data); err != nil || string(b) != "one" {
		t.Fatalf("after restore the volume holds %q (%v), want \"one\"", b, err)
	}
	s().mustRun(`
v = lxd.Client().storage_pools.get(pool_name).volumes.get("custom", vol)
v.snapshots.get("s1b").delete(wait=True)
if v.snapshots.all() != []:
    fail("snapshots left: %s" % v.snapshots.all())
v.delete()
`)
	requireGone(t, c, volPath(pool, vol), "volume still on the server")
}

func TestStorageArguments(t *testing.T) { parallelOnEachServer(t, testStorageArguments) }

func testStorageArguments(t *testing.T, srv server) {
	s := newScript(t, srv.Socket)
	mustFail(t, s, `lxd.Client().storage_pools.create({"driver": "dir"})`, `storage_pools.create: for parameter definition: a valid "name" is required`)
	mustFail(t, s, `lxd.Client().storage_pools.get("default").volumes.get("custom")`, "StoragePool.volumes.get: missing argument for name")
	mustFail(t, s, `lxd.Client().storage_pools.get("default").volumes.get("", "x")`, "for parameter type: empty volume type")
	mustFail(t, s, `p = lxd.Client().storage_pools.get("default")
p.name = "x"`, "StoragePool.name is read-only")
	mustFail(t, s, `lxd.Client().storage_pools.get("default").put("x")`, "StoragePool.put: for parameter put_object: got string, want dict")
}

// rename(project=...) moves a custom volume to another project; the object
// follows it and keeps working there.
func TestStorageVolumeMoveToProject(t *testing.T) {
	parallelOnEachServer(t, testStorageVolumeMoveToProject)
}

func testStorageVolumeMoveToProject(t *testing.T, srv server) {
	c := restClient(t, srv.Socket)
	proj, vol := uniqueName("proj"), uniqueName("vol")
	createProject(t, c, proj)
	cleanupPath(t, c.WithProject(proj), volPath("default", vol))
	cleanupPath(t, c, volPath("default", vol))

	newScript(t, srv.Socket).with("proj", starlark.String(proj)).with("vol", starlark.String(vol)).mustRun(`
client = lxd.Client()
pool = client.storage_pools.get("default")
v = pool.volumes.create({"name": vol, "config": {"user.k": "v"}})
v.rename(vol, project=proj, wait=True)
if pool.volumes.exists("custom", vol):
    fail("still in the default project")
pv = lxd.Client(project=proj).storage_pools.get("default").volumes.get("custom", vol)
if pv.config["user.k"] != "v" or v.config["user.k"] != "v":
    fail("moved volume: %s" % pv.to_dict())
v.description = "in " + proj
v.save()
if lxd.Client(project=proj).storage_pools.get("default").volumes.get("custom", vol).description != "in " + proj:
    fail("save() after the move did not reach the project")
v.delete()
`)
	if serverExists(t, c.WithProject(proj), volPath("default", vol)) || serverExists(t, c, volPath("default", vol)) {
		t.Fatal("volume left behind")
	}
}

package tests

import (
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// deleteImageLater removes an image (by fingerprint) from the server at
// socket when the test ends.
func deleteImageLater(t testing.TB, socket, fingerprint string) {
	t.Helper()
	c := restClient(t, socket)
	t.Cleanup(func() {
		_ = sendAndWait(c, &rest.Request{Method: "DELETE", Path: rest.Path("images", fingerprint)}, time.Minute)
	})
}

func TestSnapshotRestoreRestoresFiles(t *testing.T) {
	parallelOnEachServer(t, testSnapshotRestoreRestoresFiles)
}

func testSnapshotRestoreRestoresFiles(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "snap", false)
	out := newScript(t, srv.Socket).with("NAME", starlark.String(name)).mustRun(`
c = lxd.Client()
inst = c.instances.get(NAME)
inst.files.put("/root/state", "v1")
snap = inst.snapshots.create("s1", wait=True)
inst.files.put("/root/state", "v2")
inst.restore_snapshot("s1", wait=True)
print(str(inst.files.get("/root/state")))
inst.files.put("/root/state", "v3")
op = snap.restore()
print(type(op))
op.wait()
print(str(inst.files.get("/root/state")))
`)
	if out != "v1\nOperation\nv1\n" {
		t.Fatalf("got %q", out)
	}
	if _, body := issue3RawFile(t, srv, name, "/root/state"); string(body) != "v1" {
		t.Fatalf("server has %q", body)
	}
}

func TestSnapshotManagerLifecycle(t *testing.T) {
	parallelOnEachServer(t, testSnapshotManagerLifecycle)
}

func testSnapshotManagerLifecycle(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "snap", false)
	s := newScript(t, srv.Socket).with("NAME", starlark.String(name))
	out := s.mustRun(`
c = lxd.Client()
inst = c.instances.get(NAME)
snaps = inst.snapshots
a = snaps.create("a", wait=True)
print(a.name, a.stateful, a.dirty, a.operation)
b = snaps.create("b", expires_at="2040-01-02T03:04:05Z")
print(b.name, b.operation != None)
b.operation.wait()
print(b.operation, b.expires_at)
print(sorted([s.name for s in snaps.all()]))
print(snaps.exists("a"), snaps.exists("nope"))
got = snaps.get("a")
print(got == a, repr(got))
r = catch(snaps.get, "nope")
print(r.error.kind)

# rename in place
a.rename("renamed", wait=True)
print(a.name, snaps.exists("a"), snaps.exists("renamed"))

# expires_at is writable and saved
a.expires_at = "2041-05-06T07:08:09Z"
print(a.dirty)
a.save(wait=True)
print(a.dirty, a.expires_at)
def set_name():
    a.name = "x"
r = catch(set_name)
print("rename" in r.error.message)

b.delete(wait=True)
print(snaps.exists("b"))
`)
	want := `a False False None
b True
None 2040-01-02T03:04:05Z
["a", "b"]
True False
True <Snapshot "a" of ` + name + `>
NotFound
renamed False True
True
False 2041-05-06T07:08:09Z
True
False
`
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	c := restClient(t, srv.Socket)
	base := rest.Path("instances", name, "snapshots")
	if serverExists(t, c, base+"/a") || serverExists(t, c, base+"/b") {
		t.Fatal("old snapshot names still exist on the server")
	}
	snap := serverObject(t, c, base+"/renamed")
	if snap["name"] != "renamed" || !strings.HasPrefix(snap["expires_at"].(string), "2041-05-06T07:08:09") {
		t.Fatalf("server has %v / %v", snap["name"], snap["expires_at"])
	}
}

func TestSnapshotPublishAndInstancePublish(t *testing.T) {
	parallelOnEachServer(t, testSnapshotPublishAndInstancePublish)
}

func testSnapshotPublishAndInstancePublish(t *testing.T, srv server) {
	name := uniqueName("pub")
	launched := uniqueName("pub-launch")
	alias := uniqueName("pub-alias")
	createInstance(t, srv.Socket, name, false)
	cleanupInstance(t, srv.Socket, launched)
	s := newScript(t, srv.Socket).with("NAME", starlark.String(name)).with("LAUNCHED", starlark.String(launched)).with("ALIAS", starlark.String(alias))
	out, err := s.run(`
c = lxd.Client()
inst = c.instances.get(NAME)
inst.files.put("/root/marker", "published")
snap = inst.snapshots.create("s0", wait=True)
op = snap.publish()
print(type(op))
img1 = op.wait()
print(type(img1), img1.public)
inst.files.put("/root/after-snapshot", NAME)  # so the two images differ

img2 = inst.publish(wait=True, alias=ALIAS, public=True)
print(type(img2), img2.public, [a["name"] for a in img2.aliases] == [ALIAS])
new = c.instances.create({"name": LAUNCHED, "source": {"type": "image", "fingerprint": img2.fingerprint}}, wait=True)
new.start(wait=True)
print(new.status)
print(str(new.files.get("/root/marker")))
`)
	// Clean the images up whatever happened.
	for _, g := range []string{"img1", "img2"} {
		if m, ok := s.globals[g]; ok {
			if fp, err := starlark.Call(&starlark.Thread{}, mustAttr(t, m, "to_dict"), nil, nil); err == nil {
				if v, _, _ := fp.(*starlark.Dict).Get(starlark.String("fingerprint")); v != nil {
					deleteImageLater(t, srv.Socket, string(v.(starlark.String)))
				}
			}
		}
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out != "Operation\nImage False\nImage True True\nRunning\npublished\n" {
		t.Fatalf("got %q", out)
	}
	c := restClient(t, srv.Socket)
	if st := serverObject(t, c, rest.Path("instances", launched)); st["status"] != "Running" {
		t.Fatalf("launched instance is %v", st["status"])
	}
	if a := serverObject(t, c, rest.Path("images", "aliases", alias)); a["target"] == "" {
		t.Fatalf("alias %s: %v", alias, a)
	}
}

func mustAttr(t testing.TB, v starlark.Value, name string) starlark.Value {
	t.Helper()
	a, err := v.(starlark.HasAttrs).Attr(name)
	if err != nil || a == nil {
		t.Fatalf("%s has no .%s (%v)", v, name, err)
	}
	return a
}

func TestInstanceCopySameServer(t *testing.T) { parallelOnEachServer(t, testInstanceCopySameServer) }

func testInstanceCopySameServer(t *testing.T, srv server) {
	name := uniqueName("copy")
	full, only, async := uniqueName("copy-full"), uniqueName("copy-only"), uniqueName("copy-async")
	createInstance(t, srv.Socket, name, false)
	for _, n := range []string{full, only, async} {
		cleanupInstance(t, srv.Socket, n)
	}
	s := newScript(t, srv.Socket).with("NAME", starlark.String(name)).
		with("FULL", starlark.String(full)).with("ONLY", starlark.String(only)).with("ASYNC", starlark.String(async))
	out := s.mustRun(`
c = lxd.Client()
inst = c.instances.get(NAME)
inst.config["user.copied"] = "yes"
inst.description = "source"
inst.save(wait=True)
inst.files.put("/root/f", "copied file")
inst.snapshots.create("s0", wait=True)

full = inst.copy(FULL, wait=True)
print(type(full), full.name, full.status, full.config.get("user.copied"), full.description)
print([s.name for s in full.snapshots.all()])
print(str(full.files.get("/root/f")))

only = inst.copy(ONLY, instance_only=True, wait=True)
print([s.name for s in only.snapshots.all()])

a = inst.copy(ASYNC)
print(a.name, a.operation != None)
lxd.wait_all(a)
print(a.operation, a.status)

r = catch(inst.copy, FULL, new_client=c, wait=True)
print(r.error.kind)
r = catch(inst.copy, "t-never-created", target="node2", wait=True)
print(r.error.kind, c.instances.exists("t-never-created"))
`)
	want := `Instance ` + full + ` Stopped yes source
["s0"]
copied file
[]
` + async + ` True
None Stopped
Conflict
LXDAPIException False
`
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	c := restClient(t, srv.Socket)
	src := serverObject(t, c, rest.Path("instances", name))
	for _, n := range []string{full, only, async} {
		got := serverObject(t, c, rest.Path("instances", n))
		cfg := got["config"].(map[string]any)
		if cfg["user.copied"] != "yes" || got["type"] != src["type"] {
			t.Errorf("%s: config %v type %v", n, cfg, got["type"])
		}
		if cfg["volatile.uuid"] == src["config"].(map[string]any)["volatile.uuid"] {
			t.Errorf("%s: volatile.uuid copied from the source", n)
		}
	}
}

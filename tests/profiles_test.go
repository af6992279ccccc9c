package tests

import (
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// cleanupPath deletes path on the main daemon when the test ends (waiting
// for an asynchronous delete; a missing object is fine).
func cleanupPath(t testing.TB, c *rest.Client, path string) {
	t.Helper()
	t.Cleanup(func() { deletePath(c, path) })
}

// namesForRename returns two fresh names ("t-<prefix>-…") for an object of
// collection that the test creates under old and renames to renamed; the
// object is deleted when the test ends, under either name.
func namesForRename(t testing.TB, c *rest.Client, collection, prefix string) (old, renamed string) {
	t.Helper()
	old, renamed = uniqueName(prefix), uniqueName(prefix)
	cleanupPath(t, c, rest.Path(collection, old))
	cleanupPath(t, c, rest.Path(collection, renamed))
	return old, renamed
}

func deletePath(c *rest.Client, path string) {
	_ = sendAndWait(c, &rest.Request{Method: "DELETE", Path: path}, 30*time.Second)
}

// mustFail runs src, which must fail with an error containing want.
func mustFail(t *testing.T, s *script, src, want string) {
	t.Helper()
	out, err := s.run(src)
	if err == nil {
		t.Fatalf("script succeeded, want an error containing %q; output:\n%s", want, out)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("got error %v, want one containing %q", err, want)
	}
}

func TestProfileCreateSaveRename(t *testing.T) { parallelOnEachServer(t, testProfileCreateSaveRename) }

func testProfileCreateSaveRename(t *testing.T, srv server) {
	c := restClient(t, srv.Socket)
	old, renamed := namesForRename(t, c, "profiles", "prof")

	newScript(t, srv.Socket).with("old", starlark.String(old)).with("renamed", starlark.String(renamed)).mustRun(`
client = lxd.Client()
p = client.profiles.create(old, config={"limits.cpu": "1"},
    devices={"root": {"path": "/", "pool": "default", "type": "disk"}}, description="first")
if p.name != old or p.config != {"limits.cpu": "1"} or p.description != "first":
    fail("created profile reads %s" % p.to_dict())
if p.dirty or repr(p) != '<Profile "%s">' % old or p.used_by != []:
    fail("fresh profile: dirty=%s repr=%s used_by=%s" % (p.dirty, repr(p), p.used_by))
if old not in [x.name for x in client.profiles.all()]:
    fail("all() misses the new profile")
if client.profiles.get(old) != p:
    fail("get() is not the same profile")

p.config["security.nesting"] = "true"
p.devices["eth9"] = {"type": "none"}
if not p.dirty:
    fail("nested edits did not make the profile dirty")
p.save()
if p.dirty:
    fail("dirty after save")

p.rename(renamed)
if p.name != renamed:
    fail("rename did not update the object: %s" % p.name)
if not client.profiles.exists(renamed) or client.profiles.exists(old):
    fail("exists after rename: new=%s old=%s" % (client.profiles.exists(renamed), client.profiles.exists(old)))
p.description = "after rename"
p.save()
`)
	requireGone(t, c, rest.Path("profiles", old), "profile still exists after the rename")
	got := serverObject(t, c, rest.Path("profiles", renamed))
	cfg, _ := got["config"].(map[string]any)
	devs, _ := got["devices"].(map[string]any)
	if cfg["security.nesting"] != "true" || cfg["limits.cpu"] != "1" || devs["eth9"] == nil || devs["root"] == nil || got["description"] != "after rename" {
		t.Fatalf("server has %v", got)
	}

	deleteByScript(t, srv.Socket, c, "profiles", renamed, rest.Path("profiles", renamed))
}

func TestProfileArgumentsAndReadOnlyName(t *testing.T) {
	parallelOnEachServer(t, testProfileArgumentsAndReadOnlyName)
}

func testProfileArgumentsAndReadOnlyName(t *testing.T, srv server) {
	name := uniqueName("prof")
	c := restClient(t, srv.Socket)
	cleanupPath(t, c, rest.Path("profiles", name))
	s := newScript(t, srv.Socket).with("name", starlark.String(name))
	mustFail(t, s, `lxd.Client().profiles.create(name, config="x")`, `profiles.create: for parameter "config": got string, want dict`)
	mustFail(t, s, `lxd.Client().profiles.create("")`, "profiles.create: for parameter name: invalid name")
	mustFail(t, s, `lxd.Client().profiles.get("default").rename(new_name="")`, `Profile.rename: for parameter "new_name": invalid name ""`)
	mustFail(t, s, `lxd.Client().profiles.get("default").rename(name="x")`, "unexpected keyword argument \"name\"")
	mustFail(t, s, `p = lxd.Client().profiles.get("default")
p.name = "x"`, "rename(")
	mustFail(t, s, `lxd.Client().profiles.get(name)`, "NotFound")
	requireGone(t, c, rest.Path("profiles", name), "a failed create left a profile behind")
}

// A profile read twice and changed through one copy refuses the stale save.
func TestProfileSaveConflict(t *testing.T) { parallelOnEachServer(t, testProfileSaveConflict) }

func testProfileSaveConflict(t *testing.T, srv server) {
	name := uniqueName("prof")
	c := restClient(t, srv.Socket)
	cleanupPath(t, c, rest.Path("profiles", name))
	newScript(t, srv.Socket).with("name", starlark.String(name)).mustRun(`
client = lxd.Client()
a = client.profiles.create(name)
b = client.profiles.get(name)
a.description = "a"
a.save()
b.description = "b"
r = catch(b.save)
if not r.error or not r.error.is_a("Conflict"):
    fail("stale save: %s" % r.error)
`)
	if d := serverObject(t, c, rest.Path("profiles", name))["description"]; d != "a" {
		t.Fatalf("description %v, want a", d)
	}
}

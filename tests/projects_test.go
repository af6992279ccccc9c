package tests

import (
	"testing"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// createProject makes a project that uses the default project's images and
// profiles (so busybox and the default profile work in it) and schedules
// its deletion; cleanups registered later run first.
func createProject(t *testing.T, c *rest.Client, name string) {
	t.Helper()
	cleanupPath(t, c, rest.Path("projects", name))
	newScript(t, c.Endpoint()).with("name", starlark.String(name)).mustRun(`
p = lxd.Client().projects.create(name, description="lxdstar test",
    config={"features.images": "false", "features.profiles": "false"})
if p.name != name or p.config["features.images"] != "false" or p.description != "lxdstar test":
    fail("created project reads %s" % p.to_dict())
`)
}

func TestProjectScopedClient(t *testing.T) { parallelOnEachServer(t, testProjectScopedClient) }

func testProjectScopedClient(t *testing.T, srv server) {
	c := restClient(t, srv.Socket)
	proj, inProj, inDefault := uniqueName("proj"), uniqueName("pinst"), uniqueName("dinst")
	createProject(t, c, proj)
	pc := c.WithProject(proj)
	cleanupPath(t, c, rest.Path("instances", inDefault))
	t.Cleanup(func() { deleteInstance(pc, inProj) })
	createInstance(t, srv.Socket, inDefault, false)

	newScript(t, srv.Socket).with("proj", starlark.String(proj)).with("in_proj", starlark.String(inProj)).
		with("in_default", starlark.String(inDefault)).mustRun(`
client = lxd.Client()
pc = lxd.Client(project=proj)
if pc.project != proj or client.project != None:
    fail("project attributes: %s %s" % (pc.project, client.project))
inst = pc.instances.create({"name": in_proj, "source": {"type": "image", "alias": "busybox"}}, wait=True)
if inst.project != proj:
    fail("instance created in project %s" % inst.project)

if not pc.instances.exists(in_proj) or client.instances.exists(in_proj):
    fail("project instance visible: project=%s default=%s" % (pc.instances.exists(in_proj), client.instances.exists(in_proj)))
if pc.instances.exists(in_default) or not client.instances.exists(in_default):
    fail("default instance visible: project=%s default=%s" % (pc.instances.exists(in_default), client.instances.exists(in_default)))
names = [i.name for i in pc.instances.all()]
if names != [in_proj]:
    fail("project client lists %s" % names)
if in_proj in [i.name for i in client.instances.all()]:
    fail("default client lists the project's instance")
r = catch(client.instances.get, in_proj)
if not r.error or not r.error.is_a("NotFound"):
    fail("default client got the project's instance: %s" % r)
if "/1.0/instances/%s?project=%s" % (in_proj, proj) not in client.projects.get(proj).used_by:
    fail("used_by: %s" % client.projects.get(proj).used_by)
`)
	if !serverExists(t, pc, rest.Path("instances", inProj)) {
		t.Fatal("the instance is not in the project on the server")
	}
	requireGone(t, c, rest.Path("instances", inProj), "the instance landed in the default project")
}

func TestProjectSaveRenameDelete(t *testing.T) { parallelOnEachServer(t, testProjectSaveRenameDelete) }

func testProjectSaveRenameDelete(t *testing.T, srv server) {
	c := restClient(t, srv.Socket)
	old, renamed := uniqueName("proj"), uniqueName("proj")
	createProject(t, c, old)
	cleanupPath(t, c, rest.Path("projects", renamed))

	newScript(t, srv.Socket).with("old", starlark.String(old)).with("renamed", starlark.String(renamed)).mustRun(`
client = lxd.Client()
p = client.projects.get(old)
p.config["limits.instances"] = "4"
p.description = "The four horsemen"
p.save()
if p.dirty or p.config["limits.instances"] != "4":
    fail("after save: %s" % p.to_dict())
p.rename(renamed, wait=True)
if p.name != renamed or repr(p) != '<Project "%s">' % renamed:
    fail("rename: %s" % repr(p))
if client.projects.exists(old) or not client.projects.exists(renamed):
    fail("exists after rename")
if p.config["limits.instances"] != "4":
    fail("config lost in rename: %s" % p.config)
`)
	requireGone(t, c, rest.Path("projects", old), "old project name still exists")
	got := serverObject(t, c, rest.Path("projects", renamed))
	if cfg, _ := got["config"].(map[string]any); cfg["limits.instances"] != "4" || got["description"] != "The four horsemen" {
		t.Fatalf("server has %v", got)
	}
	deleteByScript(t, srv.Socket, c, "projects", renamed, rest.Path("projects", renamed))
}

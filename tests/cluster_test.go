package tests

// Clustering (groups, writable members, evacuate/restore, placement in a
// group) on the test bed's two-member cluster, and warnings and metrics on
// the main daemon. The test bodies take the socket so they can run on
// every server of the test bed.

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// doOp sends a request and waits for the operation it may start.
func doOp(t testing.TB, c *rest.Client, req *rest.Request) {
	t.Helper()
	require.NoError(t, sendAndWait(c, req, 2*time.Minute), "%s %s", req.Method, req.Path)
}

// createOnMember makes a stopped busybox container on a cluster member and
// deletes it when the test ends.
func createOnMember(t *testing.T, socket, name, member string) {
	t.Helper()
	c := restClient(t, socket)
	t.Cleanup(func() { deleteInstance(c, name) })
	doOp(t, c, &rest.Request{Method: "POST", Path: rest.Path("instances"), Query: url.Values{"target": {member}},
		Body: map[string]any{"name": name, "source": map[string]any{"type": "image", "alias": imageAlias}}})
}

// deleteGroupLater empties a cluster group (LXD deletes only empty ones)
// and deletes it when the test ends; a missing group is fine.
func deleteGroupLater(t *testing.T, c *rest.Client, name string) {
	t.Cleanup(func() {
		ctx := context.Background()
		path := rest.Path("cluster", "groups", name)
		_, _ = c.Do(ctx, &rest.Request{Method: "PUT", Path: path, Body: map[string]any{"description": "", "members": []string{}}})
		_, _ = c.Do(ctx, &rest.Request{Method: "DELETE", Path: path})
	})
}

func sortedStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	sort.Strings(out)
	return out
}

func TestClusterGroups(t *testing.T) {
	t.Parallel()
	c := restClient(t, node1Socket)
	grp, renamed, inst := uniqueName("grp"), uniqueName("grp"), uniqueName("ingrp")
	deleteGroupLater(t, c, grp)
	deleteGroupLater(t, c, renamed)
	cleanupInstance(t, node1Socket, inst)

	s := newScript(t, node1Socket).with("grp", str(grp)).with("renamed", str(renamed))
	s.mustRun(`
c = lxd.Client()
g = c.cluster.groups.create(grp, description="first", members=["node2"])
if g.name != grp or g.description != "first" or g.members != ["node2"] or g.dirty:
    fail("created group reads %s dirty=%s" % (g.to_dict(), g.dirty))
if repr(g) != '<ClusterGroup "%s">' % grp:
    fail("repr: %r" % g)
for bad in ["", "bad name!", "x/y", "a_b"]:
    if not catch(c.cluster.groups.create, bad).error:
        fail("created a group named %r" % bad)
if not c.cluster.groups.exists(grp) or grp not in [x.name for x in c.cluster.groups.all()]:
    fail("the new group is not listed")
if c.cluster.groups.get(grp) != g or c.cluster.get().groups.get(grp).members != ["node2"]:
    fail("get() disagrees")
def set_name(obj):
    obj.name = "x"
if "rename(new_name)" not in catch(set_name, g).error.message:
    fail("assigning name does not point to rename()")

# Dirty tracking: assignments and nested mutations, undone and redone.
g.description = "second"
g.members.append("node1")
if not g.dirty:
    fail("not dirty after edits")
g.description = "first"
g.members.remove("node1")
if g.dirty:
    fail("dirty after undoing the edits")
g.description = "second"
g.members.append("node1")
g.save()
if g.dirty or sorted(g.members) != ["node1", "node2"]:
    fail("after save: %s" % g.to_dict())
`)
	got := serverObject(t, c, rest.Path("cluster", "groups", grp))
	assert.Equal(t, "second", got["description"])
	assert.Equal(t, []string{"node1", "node2"}, sortedStrings(got["members"]))
	assert.Contains(t, serverObject(t, c, rest.Path("cluster", "members", "node1"))["groups"], grp)
	for _, bad := range []string{"bad name!", "a_b"} {
		assert.False(t, serverExists(t, c, rest.Path("cluster", "groups", bad)), bad)
	}

	s.mustRun(`
c = lxd.Client()
g = c.cluster.groups.get(grp)
g.rename(renamed)
if g.name != renamed or c.cluster.groups.exists(grp):
    fail("rename: %s, old name exists: %s" % (g.name, c.cluster.groups.exists(grp)))
g.members = ["node2"]
g.save()
`)
	assert.False(t, serverExists(t, c, rest.Path("cluster", "groups", grp)))
	got = serverObject(t, c, rest.Path("cluster", "groups", renamed))
	assert.Equal(t, "second", got["description"])
	assert.Equal(t, []string{"node2"}, sortedStrings(got["members"]))

	// target="@group" places the instance on a member of the group.
	out := s.with("inst", str(inst)).mustRun(`
c = lxd.Client()
i = c.instances.create({"name": inst, "source": {"type": "image", "alias": "busybox"}}, target="@" + renamed, wait=True)
print(i.location)
`)
	assert.Equal(t, "node2\n", out)
	assert.Equal(t, "node2", serverObject(t, c, rest.Path("instances", inst))["location"])

	// LXD deletes only empty groups: empty it, then delete.
	s.mustRun(`
c = lxd.Client()
g = c.cluster.groups.get(renamed)
r = catch(g.delete)
if not r.error or not r.error.is_a("LXDAPIException"):
    fail("deleting a group with members: %s" % r)
g.members = []
g.save()
g.delete()
if c.cluster.groups.exists(renamed):
    fail("still exists")
`)
	assert.False(t, serverExists(t, c, rest.Path("cluster", "groups", renamed)))
}

// memberPut is what a member's PUT takes, as the server has it now.
func memberPut(t *testing.T, c *rest.Client, name string) map[string]any {
	m := serverObject(t, c, rest.Path("cluster", "members", name))
	return map[string]any{"description": m["description"], "config": m["config"], "groups": m["groups"],
		"failure_domain": m["failure_domain"], "roles": m["roles"]}
}

// TestClusterMemberSave edits node1, which holds LXD's "database" role
// (a PUT without it fails). It is not parallel: the bad-input test checks
// that node1 does not change.
func TestClusterMemberSave(t *testing.T) {
	c := restClient(t, node1Socket)
	grp := uniqueName("mgrp")
	doOp(t, c, &rest.Request{Method: "POST", Path: rest.Path("cluster", "groups"), Body: map[string]any{"name": grp}})
	deleteGroupLater(t, c, grp)
	before := memberPut(t, c, "node1")
	t.Cleanup(func() {
		// Put node1 back as it was (and out of the test's group).
		_, err := c.Do(context.Background(), &rest.Request{Method: "PUT", Path: rest.Path("cluster", "members", "node1"), Body: before})
		assert.NoError(t, err, "restoring node1")
	})
	desc, key := uniqueName("desc"), "user."+strings.ReplaceAll(uniqueName("k"), "-", "_")

	s := newScript(t, node1Socket).with("grp", str(grp)).with("desc", str(desc)).with("key", str(key))
	s.mustRun(`
c = lxd.Client()
m = c.cluster.members.get("node1")
if m.dirty or repr(m) != '<ClusterMember "node1" Online>':
    fail("fresh member: %r dirty=%s" % (m, m.dirty))
def set_roles(obj):
    obj.roles = []
def set_status(obj):
    obj.status = "Online"
for f in [set_roles, set_status]:
    r = catch(f, m)
    if not r.error or "read-only" not in r.error.message:
        fail("%s: %s" % (f, r))
m.description = desc
m.config[key] = "v1"
m.groups.append(grp)
if not m.dirty:
    fail("not dirty")
m.save()
if m.dirty or m.description != desc or m.config[key] != "v1" or grp not in m.groups:
    fail("after save: %s" % m.to_dict())
`)
	got := serverObject(t, c, rest.Path("cluster", "members", "node1"))
	assert.Equal(t, desc, got["description"])
	assert.Equal(t, "v1", got["config"].(map[string]any)[key])
	assert.Contains(t, got["groups"], grp)
	assert.Equal(t, before["roles"], got["roles"], "save changed the roles")
	assert.Equal(t, before["failure_domain"], got["failure_domain"])
	assert.Equal(t, []string{"node1"}, sortedStrings(serverObject(t, c, rest.Path("cluster", "groups", grp))["members"]))

	// If-Match: a change made on the server since the object was read
	// makes save fail with Conflict and leaves the server alone; sync()
	// then save() sends the script's own change only.
	out := s.mustRun(`
c = lxd.Client()
m = c.cluster.members.get("node1")
d = m.to_dict()
theirs = {k: d[k] for k in ["description", "groups", "failure_domain", "roles"]}
theirs["config"] = dict(d["config"])
theirs["config"][key] = "theirs"
r = c.api.cluster.members["node1"].put(json=theirs)
if r.status_code != 200:
    fail("raw PUT: %s" % r.json())
m.description = "mine"
r = catch(m.save)
print(r.error.kind if r.error else "saved")
m.sync()
m.save()
print(m.description, m.config[key])
`)
	assert.Equal(t, "Conflict\nmine theirs\n", out)
	got = serverObject(t, c, rest.Path("cluster", "members", "node1"))
	assert.Equal(t, "mine", got["description"])
	assert.Equal(t, "theirs", got["config"].(map[string]any)[key])
}

// restoreNode2 brings node2 back if it is evacuated: the other tests need
// the whole cluster.
func restoreNode2(t *testing.T, c *rest.Client) {
	path := rest.Path("cluster", "members", "node2")
	m := serverObject(t, c, path)
	if m["status"] != "Evacuated" {
		return
	}
	t.Log("restoring node2")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.SendAndWait(ctx, &rest.Request{Method: "POST", Path: path + "/state", Body: map[string]any{"action": "restore"}}); err != nil {
		t.Errorf("restoring node2: %v", err)
	}
}

// TestClusterEvacuateRestore evacuates node2, which moves every instance
// on it, and restores it. It is not parallel: while node2 is evacuated,
// the other cluster tests could not place instances on it.
func TestClusterEvacuateRestore(t *testing.T) {
	c := restClient(t, node1Socket)
	name := uniqueName("evac")
	createOnMember(t, node1Socket, name, "node2")
	require.Equal(t, "node2", serverObject(t, c, rest.Path("instances", name))["location"])
	t.Cleanup(func() { restoreNode2(t, c) })

	s := newScript(t, node1Socket)
	out := s.mustRun(`
c = lxd.Client()
m = c.cluster.members.get("node2")
op = m.evacuate()
print(type(op), op.description)
op.wait()
print(m.status, m.dirty)
`)
	assert.Equal(t, "Operation Evacuating cluster member\nEvacuated False\n", out)
	assert.Equal(t, "Evacuated", serverObject(t, c, rest.Path("cluster", "members", "node2"))["status"])
	assert.Equal(t, "node1", serverObject(t, c, rest.Path("instances", name))["location"], "the stopped instance did not move")

	out = s.mustRun(`
c = lxd.Client()
m = c.cluster.members.get("node2")
print(m.status)
r = catch(m.evacuate, wait=True)
print(r.error.kind if r.error else "evacuated twice")
print(m.restore(wait=True), m.status)
`)
	assert.Equal(t, "Evacuated\nLXDAPIException\nNone Online\n", out)
	assert.Equal(t, "Online", serverObject(t, c, rest.Path("cluster", "members", "node2"))["status"])
	assert.Equal(t, "node2", serverObject(t, c, rest.Path("instances", name))["location"], "restore did not bring the instance back")
}

// testMemberState checks member.state() where the server has the
// cluster_member_state extension, and the error where it does not.
func testMemberState(t *testing.T, socket, member string) {
	out := newScript(t, socket).with("member", str(member)).mustRun(`
c = lxd.Client()
m = c.cluster.members.get(member)
if c.has_api_extension("cluster_member_state"):
    st = m.state()
    print(type(st), sorted(st.keys()), st["sysinfo"]["logical_cpus"] > 0)
else:
    r = catch(m.state)
    print(r.error.kind, "cluster_member_state" in r.error.message)
`)
	if strings.HasPrefix(out, "dict") {
		assert.Contains(t, out, `"storage_pools", "sysinfo"`)
		assert.True(t, strings.HasSuffix(out, "True\n"), out)
		return
	}
	assert.Equal(t, "LXDAPIExtensionNotAvailable True\n", out)
}

func TestClusterMemberState(t *testing.T) {
	t.Parallel()
	testMemberState(t, node1Socket, "node2") // LXD 5.0 lacks the extension
}

// dnsmasqWarning is what LXD records when a bridge has raw.dnsmasq set (it
// then runs dnsmasq without AppArmor): a harmless way to get a warning of
// one's own on the test bed. Deleting the network deletes the warning.
const dnsmasqWarning = "Skipping AppArmor for dnsmasq due to raw.dnsmasq being set"

func warningUUIDs(t *testing.T, c *rest.Client, typ string) map[string]bool {
	var ws []map[string]any
	r, err := c.Do(context.Background(), &rest.Request{Method: "GET", Path: rest.Path("warnings"), Query: url.Values{"recursion": {"1"}}})
	require.NoError(t, err)
	require.NoError(t, r.Decode(&ws))
	out := map[string]bool{}
	for _, w := range ws {
		if w["type"] == typ {
			out[w["uuid"].(string)] = true
		}
	}
	return out
}

// testWarnings causes a warning on the server at socket with a bridge
// that never carries a packet (a benchmarking-range address, no NAT, no
// DHCP, nothing attached), then lists, acknowledges, saves and deletes it.
func testWarnings(t *testing.T, socket string) {
	holdHostLinks(t) // it makes and deletes a bridge: see hostLinks
	c := restClient(t, socket)
	before := warningUUIDs(t, c, dnsmasqWarning)
	net := uniqueName("w")
	cleanupPath(t, c, rest.Path("networks", net))
	doOp(t, c, &rest.Request{Method: "POST", Path: rest.Path("networks"), Body: map[string]any{"name": net, "type": "bridge",
		"config": map[string]any{"ipv4.address": fmt.Sprintf("198.19.%d.1/24", rand.IntN(250)+1), "ipv4.nat": "false",
			"ipv4.dhcp": "false", "ipv6.address": "none", "raw.dnsmasq": "# lxdstar warnings test"}}})
	var uuid string
	require.Eventually(t, func() bool {
		for u := range warningUUIDs(t, c, dnsmasqWarning) {
			if !before[u] {
				uuid = u
				return true
			}
		}
		return false
	}, 30*time.Second, 100*time.Millisecond, "no warning for %s", net)
	path := rest.Path("warnings", uuid)

	s := newScript(t, socket).with("uuid", str(uuid)).with("typ", str(dnsmasqWarning))
	out := s.mustRun(`
c = lxd.Client()
w = c.warnings.get(uuid)
if w.type != typ or w.status != "new" or w.severity != "low" or w.count < 1 or w.dirty:
    fail("warning reads %s" % w.to_dict())
for f in ["first_seen_at", "last_seen_at", "last_message", "entity_url", "project"]:
    if type(getattr(w, f)) != "string":
        fail("%s: %r" % (f, getattr(w, f)))
if repr(w) != '<Warning "%s" new %s>' % (uuid[:8], typ):
    fail("repr: %r" % w)
if uuid not in [x.uuid for x in c.warnings.all()] or not c.warnings.exists(uuid) or c.warnings.get(uuid) != w:
    fail("not listed")
def set_type(obj):
    obj.type = "x"
if "rename" in dir(w) or "read-only" not in catch(set_type, w).error.message:
    fail("type is writable")
w.acknowledge()
print(w.status, w.dirty)
`)
	assert.Equal(t, "acknowledged False\n", out)
	assert.Equal(t, "acknowledged", serverObject(t, c, path)["status"])

	out = s.mustRun(`
c = lxd.Client()
w = c.warnings.get(uuid)
w.status = "new"
print(w.dirty)
w.save()
print(w.status, w.dirty)
`)
	assert.Equal(t, "True\nnew False\n", out)
	assert.Equal(t, "new", serverObject(t, c, path)["status"])

	// LXD sets "resolved" itself and refuses it from clients.
	out = s.mustRun(`
c = lxd.Client()
w = c.warnings.get(uuid)
w.status = "resolved"
r = catch(w.save)
print(r.error.kind, r.error.status_code, w.dirty)
w.rollback()
w.delete()
print(c.warnings.exists(uuid))
`)
	assert.Equal(t, "LXDAPIException 403 True\nFalse\n", out)
	assert.False(t, serverExists(t, c, path))
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	testWarnings(t, mainSocket)
}

// metricsOf returns the metric names the server reports for one instance,
// read straight from the text of GET /1.0/metrics.
func metricsOf(t *testing.T, c *rest.Client, inst string) []string {
	resp, cancel, err := c.Raw(context.Background(), &rest.Request{Method: "GET", Path: rest.Path("metrics")})
	require.NoError(t, err)
	defer cancel()
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	seen := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, `name="`+inst+`"`) && !strings.HasPrefix(line, "#") {
			seen[line[:strings.IndexByte(line, '{')]] = true
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// testMetrics starts a container on the server at socket and finds its
// samples in client.metrics(); prefix is the server's metric prefix
// ("lxd_", "incus_").
func testMetrics(t *testing.T, socket, prefix string) {
	name := newInstance(t, socket, "metr", true)
	s := newScript(t, socket).with("name", str(name)).with("prefix", str(prefix))
	// LXD caches the metrics of a project for 8 s: a fresh instance may
	// take that long to appear.
	s.mustRun(`
c = lxd.Client()
mine = []
for _ in range(60):
    mine = [m for m in c.metrics() if m.labels.get("name") == name]
    if mine:
        break
    time.sleep(0.5)
if not mine:
    fail("no metrics for %s" % name)
procs = [m for m in mine if m.name == prefix + "procs_total"]
if len(procs) != 1:
    fail("procs_total: %s" % procs)
p = procs[0]
if type(p.value) != "float" or p.value < 1 or p.labels != {"name": name, "project": "default", "type": "container"}:
    fail("procs_total: %s" % p)
names = sorted(set([m.name for m in mine]))
for m in lxd.Client(project="default").metrics():
    if m.labels.get("project", "default") != "default":
        fail("project-bound client got %s" % m)
`)
	names := s.global("names").(*starlark.List)
	var got []string
	for i := range names.Len() {
		got = append(got, string(names.Index(i).(starlark.String)))
	}
	assert.Equal(t, metricsOf(t, restClient(t, socket), name), got)
	assert.Contains(t, got, prefix+"memory_MemTotal_bytes")
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	testMetrics(t, mainSocket, "lxd_")
}

// The same on the test bed's Incus 6.0 daemon (its metrics are named
// incus_*). The socket is spelled here rather than in the harness so
// that this file stands on its own.
const incusDaemonSocket = "/var/lib/incus/unix.socket"

func TestWarningsIncus(t *testing.T) {
	t.Parallel()
	testWarnings(t, incusDaemonSocket)
}

func TestMetricsIncus(t *testing.T) {
	t.Parallel()
	testMetrics(t, incusDaemonSocket, "incus_")
}

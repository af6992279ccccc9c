package tests

import (
	"testing"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// Bridges get no addresses (ipv4.address=none, ipv6.address=none): the test
// bed never routes anything beyond loopback.
func TestNetworkLifecycle(t *testing.T) {
	t.Parallel()
	eachServer(t, testNetworkLifecycle)
}

func testNetworkLifecycle(t *testing.T, srv server) {
	holdHostLinks(t)
	c := restClient(t, srv.Socket)
	// Interface names are at most 15 characters: "t-net-" + 8 hex digits.
	old, renamed := uniqueName("net"), uniqueName("net")
	cleanupPath(t, c, rest.Path("networks", old))
	cleanupPath(t, c, rest.Path("networks", renamed))

	newScript(t, srv.Socket).with("old", starlark.String(old)).with("renamed", starlark.String(renamed)).mustRun(`
client = lxd.Client()
n = client.networks.create(old, description="test bridge", type="bridge",
    config={"ipv4.address": "none", "ipv6.address": "none"})
if n.type != "bridge" or not n.managed or n.description != "test bridge" or n.used_by != []:
    fail("created network reads %s" % n.to_dict())
if repr(n) != '<Network "%s" bridge>' % old:
    fail("repr: %s" % repr(n))
if not client.networks.exists(old) or old not in [x.name for x in client.networks.all()]:
    fail("new network not listed")

st = n.state()
if type(st) != "dict" or st["type"] != "broadcast" or "hwaddr" not in st or st["addresses"] != []:
    fail("state(): %s" % st)

n.description = "edited"
n.config["bridge.mtu"] = "1400"
n.save()
if n.dirty or n.config["bridge.mtu"] != "1400":
    fail("after save: %s" % n.to_dict())

n.rename(renamed)
if n.name != renamed:
    fail("rename did not update the object")
if client.networks.exists(old) or not client.networks.exists(renamed):
    fail("exists after rename")
if n.state()["mtu"] != 1400:
    fail("state after rename: %s" % n.state())
`)
	if serverExists(t, c, rest.Path("networks", old)) {
		t.Fatal("old network name still exists")
	}
	got := serverObject(t, c, rest.Path("networks", renamed))
	cfg, _ := got["config"].(map[string]any)
	if cfg["bridge.mtu"] != "1400" || cfg["ipv4.address"] != "none" || got["description"] != "edited" {
		t.Fatalf("server has %v", got)
	}

	newScript(t, srv.Socket).with("renamed", starlark.String(renamed)).mustRun(`
client = lxd.Client()
n = client.networks.get(renamed)
n.delete()
if client.networks.exists(renamed):
    fail("network survived delete()")
r = catch(n.state)
if not r.error or not r.error.is_a("NotFound"):
    fail("state() of a deleted network: %s" % r)
`)
	if serverExists(t, c, rest.Path("networks", renamed)) {
		t.Fatal("network still on the server")
	}
}

func TestNetworkCreateArguments(t *testing.T) {
	t.Parallel()
	eachServer(t, testNetworkCreateArguments)
}

func testNetworkCreateArguments(t *testing.T, srv server) {
	s := newScript(t, srv.Socket)
	mustFail(t, s, `lxd.Client().networks.create("x", type=1)`, `networks.create: for parameter "type": got int, want string`)
	mustFail(t, s, `lxd.Client().networks.create("x", config=[])`, `networks.create: for parameter "config": got list, want dict`)
	mustFail(t, s, `lxd.Client().networks.get("no-such-net")`, "NotFound")
}

package tests

// Desired state against the real daemons: client.plan, client.apply,
// stacks, prune and --dry-run, against every server of the test bed.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// writesSince are the requests the proxy saw after the first n that are
// not reads.
func writesSince(p *countingProxy, n int) []string {
	var out []string
	for _, r := range p.Requests()[n:] {
		if !strings.HasPrefix(r, "GET ") && !strings.HasPrefix(r, "HEAD ") {
			out = append(out, r)
		}
	}
	return out
}

// planTest begins a plan test on srv: a REST client and a unique stack
// name made from prefix. The plan tests run one at a time (holdHostLinks,
// which the bridge tests hold too). Each makes a profile and starts an
// instance using it; when two such starts meet, LXD 5.0.2 and Incus 6.0.4
// sometimes hang both instances' pre-start hooks (lxc.log: "Failed to run
// lxc.hook.pre-start", 30 s each) and fail both starts after 90 s, seen on
// the test bed with the plan tests alone and run in parallel.
func planTest(t *testing.T, srv server, prefix string) (*rest.Client, string) {
	holdHostLinks(t)
	return restClient(t, srv.Socket), uniqueName(prefix)
}

// stackObjects names what a test's stack may leave on the server.
type stackObjects struct {
	instances, volumes, profiles, networks, projects []string
}

// cleanupStack deletes, when the test ends, whatever of the objects is
// left, dependants first: instances, volumes of the default pool,
// profiles, networks, projects.
func cleanupStack(t *testing.T, c *rest.Client, left stackObjects) {
	t.Cleanup(func() {
		for _, n := range left.instances {
			deleteInstance(c, n)
		}
		for _, n := range left.volumes {
			deletePath(c, rest.Path("storage-pools", "default", "volumes", "custom", n))
		}
		for _, n := range left.profiles {
			deletePath(c, rest.Path("profiles", n))
		}
		for _, n := range left.networks {
			deletePath(c, rest.Path("networks", n))
		}
		for _, n := range left.projects {
			deletePath(c, rest.Path("projects", n))
		}
	})
}

// objectConfig reads an object's config through the REST client.
func objectConfig(t *testing.T, c *rest.Client, path string) map[string]any {
	t.Helper()
	cfg, _ := serverObject(t, c, path)["config"].(map[string]any)
	return cfg
}

// goldenPlan is the plan text kept in testdata/plans/file, with the stack
// name NAME replaced by name. The expected plans live there, not in the
// tests, because several specs share sections (network, profile).
func goldenPlan(t *testing.T, file, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "plans", file))
	require.NoError(t, err)
	return strings.ReplaceAll(string(b), "NAME", name)
}

func TestPlanApplyFromNothing(t *testing.T) { parallelOnEachServer(t, testPlanApplyFromNothing) }

func testPlanApplyFromNothing(t *testing.T, srv server) {
	c, name := planTest(t, srv, "pl") // also the bridge's name: at most 15 characters
	i1, i2 := name+"-1", name+"-2"
	cleanupStack(t, c, stackObjects{instances: []string{i1, i2}, volumes: []string{name}, profiles: []string{name}, networks: []string{name}})
	proxy := newCountingProxy(t, srv.Socket)
	s := newScript(t, proxy.Socket).with("NAME", starlark.String(name))
	specs := `
c = lxd.Client()
specs = [
    lxd.instance(NAME + "-1", source = "busybox", profiles = ["default", NAME],
                 devices = {"data": {"type": "disk", "pool": "default", "source": NAME, "path": "/data"}}),
    lxd.instance(NAME + "-2", source = "busybox", profiles = ["default", NAME], status = "Stopped"),
    lxd.profile(NAME, config = {"limits.memory": "128MB"}, devices = {"eth0": {"type": "nic", "network": NAME, "name": "eth0"}}),
    lxd.volume("default", NAME, config = {"user.role": "data"}),
    lxd.network(NAME, config = {"ipv4.address": "none", "ipv6.address": "none"}),
]
`
	n := proxy.Count()
	out := s.mustRun(specs + `
p = c.plan(specs, stack = NAME)
print(p)
print(bool(p), len(p.changes), p.changes[0].action, p.changes[0].kind, p.changes[0].name)
`)
	assert.Empty(t, writesSince(proxy, n), "a plan only reads")
	assert.Equal(t, goldenPlan(t, "from-nothing.txt", name)+"True 5 create network "+name+"\n", out)

	s.mustRun(specs + `c.plan(specs, stack = NAME).apply()`)
	for _, path := range []string{rest.Path("networks", name), rest.Path("profiles", name),
		rest.Path("storage-pools", "default", "volumes", "custom", name), rest.Path("instances", i1), rest.Path("instances", i2)} {
		assert.Equal(t, name, objectConfig(t, c, path)["user.lxdstar.stack"], "%s is marked", path)
	}
	assert.Equal(t, "128MB", objectConfig(t, c, rest.Path("profiles", name))["limits.memory"])
	inst := serverObject(t, c, rest.Path("instances", i1))
	assert.Equal(t, "Running", inst["status"])
	assert.Equal(t, []any{"default", name}, inst["profiles"])
	assert.Equal(t, "/data", inst["devices"].(map[string]any)["data"].(map[string]any)["path"])
	assert.Equal(t, "Stopped", serverObject(t, c, rest.Path("instances", i2))["status"])
	assert.Equal(t, "data", objectConfig(t, c, rest.Path("storage-pools", "default", "volumes", "custom", name))["user.role"])

	// The same specs again, in a new run: nothing to do, nothing written.
	n = proxy.Count()
	out = s.mustRun(specs + `
p = c.apply(specs, stack = NAME)
print(p)
print(bool(p), p.changes)
`)
	assert.Equal(t, "plan: no changes\nFalse []\n", out)
	assert.Empty(t, writesSince(proxy, n), "the second apply writes nothing")
	t.Logf("second apply: %d requests, all reads", proxy.Count()-n)
}

func TestPlanRepairsDrift(t *testing.T) { parallelOnEachServer(t, testPlanRepairsDrift) }

func testPlanRepairsDrift(t *testing.T, srv server) {
	c, name := planTest(t, srv, "drift")
	inst := name + "-1"
	cleanupStack(t, c, stackObjects{instances: []string{inst}, profiles: []string{name}})
	s := newScript(t, srv.Socket).with("NAME", starlark.String(name))
	src := `
c = lxd.Client()
specs = [
    lxd.profile(NAME, config = {"limits.memory": "128MB", "user.gone": None}),
    lxd.instance(NAME + "-1", source = "busybox", profiles = ["default", NAME], config = {"user.tier": "web"}),
]
`
	s.mustRun(src + `c.apply(specs)`)

	// Another writer: a key the spec gives changes, one it forbids and one
	// it does not mention appear, and the instance is stopped by hand.
	ctx := context.Background()
	_, err := c.Do(ctx, &rest.Request{Method: "PATCH", Path: rest.Path("profiles", name),
		Body: map[string]any{"config": map[string]any{"limits.memory": "64MB", "user.gone": "x"}}})
	require.NoError(t, err)
	_, err = c.Do(ctx, &rest.Request{Method: "PATCH", Path: rest.Path("instances", inst),
		Body: map[string]any{"config": map[string]any{"user.foreign": "keep", "user.tier": "db"}}})
	require.NoError(t, err)
	stopInstance(t, c, inst)

	out := s.mustRun(src + `
p = c.plan(specs)
print(p)
print(p.changes[1].fields)
p.apply()
print(c.plan(specs))
`)
	assert.Equal(t, strings.ReplaceAll(`plan: 2 to update, 1 to start
~ profile NAME
    config.limits.memory: "64MB" -> "128MB"
    config.user.gone: "x" -> (absent)
~ instance NAME-1
    config.user.tier: "db" -> "web"
> instance NAME-1: start (Stopped -> Running)
{"config.user.tier": ("db", "web")}
plan: no changes
`, "NAME", name), out)
	prof := objectConfig(t, c, rest.Path("profiles", name))
	assert.Equal(t, "128MB", prof["limits.memory"])
	assert.NotContains(t, prof, "user.gone")
	obj := serverObject(t, c, rest.Path("instances", inst))
	assert.Equal(t, "Running", obj["status"])
	cfg := obj["config"].(map[string]any)
	assert.Equal(t, "keep", cfg["user.foreign"], "a key the spec does not name survives")
	assert.Equal(t, "web", cfg["user.tier"])
	assert.NotEmpty(t, cfg["volatile.base_image"], "LXD's own keys survive")
}

// stopInstance stops an instance through the REST client (force).
func stopInstance(t *testing.T, c *rest.Client, name string) {
	t.Helper()
	require.NoError(t, sendAndWait(c, &rest.Request{Method: "PUT", Path: rest.Path("instances", name, "state"),
		Body: map[string]any{"action": "stop", "force": true, "timeout": 30}}, time.Minute))
}

func TestPlanUpdatesInPlaceWithoutRestart(t *testing.T) {
	parallelOnEachServer(t, testPlanUpdatesInPlaceWithoutRestart)
}

func testPlanUpdatesInPlaceWithoutRestart(t *testing.T, srv server) {
	c, name := planTest(t, srv, "inplace")
	inst, extra := name+"-1", name+"-x"
	cleanupStack(t, c, stackObjects{instances: []string{inst}, profiles: []string{name, extra}})
	proxy := newCountingProxy(t, srv.Socket)
	s := newScript(t, proxy.Socket).with("NAME", starlark.String(name))
	s.mustRun(`
c = lxd.Client()
c.apply([
    lxd.profile(NAME, config = {"limits.memory": "128MB"}),
    lxd.instance(NAME + "-1", source = "busybox", profiles = ["default", NAME], config = {"user.v": "1"}),
], stack = NAME)
`)
	before := serverObject(t, c, rest.Path("instances", inst, "state"))
	usedBefore := serverObject(t, c, rest.Path("instances", inst))["last_used_at"]
	require.NotZero(t, before["pid"])

	n := proxy.Count()
	out := s.mustRun(`
c = lxd.Client()
p = c.apply([
    lxd.profile(NAME, config = {"limits.memory": "256MB"}),
    lxd.profile(NAME + "-x", config = {"user.extra": "yes"}),
    lxd.instance(NAME + "-1", source = "busybox", profiles = ["default", NAME, NAME + "-x"],
                 config = {"user.v": "2", "limits.memory": "192MB"}),
], stack = NAME)
print(p)
`)
	assert.Equal(t, strings.ReplaceAll(`plan: 1 to create, 2 to update
~ profile NAME
    config.limits.memory: "128MB" -> "256MB"
+ profile NAME-x
    config.user.extra: "yes"
    config.user.lxdstar.stack: "NAME"
~ instance NAME-1
    config.limits.memory: (absent) -> "192MB"
    config.user.v: "1" -> "2"
    profiles: ["default", "NAME"] -> ["default", "NAME", "NAME-x"]
`, "NAME", name), out)
	writes := writesSince(proxy, n)
	require.Len(t, writes, 3, "one request per change: %q", writes)
	assert.ElementsMatch(t, []string{"POST /1.0/profiles", "PUT /1.0/profiles/" + name}, writes[:2])
	assert.Equal(t, "PUT /1.0/instances/"+inst, writes[2], "the instance after its profiles")

	after := serverObject(t, c, rest.Path("instances", inst, "state"))
	obj := serverObject(t, c, rest.Path("instances", inst))
	assert.Equal(t, "Running", after["status"])
	assert.Equal(t, before["pid"], after["pid"], "no restart: the same init process")
	assert.Equal(t, usedBefore, obj["last_used_at"], "no restart: not started again")
	assert.Equal(t, []any{"default", name, extra}, obj["profiles"])
	assert.Equal(t, "192MB", obj["expanded_config"].(map[string]any)["limits.memory"])
	assert.Equal(t, "yes", obj["expanded_config"].(map[string]any)["user.extra"])
}

func TestPlanPruneAndTeardown(t *testing.T) { parallelOnEachServer(t, testPlanPruneAndTeardown) }

func testPlanPruneAndTeardown(t *testing.T, srv server) {
	c, name := planTest(t, srv, "prune")
	a, b, foreign, other, inst := name+"-a", name+"-b", name+"-f", name+"-o", name+"-1"
	cleanupStack(t, c, stackObjects{instances: []string{inst}, volumes: []string{name}, profiles: []string{a, b, foreign, other}})
	// Not the stack's: an unmarked profile, and one of another stack.
	ctx := context.Background()
	_, err := c.Do(ctx, &rest.Request{Method: "POST", Path: rest.Path("profiles"), Body: map[string]any{"name": foreign}})
	require.NoError(t, err)
	_, err = c.Do(ctx, &rest.Request{Method: "POST", Path: rest.Path("profiles"),
		Body: map[string]any{"name": other, "config": map[string]any{"user.lxdstar.stack": name + "-other"}}})
	require.NoError(t, err)

	s := newScript(t, srv.Socket).with("NAME", starlark.String(name))
	s.mustRun(`
c = lxd.Client()
c.apply([
    lxd.profile(NAME + "-a"), lxd.profile(NAME + "-b"),
    lxd.volume("default", NAME),
    lxd.instance(NAME + "-1", source = "busybox", profiles = ["default", NAME + "-b"]),
], stack = NAME)
`)
	require.Equal(t, "Running", serverObject(t, c, rest.Path("instances", inst))["status"])

	out := s.mustRun(`
c = lxd.Client()
print(c.plan([lxd.profile(NAME + "-a")], stack = NAME))
p = c.apply([lxd.profile(NAME + "-a")], stack = NAME, prune = True)
print(c.plan([lxd.profile(NAME + "-a")], stack = NAME, prune = True))
`)
	assert.Equal(t, strings.ReplaceAll(`plan: no changes
plan: no changes
`, "NAME", name), out, "without prune nothing is deleted; after it, nothing is left to delete")
	for _, gone := range []string{rest.Path("instances", inst), rest.Path("profiles", b), rest.Path("storage-pools", "default", "volumes", "custom", name)} {
		assert.False(t, serverExists(t, c, gone), "%s pruned", gone)
	}
	for _, kept := range []string{rest.Path("profiles", a), rest.Path("profiles", foreign), rest.Path("profiles", other)} {
		assert.True(t, serverExists(t, c, kept), "%s kept", kept)
	}

	out = s.mustRun(`
c = lxd.Client()
p = c.plan([], stack = NAME, prune = True)
print(p)
p.apply()
`)
	assert.Equal(t, "plan: 1 to delete\n- profile "+a+"\n", out)
	assert.False(t, serverExists(t, c, rest.Path("profiles", a)), "torn down")
	assert.True(t, serverExists(t, c, rest.Path("profiles", foreign)), "nothing unmarked is deleted")
	assert.True(t, serverExists(t, c, rest.Path("profiles", other)), "nor another stack's")
}

// The deletions a prune plans, in their order: instances (running ones
// stopped first) before the profiles and volumes they use.
func TestPlanPruneOrder(t *testing.T) { parallelOnEachServer(t, testPlanPruneOrder) }

func testPlanPruneOrder(t *testing.T, srv server) {
	c, name := planTest(t, srv, "porder")
	inst := name + "-1"
	cleanupStack(t, c, stackObjects{instances: []string{inst}, volumes: []string{name}, profiles: []string{name}})
	s := newScript(t, srv.Socket).with("NAME", starlark.String(name))
	out := s.mustRun(`
c = lxd.Client()
c.apply([
    lxd.profile(NAME),
    lxd.volume("default", NAME),
    lxd.instance(NAME + "-1", source = "busybox", profiles = ["default", NAME],
                 devices = {"data": {"type": "disk", "pool": "default", "source": NAME, "path": "/data"}}),
], stack = NAME)
p = c.plan([], stack = NAME, prune = True)
print(p)
p.apply()
`)
	assert.Equal(t, strings.ReplaceAll(`plan: 3 to delete
- instance NAME-1 (Running: stopped first)
- volume default/NAME
- profile NAME
`, "NAME", name), out)
	assert.False(t, serverExists(t, c, rest.Path("profiles", name)))
}

func TestApplyFailureMidway(t *testing.T) { parallelOnEachServer(t, testApplyFailureMidway) }

func testApplyFailureMidway(t *testing.T, srv server) {
	c, name := planTest(t, srv, "fail")
	inst := name + "-1"
	cleanupStack(t, c, stackObjects{instances: []string{inst}, volumes: []string{name}, profiles: []string{name}, projects: []string{name}})
	s := newScript(t, srv.Socket).with("NAME", starlark.String(name))
	_, err := s.run(`
c = lxd.Client()
c.apply([
    lxd.project(NAME),
    lxd.profile(NAME, config = {"bogus.key": "x"}),
    lxd.volume("default", NAME),
    lxd.instance(NAME + "-1", source = "busybox", profiles = ["default", NAME]),
])
`)
	require.Error(t, err)
	assert.Contains(t, err.Error(), strings.ReplaceAll(`LXDAPIException: apply failed: 1 done, 1 failed, 2 not attempted
  done: + project NAME
  failed: + profile NAME: LXDAPIException: Unknown configuration key: bogus.key
  not attempted: + volume default/NAME
  not attempted: + instance NAME-1`, "NAME", name))
	assert.True(t, serverExists(t, c, rest.Path("projects", name)), "what was done stays done")
	assert.False(t, serverExists(t, c, rest.Path("profiles", name)))
	assert.False(t, serverExists(t, c, rest.Path("storage-pools", "default", "volumes", "custom", name)), "nothing after the failure")
	assert.False(t, serverExists(t, c, rest.Path("instances", inst)))

	out := s.mustRun(`
c = lxd.Client()
r = catch(c.apply, [lxd.profile(NAME, config = {"bogus.key": "x"})])
print(r.error.kind, r.error.is_a("LXDAPIException"))
`)
	assert.Equal(t, "LXDAPIException True\n", out)
}

// rawState reads the objects a dry run could touch, as the server has
// them: each one's metadata bytes and ETag, or its absence.
func rawState(t *testing.T, c *rest.Client, paths ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range paths {
		resp, err := c.Do(context.Background(), &rest.Request{Method: "GET", Path: p})
		switch {
		case err != nil && strings.HasPrefix(err.Error(), "NotFound"):
			fmt.Fprintf(&b, "%s: absent\n", p)
		case err != nil:
			t.Fatalf("GET %s: %v", p, err)
		default:
			fmt.Fprintf(&b, "%s: %s %s\n", p, resp.ETag, resp.Metadata)
		}
	}
	return b.String()
}

func TestDryRunChangesNothing(t *testing.T) { parallelOnEachServer(t, testDryRunChangesNothing) }

func testDryRunChangesNothing(t *testing.T, srv server) {
	c, name := planTest(t, srv, "dry")
	inst, newInst := name+"-1", name+"-2"
	createInstance(t, srv.Socket, inst, false)
	cleanupStack(t, c, stackObjects{instances: []string{newInst}, profiles: []string{name, name + "-never"}})
	_, err := c.Do(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("profiles"),
		Body: map[string]any{"name": name, "config": map[string]any{"limits.memory": "64MB"}}})
	require.NoError(t, err)
	paths := []string{rest.Path("profiles", name), rest.Path("instances", inst), rest.Path("instances", inst, "state"),
		rest.Path("instances", newInst), rest.Path("profiles", name+"-never")}
	before := rawState(t, c, paths...)

	script := filepath.Join(t.TempDir(), "deploy.star")
	require.NoError(t, os.WriteFile(script, []byte(strings.ReplaceAll(`
c = lxd.Client()
p = c.apply([
    lxd.profile("NAME", config = {"limits.memory": "128MB"}),
    lxd.instance("NAME-1", source = "busybox", profiles = ["default", "NAME"]),
    lxd.instance("NAME-2", source = "busybox", status = "Stopped"),
], stack = "NAME")
print("returned:", bool(p), len(p.changes))
r = catch(c.profiles.create, "NAME-never")
print("refused:", r.error.kind, r.error.is_a("DryRun"), r.error.message)
print("read:", c.profiles.get("NAME").config["limits.memory"])
c.instances.get("NAME-1").start(wait = True)
print("not reached")
`, "NAME", name)), 0o644))
	proxy := newCountingProxy(t, srv.Socket)
	cmd := exec.Command(lxdstarBinary(t), "--dry-run", "--endpoint", proxy.Socket, script)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "stdout: %s\nstderr: %s", stdout.String(), stderr.String())
	assert.Equal(t, 1, exit.ExitCode())

	assert.Equal(t, strings.ReplaceAll(`plan: 1 to create, 2 to update, 1 to start
~ profile NAME
    config.limits.memory: "64MB" -> "128MB"
    config.user.lxdstar.stack: (absent) -> "NAME"
~ instance NAME-1
    config.user.lxdstar.stack: (absent) -> "NAME"
    profiles: ["default"] -> ["default", "NAME"]
> instance NAME-1: start (Stopped -> Running)
+ instance NAME-2
    config.user.lxdstar.stack: "NAME"
    source: {"alias": "busybox", "type": "image"}
    status: "Stopped"
    type: "container"
returned: True 4
refused: DryRun True POST /1.0/profiles (would create a profile)
read: 64MB
`, "NAME", name), stdout.String())
	assert.Contains(t, stderr.String(), `DryRun: PUT /1.0/instances/`+inst+`/state (would change the state of instance "`+inst+`")`)
	assert.Empty(t, writesSince(proxy, 0), "no write reached the server")
	assert.Equal(t, before, rawState(t, c, paths...), "the server is byte for byte as it was")
}

// stack.star, the README's example: its plan, a dry run, up (twice: the
// second writes nothing) and down.
func TestStackExample(t *testing.T) { parallelOnEachServer(t, testStackExample) }

func testStackExample(t *testing.T, srv server) {
	c, name := planTest(t, srv, "st") // the bridge's name too: at most 15 characters
	cleanupStack(t, c, stackObjects{instances: []string{name + "-front", name + "-spare"}, profiles: []string{name}, networks: []string{name}})
	proxy := newCountingProxy(t, srv.Socket)
	run := func(args ...string) string {
		t.Helper()
		// A server that never answers fails the test (with the requests
		// sent, the last one unanswered) instead of holding hostLinks.
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, lxdstarBinary(t), append([]string{"--endpoint", proxy.Socket}, args...)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "lxdstar %s\nstdout: %s\nstderr: %s\nrequests: %s", strings.Join(args, " "), out, stderr.String(),
			strings.Join(proxy.Requests(), "\n"))
		return string(out)
	}
	const script = "../scripts/examples/stack.star"
	// What stack.star plans for the stack NAME on a server without it.
	planOf := func(name string) string { return goldenPlan(t, "stack.txt", name) }
	plan := planOf(name)
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	assert.Contains(t, string(readme), "```\n"+planOf("web")+"```\n", "the README shows stack.star's plan as it is")
	assert.Equal(t, plan, run(script, "plan", name))
	assert.Equal(t, plan+name+": 4 change(s) in the plan; 0 instance(s) in the stack\n", run("--dry-run", script, "up", name))
	require.Empty(t, writesSince(proxy, 0), "plan and --dry-run only read")

	out := run(script, "up", name)
	assert.Regexp(t, `^`+name+`: 4 change\(s\) in the plan; 2 instance\(s\) in the stack\n\s*INSTANCE\s+STATUS\s+ROLE\n`, out)
	assert.Regexp(t, name+`-front\s+Running\s+front`, out)
	assert.Regexp(t, name+`-spare\s+Stopped\s+spare`, out)
	n := proxy.Count()
	assert.Regexp(t, `^`+name+`: 0 change\(s\) in the plan; 2 instance\(s\)`, run(script, "up", name))
	assert.Empty(t, writesSince(proxy, n), "up again writes nothing")

	assert.Equal(t, name+": 4 change(s) in the plan; 0 instance(s) in the stack\n", run(script, "down", name))
	for _, p := range []string{rest.Path("instances", name+"-front"), rest.Path("instances", name+"-spare"),
		rest.Path("profiles", name), rest.Path("networks", name)} {
		assert.False(t, serverExists(t, c, p), "%s torn down", p)
	}
}

package lxdmod_test

// plan and apply against the fake LXD: the Starlark surface (specs, Plan,
// apply's requests, wait=False, dry runs). tests/plan_test.go runs the
// same against the real daemons.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// writes are the requests since n that are not reads.
func (s *script) writes(since int) []string {
	var out []string
	for _, r := range s.requests(since) {
		if !strings.HasPrefix(r, "GET ") {
			out = append(out, r)
		}
	}
	return out
}

func TestSpecValues(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.run(`
		cfg = {"limits.memory": "256MB", "limits.cpu": 2, "boot.autostart": True, "user.gone": None}
		p = lxd.profile("web", config = cfg, devices = {"eth0": None})
		cfg["x"] = "y"  # the spec keeps what it was given, and does not freeze the caller's dict
		v = lxd.volume("default", "data", config = {"size": "1GB"})
		i = lxd.instance("web1", source = "busybox", profiles = ["default", "web"], status = None)
	`)
	assert.Equal(t, `lxd.profile("web", config={"limits.memory": "256MB", "limits.cpu": 2, "boot.autostart": True, "user.gone": None}, devices={"eth0": None})`, s.str("repr(p)"))
	assert.Equal(t, `lxd.volume("default", "data", config={"size": "1GB"})`, s.str("repr(v)"))
	assert.Equal(t, `lxd.instance("web1", source="busybox", profiles=["default", "web"], status=None)`, s.str("repr(i)"))
	assert.Equal(t, "Spec", s.str("type(p)"))
	assert.Equal(t, "profile", s.str("p.kind"))
	assert.Equal(t, "custom", s.str("v.type"))
	assert.Equal(t, "default", s.str("v.pool"))
	assert.Equal(t, "Running", s.str("lxd.instance('x').status"))

	for src, want := range map[string]string{
		`lxd.profile()`:                                "lxd.profile: missing argument for name",
		`lxd.profile("")`:                              "lxd.profile: for parameter name: invalid name",
		`lxd.profile("a", "b")`:                        "lxd.profile: got 2 positional arguments, want at most 1",
		`lxd.profile("a", config = [])`:                "lxd.profile: for parameter config: got list, want dict or None",
		`lxd.profile("a", config = {"k": 1.5})`:        `lxd.profile: for parameter config: key "k": got float, want string, int, bool or None`,
		`lxd.profile("a", config = {1: "x"})`:          "lxd.profile: for parameter config: key 1 is int, want a non-empty string",
		`lxd.profile("a", devices = {"d": "disk"})`:    `lxd.profile: for parameter devices: device "d" is string, want dict or None`,
		`lxd.profile("a", devices = {"d": {"x": []}})`: `lxd.profile: for parameter devices: device "d": key "x": got list`,
		`lxd.storage_pool("p")`:                        "lxd.storage_pool: missing argument for driver",
		`lxd.storage_pool("p", driver = "")`:           "lxd.storage_pool: for parameter driver: got \"\", want a non-empty string",
		`lxd.volume("default")`:                        "lxd.volume: missing argument for name",
		`lxd.instance("a", status = "running")`:        `lxd.instance: for parameter status: got "running", want "Running", "Stopped", "Frozen" or None`,
		`lxd.instance("a", type = "vm")`:               `lxd.instance: for parameter type: got "vm", want "container" or "virtual-machine"`,
		`lxd.instance("a", profiles = "default")`:      "lxd.instance: for parameter profiles: got string, want list of strings or None",
		`lxd.instance("a", ephemeral = "yes")`:         "lxd.instance: for parameter ephemeral: got string, want bool or None",
		`lxd.instance("a", source = 3)`:                "lxd.instance: for parameter source: got int",
		`lxd.network("n", bogus = 1)`:                  "lxd.network: unexpected keyword argument \"bogus\"",
		`c.plan("x")`:                                  "Client.plan: for parameter specs: got string, want a list of specs",
		`c.plan([1])`:                                  "Client.plan: for parameter specs: item 0 is int, want a spec",
		`c.plan([], prune = True)`:                     "Client.plan: for parameter prune: prune=True needs stack=",
		`c.plan([], stack = "")`:                       `Client.plan: for parameter "stack": want a non-empty name or None`,
		`c.plan([], "s")`:                              "Client.plan: got 2 positional arguments, want 1",
		`c.apply([], wait = 1)`:                        `Client.apply: for parameter "wait": got int, want bool`,
		`c.plan([lxd.instance("nope")])`:               `Client.plan: instance "nope" does not exist and its spec gives no source to create it from`,
		`c.plan([lxd.profile("a"), lxd.profile("a")])`: `Client.plan: for parameter specs: items 0 and 1 both describe profile "a"`,
	} {
		err := s.fail(src)
		assert.Contains(t, err.Error(), want, src)
	}
}

func TestPlanAndApplyFromNothing(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.run(`
		specs = [
			lxd.instance("web1", source = "busybox", profiles = ["default", "web"], config = {"limits.memory": "128MB"}),
			lxd.profile("web", config = {"limits.memory": "256MB"}),
			lxd.volume("default", "data", config = {"user.x": "1"}),
			lxd.instance("web2", source = "busybox", status = "Stopped"),
		]
	`)
	n := s.mark()
	s.run(`p = c.plan(specs)`)
	assert.Empty(t, s.writes(n), "a plan only reads")
	assert.Equal(t, `plan: 4 to create
+ profile web
    config.limits.memory: "256MB"
+ volume default/data
    config.user.x: "1"
    type: "custom"
+ instance web1
    config.limits.memory: "128MB"
    profiles: ["default", "web"]
    source: {"alias": "busybox", "type": "image"}
    status: "Running"
    type: "container"
+ instance web2
    source: {"alias": "busybox", "type": "image"}
    status: "Stopped"
    type: "container"`, s.str("str(p)"))
	assert.Equal(t, "True", s.str("repr(bool(p))"))
	assert.Equal(t, `struct(action = "create", fields = {"config.limits.memory": (None, "256MB")}, kind = "profile", name = "web")`, s.str("repr(p.changes[0])"))

	n = s.mark()
	s.run(`same = p.apply()`)
	assert.Equal(t, "True", s.str("repr(same == p)"))
	w := s.writes(n)
	require.Len(t, w, 5, "%q", w)
	assert.Equal(t, []string{"POST /1.0/profiles", "POST /1.0/storage-pools/default/volumes/custom"}, w[:2], "stages run in order")
	assert.ElementsMatch(t, []string{"POST /1.0/instances", "PUT /1.0/instances/web1/state", "POST /1.0/instances"}, w[2:])
	obj, ok := s.f.Get("/1.0/instances/web1")
	require.True(t, ok)
	assert.Equal(t, "Running", obj["status"])
	assert.Equal(t, []any{"default", "web"}, obj["profiles"])
	obj, _ = s.f.Get("/1.0/instances/web2")
	assert.Equal(t, "Stopped", obj["status"])

	err := s.fail(`p.apply()`)
	assert.Contains(t, err.Error(), "Plan.apply: this plan was applied already")

	// The same specs again: nothing to do, and no write at all.
	n = s.mark()
	s.run(`
		again = c.apply(specs)
		assert_eq(bool(again), False)
		assert_eq(str(again), "plan: no changes")
		assert_eq(again.changes, [])
	`)
	assert.Empty(t, s.writes(n))
}

func TestDriftIsRepairedInPlace(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.run(`
		specs = [
			lxd.profile("web", config = {"limits.memory": "256MB", "user.old": None}),
			lxd.instance("web1", source = "busybox", config = {"limits.cpu": "1"}),
		]
		c.apply(specs)
	`)
	// Another writer changes a key the spec gives, adds one it forbids and
	// one it does not mention, and stops the instance.
	require.True(t, s.f.Set("/1.0/profiles/web", fakelxd.Object{"config": fakelxd.Object{
		"limits.memory": "1GB", "user.old": "x", "user.foreign": "keep"}}))
	require.True(t, s.f.Set("/1.0/instances/web1", fakelxd.Object{"status": "Stopped", "status_code": 102}))

	n := s.mark()
	s.run(`p = c.plan(specs)`)
	assert.Equal(t, `plan: 1 to update, 1 to start
~ profile web
    config.limits.memory: "1GB" -> "256MB"
    config.user.old: "x" -> (absent)
> instance web1: start (Stopped -> Running)`, s.str("str(p)"))
	assert.Equal(t, `{"config.limits.memory": ("1GB", "256MB"), "config.user.old": ("x", None)}`, s.str("repr(p.changes[0].fields)"))
	assert.Empty(t, s.writes(n))

	etag := s.f.ETag("/1.0/profiles/web")
	n = s.mark()
	s.run(`p.apply()`)
	assert.Equal(t, []string{"PUT /1.0/profiles/web", "PUT /1.0/instances/web1/state"}, s.writes(n))
	for _, r := range s.f.Requests()[n:] {
		if r.Method == "PUT" && r.URL.Path == "/1.0/profiles/web" {
			assert.Equal(t, `"`+etag+`"`, r.Header.Get("If-Match"), "the update is conditional on what was planned")
		}
	}
	prof, _ := s.f.Get("/1.0/profiles/web")
	assert.Equal(t, map[string]any{"limits.memory": "256MB", "user.foreign": "keep"}, prof["config"])
	assert.Equal(t, "Default LXD profile", mustGet(t, s.f, "/1.0/profiles/default")["description"])

	// Changed between plan and apply: the update is refused, and says so.
	s.run(`p2 = c.plan([lxd.profile("web", description = "front")])`)
	require.True(t, s.f.Set("/1.0/profiles/web", fakelxd.Object{"description": "someone else"}))
	err := s.fail(`p2.apply()`)
	assert.Contains(t, err.Error(), "Conflict: apply failed: 0 done, 1 failed, 0 not attempted")
	assert.Contains(t, err.Error(), "it changed on the server since the plan was made")
	assert.Equal(t, "someone else", mustGet(t, s.f, "/1.0/profiles/web")["description"])
}

func TestStackPruneAndTeardown(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddProfile("foreign", nil) // not the stack's: never deleted
	s.run(`
		c.apply([lxd.profile("a"), lxd.profile("b"), lxd.instance("i1", source = "busybox", profiles = ["default", "b"])], stack = "s1")
		c.apply([lxd.profile("z")], stack = "other")
	`)
	assert.Equal(t, "s1", mustGet(t, s.f, "/1.0/profiles/a")["config"].(map[string]any)["user.lxdstar.stack"])
	assert.Equal(t, "s1", mustGet(t, s.f, "/1.0/instances/i1")["config"].(map[string]any)["user.lxdstar.stack"])

	// b is no longer specified; without prune it stays.
	s.run(`assert_eq(str(c.plan([lxd.profile("a")], stack = "s1")), "plan: no changes")`)
	s.run(`p = c.plan([lxd.profile("a")], stack = "s1", prune = True)`)
	assert.Equal(t, `plan: 2 to delete
- instance i1 (Running: stopped first)
- profile b`, s.str("str(p)"))
	n := s.mark()
	s.run(`p.apply()`)
	assert.Equal(t, []string{"PUT /1.0/instances/i1/state", "DELETE /1.0/instances/i1", "DELETE /1.0/profiles/b"}, s.writes(n))

	// A pool deleted between the listing of pools and that of its
	// volumes is no obstacle.
	s.f.AddStoragePool("gone", nil)
	s.f.Intercept("GET /1.0/storage-pools/gone/volumes", fakelxd.Reply(404, `{"type":"error","error":"Storage pool not found","error_code":404}`))
	s.run(`c.apply([], stack = "s1", prune = True)`)
	_, ok := s.f.Get("/1.0/profiles/a")
	assert.False(t, ok, "torn down")
	for _, p := range []string{"/1.0/profiles/foreign", "/1.0/profiles/z", "/1.0/profiles/default"} {
		_, ok := s.f.Get(p)
		assert.True(t, ok, "%s is not the stack's", p)
	}
}

func TestApplyFailureReportsWhatWasDone(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.Intercept("POST /1.0/profiles", failingCreate(s.f, "bad", "Invalid devices: Device validation failed"))
	err := s.fail(`
		c.apply([
			lxd.project("t-proj"),
			lxd.profile("bad"),
			lxd.instance("web1", source = "busybox", profiles = ["bad"]),
		])
	`)
	msg := err.Error()
	assert.Equal(t, `LXDAPIException: apply failed: 1 done, 1 failed, 1 not attempted
  done: + project t-proj
  failed: + profile bad: LXDAPIException: Invalid devices: Device validation failed
  not attempted: + instance web1`, msg)
	_, ok := s.f.Get("/1.0/instances/web1")
	assert.False(t, ok)

	// catch sees the LXD kind.
	s.run(`
		r = catch(c.apply, [lxd.profile("bad")])
		assert_eq(r.error.kind, "LXDAPIException")
	`)
}

// failingCreate answers a POST creating name with LXD's error; others go
// to the fake.
func failingCreate(f *fakelxd.Server, name, msg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req struct{ Name string }
		_ = json.Unmarshal(body, &req)
		if req.Name == name {
			fakelxd.Reply(400, `{"type":"error","error":"`+msg+`","error_code":400}`).ServeHTTP(w, r)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.Backend().ServeHTTP(w, r)
	})
}

func TestApplyWaitFalse(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	release := s.f.Hold("POST /1.0/instances")
	s.run(`
		op = c.apply([lxd.instance("web1", source = "busybox", status = "Stopped")], wait = False)
		assert_eq(type(op), "Operation")
		assert_eq(op.status, "Running")
	`)
	release()
	s.run(`
		p = op.wait()
		assert_eq(type(p), "Plan")
		assert_eq(c.instances.exists("web1"), True)
	`)

	// A failure nobody waited for is reported at the end of the run.
	s.f.FailNext("POST /1.0/instances", "Failed creating instance")
	s.run(`c.apply([lxd.instance("web2", source = "busybox")], wait = False)`)
	err := s.lxd.Wait(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apply (started at test.star")
	assert.Contains(t, err.Error(), "failed: + instance web2: LXDAPIException: Failed creating instance")
}

func TestDryRun(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.lxd = lxdmod.New(lxdmod.Config{Endpoint: s.f.Endpoint(), DryRun: true})
	s.f.AddProfile("web", fakelxd.Object{"config": fakelxd.Object{"limits.memory": "128MB"}})
	var printed []string
	s.print = func(msg string) { printed = append(printed, msg) }
	n := s.mark()
	s.run(`
		p = c.apply([lxd.profile("web", config = {"limits.memory": "256MB"}), lxd.instance("web1", source = "busybox")])
		assert_eq(bool(p), True)
		r = catch(c.profiles.create, "x")
		assert_eq(r.error.is_a("DryRun"), True)
		assert_eq(r.error.kind, "DryRun")
		assert_eq(r.error.is_a("LXDAPIException"), False)
		assert_eq(r.error.message, "POST /1.0/profiles (would create a profile)")
		assert_eq(len(c.profiles.all()) > 0, True)
	`)
	assert.Empty(t, s.writes(n), "a dry run writes nothing")
	assert.Equal(t, []string{`plan: 1 to create, 1 to update
~ profile web
    config.limits.memory: "128MB" -> "256MB"
+ instance web1
    source: {"alias": "busybox", "type": "image"}
    status: "Running"
    type: "container"`}, printed)
	err := s.fail(`c.instances.create({"name": "x"})`)
	assert.True(t, errors.Is(err, rest.ErrDryRun), "Go callers see the kind too: %v", err)
}

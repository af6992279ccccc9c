package lxdmod_test

// The wait=False rules without LXD: nothing overtakes an object's own
// pending change, objects follow their operations, failures are reported
// once, sync() merges key by key, save() keeps LXD's volatile keys.

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// releaseAfter is a script hook: release_after(release, seconds) calls the
// release() that hold() returned, from another goroutine, later; the
// script meanwhile blocks in a call that must wait for the held operation.
func withReleaseAfter(s *script) {
	if s.globals == nil {
		s.globals = starlark.StringDict{}
	}
	s.globals["release_after"] = starlark.NewBuiltin("release_after", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var release starlark.Callable
		var secs float64
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "release", &release, "seconds", &secs); err != nil {
			return nil, err
		}
		time.AfterFunc(time.Duration(secs*float64(time.Second)), func() {
			_, _ = starlark.Call(&starlark.Thread{}, release, nil, nil)
		})
		return starlark.None, nil
	})
}

func TestNextCallWaitsForThePendingChange(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	withReleaseAfter(s)
	s.run(`
		i = c.instances.get("c1")
		release = hold("PUT /1.0/instances/c1/state")
		op = i.start()
		assert_eq(i.operation, op)
		assert_eq(i.status, "Stopped")  # not yet: reading never blocks
		release_after(release, 0.3)
		t0 = time.now()
		i.stop(wait=True)               # waits for the start first
		waited = (time.now() - t0) / time.second
		assert_eq(waited >= 0.3, True, "stop went out before the start ended")
		assert_eq(i.status, "Stopped")
		assert_eq(i.operation, None)
	`)
	assert.Equal(t, "Stopped", mustGet(t, s.f, "/1.0/instances/c1")["status"])
}

func TestFailureIsReportedOnceAtTheNextCall(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	s.f.FailNext("PUT /1.0/instances/c1/state", "boom")
	s.run(`
		i = c.instances.get("c1")
		i.start()
		r = catch(i.execute, ["true"])
	`)
	msg := s.str("r.error.message")
	assert.Contains(t, msg, `instance "c1": start (started at test.star:3:8 with wait=False) failed: boom`)
	assert.Equal(t, "LXDAPIException", s.str("r.error.kind"))
	mark := s.mark()
	s.run(`i.start(wait=True)`) // later calls proceed
	assert.NotEmpty(t, s.requests(mark))
	assert.NoError(t, s.lxd.Wait(context.Background()), "a failure seen by the script is not reported again")
}

func TestUnwaitedFailureIsLeftForTheEnd(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	s.f.FailNext("PUT /1.0/instances/c1/state", "boom")
	s.run(`
		i = c.instances.get("c1")
		i.start()
	`)
	err := s.lxd.Wait(context.Background())
	var unw *lxdmod.UnwaitedError
	require.True(t, errors.As(err, &unw), "%v", err)
	require.Len(t, unw.Failures, 1)
	f := unw.Failures[0]
	assert.Equal(t, `start of instance "c1"`, f.What)
	assert.Equal(t, "test.star:3:8", f.Where)
	assert.True(t, errors.Is(err, rest.ErrAPI))
	assert.Equal(t, `LXDAPIException: start of instance "c1" (started at test.star:3:8 with wait=False, never waited for) failed: boom`, err.Error())
	assert.NoError(t, s.lxd.Wait(context.Background()), "reported once")
}

func TestManyUnwaitedFailuresAreListed(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	s.f.AddInstance("c2", nil)
	s.f.FailNext("PUT /1.0/instances/c1/state", "boom1")
	s.f.FailNext("PUT /1.0/instances/c2/state", "boom2")
	s.run(`
		c.instances.get("c1").start()
		c.instances.get("c2").freeze()
	`)
	err := s.lxd.Wait(context.Background())
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, 3, err.Error())
	assert.Equal(t, "LXDAPIException: 2 operations started with wait=False failed, and nobody waited for them:", lines[0])
	assert.Contains(t, lines[1], `start of instance "c1"`)
	assert.Contains(t, lines[1], "boom1")
	assert.Contains(t, lines[2], `freeze of instance "c2"`)
}

func TestSuccessNeedsNoReportAndLeavesNothingBehind(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.run(`
		for n in range(20):
		    c.instances.create({"name": "c%d" % n, "source": {"type": "image", "alias": "busybox"}})
	`)
	require.NoError(t, s.lxd.Wait(context.Background()))
	// Every create ended before Wait returned.
	inst, ok := s.f.Get("/1.0/instances/c19")
	require.True(t, ok)
	assert.Equal(t, "Stopped", inst["status"])
}

func TestObjectFollowsItsRenameUnwaited(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("a", nil)
	s.run(`
		i = c.instances.get("a")
		op = i.rename("b")
		for n in range(500):
		    if i.name == "b":
		        break
		    time.sleep(0.01)
		assert_eq(i.name, "b")
		assert_eq(i.operation, None)
		assert_eq(op.status, "Success")
		d = {i: "found"}
	`)
	// The rename moved the object: later calls go to the new name.
	mark := s.mark()
	s.run(`i.delete(wait=True)`)
	assert.Contains(t, strings.Join(s.requests(mark), "\n"), "DELETE /1.0/instances/b")
	_, stillThere := s.f.Get("/1.0/instances/b")
	assert.False(t, stillThere)
}

func TestHashSurvivesRename(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("a", nil)
	s.run(`
		i = c.instances.get("a")
		d = {i: 1}
		i.rename("b", wait=True)
		assert_eq(d[i], 1)
		assert_eq(i in d, True)
	`)
}

func TestRenameThenDeleteGoesToTheNewName(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddProfile("p1", nil)
	s.f.AddInstance("c1", nil)
	s.f.AddSnapshot("c1", "s1", nil)
	s.run(`
		p = c.profiles.get("p1")
		p.rename("p2")
		p.delete()
		i = c.instances.get("c1")
		snap = i.snapshots.get("s1")
		snap.rename("s2")
		snap.delete()
		i.rename("c2")
		i.delete()
	`)
	require.NoError(t, s.lxd.Wait(context.Background()))
	for _, p := range []string{"/1.0/profiles/p1", "/1.0/profiles/p2", "/1.0/instances/c1", "/1.0/instances/c2"} {
		_, ok := s.f.Get(p)
		assert.False(t, ok, "%s is still there", p)
	}
}

func TestSnapshotOfARenamedInstanceFollowsIt(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	s.f.AddSnapshot("c1", "s1", nil)
	s.run(`
		i = c.instances.get("c1")
		snap = i.snapshots.get("s1")
		i.rename("c2")
		snap.rename("s2", wait=True)
		assert_eq(repr(snap), '<Snapshot "s2" of c2>')
	`)
	_, ok := s.f.Get("/1.0/instances/c2/snapshots/s2")
	assert.True(t, ok)
}

func TestTwoSavesInARow(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	s.run(`
		i = c.instances.get("c1")
		i.description = "one"
		i.save()
		i.description = "two"
		i.config["user.k"] = "v"
		i.save()
		i.sync()
		assert_eq(i.dirty, False)
	`)
	got := mustGet(t, s.f, "/1.0/instances/c1")
	assert.Equal(t, "two", got["description"])
	assert.Equal(t, "v", got["config"].(map[string]any)["user.k"])
}

func TestEditsDuringAPendingSaveStayDirty(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	s.run(`
		i = c.instances.get("c1")
		i.description = "saved"
		i.save()
		i.config["user.later"] = "1"   # while the save is pending
		lxd.wait_all(i)
		assert_eq(i.description, "saved")
		assert_eq(i.config["user.later"], "1")
		assert_eq(i.dirty, True)
	`)
	_, has := mustGet(t, s.f, "/1.0/instances/c1")["config"].(map[string]any)["user.later"]
	assert.False(t, has, "an edit made after save() was sent")
}

func TestSyncMergesKeyByKey(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", fakelxd.Object{"config": fakelxd.Object{"user.gone": "x", "user.keep": "k"}})
	s.run(`
		i = c.instances.get("c1")
		i.config["user.mine"] = "1"
		i.config.pop("user.gone")
		i.description = "mine"
		server_set("/1.0/instances/c1", {"config": dict(server_get("/1.0/instances/c1")["config"], **{"user.ext": "theirs"})})
		r = catch(i.save, wait=True)
		assert_eq(r.error.kind, "Conflict")
		assert_eq("call sync() to merge" in r.error.message, True)
		i.sync()
		assert_eq(i.dirty, True)
		assert_eq(i.config["user.ext"], "theirs")
		assert_eq("user.gone" in i.config, False)
		i.save(wait=True)
		assert_eq(i.dirty, False)
	`)
	cfg := mustGet(t, s.f, "/1.0/instances/c1")["config"].(map[string]any)
	assert.Equal(t, "1", cfg["user.mine"])
	assert.Equal(t, "theirs", cfg["user.ext"])
	assert.Equal(t, "k", cfg["user.keep"])
	assert.NotContains(t, cfg, "user.gone")
	assert.Equal(t, "mine", mustGet(t, s.f, "/1.0/instances/c1")["description"])
}

func TestRollbackDiscardsWhatSyncKeeps(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	s.run(`
		i = c.instances.get("c1")
		i.config["user.mine"] = "1"
		i.sync()
		assert_eq(i.config["user.mine"], "1")
		i.rollback()
		assert_eq("user.mine" in i.config, False)
		assert_eq(i.dirty, False)
	`)
}

func TestWholeConfigAssignmentKeepsVolatileKeys(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	before := mustGet(t, s.f, "/1.0/instances/c1")["config"].(map[string]any)
	s.run(`
		i = c.instances.get("c1")
		i.config = {"security.privileged": "false"}
		assert_eq(i.dirty, True)
		i.save(wait=True)
		assert_eq(i.dirty, False)
		assert_eq(i.config["security.privileged"], "false")
		# Dropping only volatile keys is no change at all.
		i.config = {k: v for k, v in i.config.items() if not k.startswith("volatile.")}
		assert_eq(i.dirty, False)
		i.config["volatile.mine"] = "x"   # a volatile key the script sets is sent
		i.save(wait=True)
	`)
	body := s.lastBody("PUT", "/1.0/instances/c1")
	cfg := body["config"].(map[string]any)
	for k, v := range before {
		if strings.HasPrefix(k, "volatile.") {
			assert.Equal(t, v, cfg[k], "%s sent back as read", k)
		}
	}
	assert.Equal(t, "x", cfg["volatile.mine"])
	assert.NotContains(t, cfg, "image.os", "the script's whole-dict assignment replaced its own keys")
}

func TestSaveSendsTheServersCopyPlusEdits(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", fakelxd.Object{"config": fakelxd.Object{"user.big": "12345678901234567890"}})
	s.run(`
		i = c.instances.get("c1")
		i.description = "d"
		i.save(wait=True)
	`)
	body := s.lastBody("PUT", "/1.0/instances/c1")
	assert.Equal(t, "d", body["description"])
	assert.Equal(t, "12345678901234567890", body["config"].(map[string]any)["user.big"])
	assert.NotContains(t, body, "status")
	assert.NotContains(t, body, "expanded_config")
}

func TestOperationShowsInDirAndJSON(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	s.run(`
		i = c.instances.get("c1")
		assert_eq("operation" in dir(i), True)
		assert_eq(json.decode(json.encode(i))["name"], "c1")
		assert_eq(json.decode(json.encode([i]))[0]["name"], "c1")
		assert_eq(type(i.state()), "InstanceState")
		assert_eq(json.decode(json.encode(i.state()))["status"], i.state().status)
	`)
}

func TestErrorsNameTheirObject(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	err := s.fail(`c.instances.get("web9")`)
	assert.Contains(t, err.Error(), `NotFound: instance "web9": `)
	err = s.fail(`c.instances.get("c1").snapshots.get("nope")`)
	assert.Contains(t, err.Error(), `NotFound: snapshot "nope" of instance "c1": `)
	err = s.fail(`c.profiles.get("nope")`)
	assert.Contains(t, err.Error(), `NotFound: profile "nope": `)
}

func TestCreateWithoutANameLetsTheServerPick(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.run(`
		op = c.instances.create({"source": {"type": "image", "alias": "busybox"}})
		assert_eq(type(op), "Operation")
		inst = op.wait()
		assert_eq(type(inst), "Instance")
		assert_eq(inst.status, "Stopped")
		inst2 = c.instances.create({"source": {"type": "image", "alias": "busybox"}}, wait=True)
		assert_eq(inst2.name != inst.name, True)
	`)
	assert.Contains(t, s.fail(`c.instances.create({"name": "", "source": {"type": "none"}})`).Error(), `"name" is empty`)
}

func TestWaitAllAcceptsObjectsWithPendingOperations(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.run(`
		made = [c.instances.create({"name": "w%d" % n, "source": {"type": "image", "alias": "busybox"}}) for n in range(3)]
		got = lxd.wait_all(made)
		assert_eq([x.name for x in got], ["w0", "w1", "w2"])
		assert_eq([x.status for x in got], ["Stopped"] * 3)
		assert_eq([x.operation for x in made], [None] * 3)
	`)
}

// mustGet is the object at path as the fake server holds it.
func mustGet(t *testing.T, f *fakelxd.Server, path string) map[string]any {
	t.Helper()
	obj, ok := f.Get(path)
	require.True(t, ok, "no %s on the server", path)
	return obj
}

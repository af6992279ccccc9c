package lxdmod_test

// The async core without LXD (internal/fakelxd).
//
// wait=True and wait=False, Operation.wait, lxd.wait_all: what each returns,
// in which order, and how failures and timeouts come back.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

func TestWaitTrueReturnValues(t *testing.T) {
	s := withInstances(t, "c1")
	s.run(`
		i = c.instances.get("c1")
		assert_eq(i.start(wait=True), None)
		assert_eq(i.status, "Running", "the object is re-read once the action ended")
		assert_eq(i.freeze(wait=True), None)
		assert_eq(i.status, "Frozen")
		assert_eq(i.unfreeze(wait=True), None)
		assert_eq(i.restart(wait=True), None)
		assert_eq(i.stop(wait=True), None)
		assert_eq(i.status, "Stopped")
		snap = i.snapshots.create("s1", wait=True)
		assert_eq((type(snap), snap.name), ("Snapshot", "s1"))
		img = i.publish(wait=True)
		assert_eq(type(img), "Image")
		assert_eq(c.images.exists(img.fingerprint), True)
		simg = snap.publish(wait=True)
		assert_eq(type(simg), "Image")
		assert_eq(i.restore_snapshot("s1", wait=True), None)
		assert_eq(snap.delete(wait=True), None)
		cp = i.copy("c2", wait=True)
		assert_eq((type(cp), cp.name, cp.status), ("Instance", "c2", "Stopped"))
		assert_eq(i.rename("c3", wait=True), None)
		assert_eq(i.delete(wait=True), None)
	`)
	body := s.lastBody("PUT", "/1.0/instances/c1/state")
	assert.Equal(t, map[string]any{"action": "stop", "timeout": float64(30), "force": true}, body)
	body = s.lastBody("POST", "/1.0/instances")
	assert.Equal(t, map[string]any{"type": "copy", "source": "c1"}, pick(body["source"], "type", "source"))
}

// pick returns the given keys of a JSON object.
func pick(v any, keys ...string) map[string]any {
	m, _ := v.(map[string]any)
	out := map[string]any{}
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}

func TestWaitFalseReturnsAPendingOperation(t *testing.T) {
	s := withInstances(t, "c1")
	s.run(`
		i = c.instances.get("c1")
		release = hold("PUT /1.0/instances/c1/state")
		op = i.start()
		assert_eq(type(op), "Operation")
		assert_eq((op.status, op.description, op.err), ("Running", "Starting instance", ""))
		assert_eq(op.resources["instances"], ["/1.0/instances/c1"])
		assert_eq(repr(op), '<Operation %s "Starting instance" Running>' % op.id[:8])
		release()
		assert_eq(op.wait(), None, "wait() returns what wait=True returns")
		assert_eq(op.status, "Success")
		assert_eq(i.status, "Running")
		assert_eq(server_get("/1.0/instances/c1")["status"], "Running")
	`)
}

func TestOperationWaitAfterTheServerForgotIt(t *testing.T) {
	s := newScript(t, fakelxd.Config{ForgetAfter: 50 * time.Millisecond})
	s.f.AddInstance("c1", nil)
	s.run(`
		i = c.instances.get("c1")
		op = i.start()
		made = c.instances.create({"name": "c2", "source": {"type": "none"}})
		pub = c.instances.get("c1").publish()
		time.sleep(0.5)
		assert_eq(bool(catch(c.operations.get, op.id).error), True, "LXD no longer knows the operation")
		assert_eq(op.wait(), None)
		assert_eq(op.status, "Success")
		assert_eq(lxd.wait_all(made), [made])
		assert_eq(made.status, "Stopped")
		img = pub.wait()
		assert_eq(type(img), "Image")
		assert_eq(c.images.exists(img.fingerprint), True)
	`)
}

func TestOperationWaitIsIdempotent(t *testing.T) {
	s := withInstances(t, "c1")
	s.run(`
		op = c.instances.get("c1").publish()
		first = op.wait()
		n = request_count()
		second = op.wait()
		assert_eq(first, second)
		assert_eq(request_count(), n, "the result is kept")
		assert_eq(lxd.wait_all(op), [first])
	`)
}

func TestFailedOperations(t *testing.T) {
	s := withInstances(t, "c1")
	s.run(`
		i = c.instances.get("c1")
		fail_next("PUT /1.0/instances/c1/state", "no space left")
		op = i.start()
		r = catch(op.wait)
		assert_eq(r.error.is_a("LXDAPIException"), True)
		assert_eq("no space left" in r.error.message, True)
		assert_eq(op.status, "Failure")
		assert_eq(op.err, "no space left")
		assert_eq(server_get("/1.0/instances/c1")["status"], "Stopped", "a failed operation acted on nothing")
	`)
	err := s.fail(`
		fail_next("PUT /1.0/instances/c1/state", "cgroup trouble")
		c.instances.get("c1").start(wait=True)
	`)
	requireKind(t, err, "LXDAPIException", "cgroup trouble")
	// LXD's own refusals come back the same way.
	requireKind(t, s.fail(`c.instances.get("c1").stop(wait=True)`), "LXDAPIException", "The instance is already stopped")
}

func TestOperationWaitTimeoutThenSuccess(t *testing.T) {
	s := withInstances(t, "c1")
	s.run(`
		release = hold("PUT /1.0/instances/c1/state")
		op = c.instances.get("c1").start()
		r = catch(op.wait, timeout=0.2)
		assert_eq(r.error.kind, "Timeout")
		assert_eq(op.status, "Running")
		release()
		assert_eq(op.wait(), None, "a wait that timed out can be retried")
	`)
	assert.Contains(t, s.fail(`op.wait(timeout=-1)`).Error(), `Operation.wait: for parameter "timeout": must be positive`)
}

func TestOperationRefreshAndCancel(t *testing.T) {
	s := withInstances(t, "c1")
	s.run(`
		release = hold("PUT /1.0/instances/c1/state")
		op = c.instances.get("c1").start()
		r = catch(op.cancel)
		assert_eq(r.error.is_a("LXDAPIException"), True)
		assert_eq("can't be cancelled" in r.error.message, True)
		release()
		time.sleep(0.1)
		op.refresh()
		assert_eq(op.status, "Success")
	`)
}

func TestWaitAllReturnsResultsInArgumentOrder(t *testing.T) {
	s := withInstances(t, "c1")
	s.run(`
		i = c.instances.get("c1")
		r1 = hold("POST /1.0/images")
		r2 = hold("POST /1.0/instances")
		r3 = hold("POST /1.0/instances/c1/snapshots")
		pub = i.publish()
		made = c.instances.create({"name": "c2", "source": {"type": "none"}})
		snap = i.snapshots.create("s1")
		r3()
		r2()
		r1()
		res = lxd.wait_all(pub, made, snap)
		assert_eq([type(x) for x in res], ["Image", "Instance", "Snapshot"])
		assert_eq(res[1:], [made, snap])
		assert_eq((made.status, snap.name), ("Stopped", "s1"))
	`)
	// Lists are flattened; items with nothing pending come back as they are.
	s.run(`
		a = c.instances.get("c1").start()
		b = c.instances.get("c2")
		res = lxd.wait_all([a, b], [])
		assert_eq(res, [None, b])
		assert_eq(lxd.wait_all(), [])
	`)
}

func TestWaitAllFailsWithTheFirstFailureAfterAllEnded(t *testing.T) {
	s := withInstances(t, "c1", "c2")
	release := s.f.Hold("PUT /1.0/instances/c2/state")
	time.AfterFunc(300*time.Millisecond, release)
	s.run(`
		fail_next("PUT /1.0/instances/c1/state", "boom")
		bad = c.instances.get("c1").start()
		slow = c.instances.get("c2").start()
		r = catch(lxd.wait_all, bad, slow)
		assert_eq(r.error.is_a("LXDAPIException"), True)
		assert_eq("boom" in r.error.message, True)
		assert_eq(slow.status, "Success", "the failure came once the other operation had ended too")
	`)
}

func TestWaitAllTimeoutAndBadArguments(t *testing.T) {
	s := withInstances(t, "c1")
	s.run(`
		release = hold("PUT /1.0/instances/c1/state")
		op = c.instances.get("c1").start()
		r = catch(lxd.wait_all, op, timeout=0.2)
		assert_eq(r.error.kind, "Timeout")
		release()
		assert_eq(lxd.wait_all(op, timeout=5), [None])
	`)
	for _, tc := range []struct{ src, want string }{
		{`lxd.wait_all(1)`, "lxd.wait_all: got int"},
		{`lxd.wait_all(["x"])`, "lxd.wait_all: got string"},
		{`lxd.wait_all(timeout="x")`, `for parameter "timeout": got string, want number or None`},
		{`lxd.wait_all(timeout=0)`, `for parameter "timeout": must be positive, got 0`},
	} {
		assert.Contains(t, s.fail(tc.src).Error(), tc.want, tc.src)
	}
}

// The wait=False rules without LXD: nothing overtakes an object's own
// pending change, objects follow their operations, failures are reported
// once, sync() merges key by key, save() keeps LXD's volatile keys.

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
	s := withInstances(t, "c1")
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
	s := withInstances(t, "c1")
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
	s := withInstances(t, "c1")
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
	s := withInstances(t, "c1", "c2")
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
	s := withInstances(t, "a")
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
	s := withInstances(t, "c1")
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
	s := withInstances(t, "c1")
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
	s := withInstances(t, "c1")
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
	s := withInstances(t, "c1")
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
	s := withInstances(t, "c1")
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
	s := withInstances(t, "c1")
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
	s := withInstances(t, "c1")
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

// execute(..., wait=False): the Operation and its result, many commands at
// once, the handler pump on the script's thread (every byte, in order, also
// when the script waits late), kills (handler failure, timeout, cancel),
// and failures nobody waited for.

func TestExecuteNoWaitReturnsAnOperationWhoseWaitIsTheResult(t *testing.T) {
	s := running(t)
	s.run(`
		op = i.execute(["echo", "hi"], wait=False)
		assert_eq(type(op), "Operation")
		assert_eq(i.operation, None, "an exec is not a change of the instance")
		r = op.wait()
		assert_eq((r.exit_code, r.stdout, r.stderr), (0, "hi\n", ""))
		assert_eq(op.wait() == r, True, "a second wait gives the same result")
		assert_eq(lxd.wait_all(op)[0] == r, True)
		f = i.execute(["false"], wait=False).wait()
		assert_eq(f.exit_code, 1, "a non-zero exit is a result")
		b = i.execute(["cat"], stdin_payload=b"\xff\x00", decode=False, wait=False).wait()
		assert_eq(b.stdout, b"\xff\x00")
	`)
	assert.NoError(t, s.lxd.Wait(s.ctx), "nothing left to report")
}

// TestExecuteNoWaitRunsConcurrently: every command waits until all of them
// have started, so the script ends only if they run at the same time.
func TestExecuteNoWaitRunsConcurrently(t *testing.T) {
	s := running(t)
	s.f.AddInstance("c2", fakelxd.Object{"status": "Running"})
	const n = 6
	var started sync.WaitGroup
	started.Add(n)
	all := make(chan struct{})
	go func() { started.Wait(); close(all) }()
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		started.Done()
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			fmt.Fprint(x.Stdout, "alone")
			return 1
		}
		fmt.Fprintf(x.Stdout, "%s %s", x.Instance, x.Command[0])
		return 0
	})
	s.run(`
		j = c.instances.get("c2")
		ops = [inst.execute([str(k)], wait=False) for k in range(3) for inst in (i, j)]
		res = lxd.wait_all(*ops)
		assert_eq([r.stdout for r in res], ["c1 0", "c2 0", "c1 1", "c2 1", "c1 2", "c2 2"])
		assert_eq([r.exit_code for r in res], [0] * 6)
	`)
}

func TestExecuteNoWaitHandlersRunOnTheScriptThreadInOrder(t *testing.T) {
	s := running(t)
	s.f.AddInstance("c2", fakelxd.Object{"status": "Running"})
	const lines = 2000
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		for k := range lines {
			fmt.Fprintf(x.Stdout, "%s out %d\n", x.Instance, k)
			if k%7 == 0 {
				fmt.Fprintf(x.Stderr, "%s err %d\n", x.Instance, k)
			}
		}
		return 0
	})
	want := func(inst, stream string, every int) string {
		var b strings.Builder
		for k := range lines {
			if k%every == 0 {
				fmt.Fprintf(&b, "%s %s %d\n", inst, stream, k)
			}
		}
		return b.String()
	}
	// The handlers append to Starlark lists: under -race, any call from
	// another goroutine than the script's is reported.
	s.run(`
		got = {}
		def collect(key):
		    got[key] = []
		    return lambda chunk: got[key].append(chunk)
		j = c.instances.get("c2")
		a = i.execute(["x"], stdout_handler=collect("c1 out"), stderr_handler=collect("c1 err"), wait=False)
		b = j.execute(["x"], stdout_handler=collect("c2 out"), stderr_handler=collect("c2 err"), wait=False)
		res = lxd.wait_all(a, b)
		assert_eq([(r.exit_code, r.stdout, r.stderr) for r in res], [(0, "", "")] * 2)
		joined = {k: "".join(v) for k, v in got.items()}
		chunks = len(got["c1 out"])
	`)
	for _, inst := range []string{"c1", "c2"} {
		assert.Equal(t, want(inst, "out", 1), s.str(`joined["`+inst+` out"]`), inst+" stdout: every byte, in order")
		assert.Equal(t, want(inst, "err", 7), s.str(`joined["`+inst+` err"]`), inst+" stderr: every byte, in order")
	}
	chunks, _ := starlarkInt(s.value("chunks"))
	assert.Greater(t, chunks, 1, "output is delivered in pieces")
}

func TestExecuteNoWaitKeepsEverythingForALateWait(t *testing.T) {
	s := running(t)
	finished := make(chan struct{})
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		defer close(finished)
		for k := 0; k < len(big); k += 1000 {
			fmt.Fprint(x.Stdout, big[k:min(k+1000, len(big))])
		}
		fmt.Fprint(x.Stderr, "é")
		return 5
	})
	s.globals["wait_finished"] = starlark.NewBuiltin("wait_finished", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		<-finished
		return starlark.None, nil
	})
	// The command ends and its output is received before the script waits:
	// the handler gets all of it then, on the script's thread.
	s.run(`
		seen = []
		op = i.execute(["x"], stdout_handler=seen.append, wait=False)
		wait_finished()
		before = len(seen)
		r = op.wait()
		out = "".join(seen)
	`)
	assert.Equal(t, "0", s.value(`before`).String(), "no handler call while the script does not wait")
	assert.Equal(t, big, s.str(`out`))
	assert.Equal(t, "é", s.str(`r.stderr`))
	assert.Equal(t, "5", s.value(`r.exit_code`).String())
}

// runUntilKilled runs the command x until it is killed (exit 137, its
// name sent to killed) or for d at the most (exit 0).
func runUntilKilled(x *fakelxd.Exec, killed chan<- string, d time.Duration) int {
	select {
	case <-x.Killed:
		killed <- x.Command[0]
		return 137
	case <-time.After(d):
		return 0
	}
}

// startUntilKilled runs src, whose commands run until they are killed
// (their names then sent to the channel it returns) or for d, and returns
// once n of them have started.
func startUntilKilled(s *script, src string, n int, d time.Duration) <-chan string {
	killed := make(chan string, n)
	started := make(chan struct{}, n)
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		started <- struct{}{}
		return runUntilKilled(x, killed, d)
	})
	s.run(src)
	for range n {
		<-started
	}
	return killed
}

func TestExecuteNoWaitHandlerFailureKillsItsCommand(t *testing.T) {
	s := running(t)
	killed := make(chan string, 2)
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		fmt.Fprintf(x.Stdout, "%s first\n", x.Command[0])
		return runUntilKilled(x, killed, 10*time.Second)
	})
	err := s.fail(`
		def h(chunk):
		    fail("handler saw " + chunk.strip())
		bad = i.execute(["bad"], stdout_handler=h, wait=False)
		good = i.execute(["good"], timeout=0.5, wait=False)
		lxd.wait_all(bad, good)
	`)
	assert.Contains(t, err.Error(), "handler saw bad first")
	assert.Equal(t, "bad", <-killed, "the failing handler's command was killed")
	assert.Equal(t, "good", <-killed, "the other ran to its own timeout")
}

func TestExecuteNoWaitTimeoutFailsWhenWaited(t *testing.T) {
	s := running(t)
	s.run(`
		op = i.execute(["sleep", "60"], timeout=0.2, wait=False)
		r = catch(op.wait)
		kind = r.error.kind
		again = catch(op.wait).error.kind
		short = catch(i.execute(["sleep", "60"], wait=False).wait, timeout=0.2).error.kind
	`)
	assert.Equal(t, "Timeout", s.str(`kind`))
	assert.Equal(t, "Timeout", s.str(`again`))
	assert.Equal(t, "Timeout", s.str(`short`), "a wait's own timeout")
	// The command the short wait gave up on goes on; the end of the run
	// waits for it and kills nothing.
}

func TestExecuteNoWaitFailureNobodyWaitedForIsReported(t *testing.T) {
	s := running(t)
	s.run(`
		i.execute(["false"], wait=False)
		i.execute(["sleep", "60"], timeout=0.2, wait=False)
	`)
	err := s.lxd.Wait(s.ctx)
	var uw *lxdmod.UnwaitedError
	require.True(t, errors.As(err, &uw), "got %v", err)
	require.Len(t, uw.Failures, 1, "a non-zero exit is no failure: %v", err)
	assert.Contains(t, err.Error(), `execute(["sleep", "60"]) of instance "c1"`)
	assert.Contains(t, err.Error(), "never waited for")
	requireKind(t, err, "Timeout", "killed")
}

func TestExecuteNoWaitCancelKillsEveryCommand(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	ctx, cancel := context.WithCancel(s.ctx)
	s.ctx = ctx // the script's and the session's, as lxdstar.Run has it
	s.f.AddInstance("c1", fakelxd.Object{"status": "Running"})
	s.run(`i = c.instances.get("c1")`)
	killed := startUntilKilled(s, `
		a = i.execute(["a"], wait=False)
		b = i.execute(["b"], wait=False)
		c2 = i.execute(["c"], wait=False)
	`, 3, 10*time.Second)
	go cancel()
	err := s.fail(`a.wait()`)
	requireKind(t, err, "Cancelled", "")
	require.Eventually(t, func() bool { return len(killed) == 3 }, 5*time.Second, 10*time.Millisecond, "waited for or not, every command is killed")
}

func TestExecuteNoWaitBadArguments(t *testing.T) {
	s := running(t)
	n := s.mark()
	for _, tc := range []struct{ src, want string }{
		{`i.execute(["ls"], wait=1)`, `wait`},
		{`i.execute(["ls"], None, None, True, None, "utf-8", None, None, None, None, None, False)`, "keyword-only"},
	} {
		err := s.fail(tc.src)
		assert.Contains(t, err.Error(), "Instance.execute", tc.src)
		assert.Contains(t, err.Error(), tc.want, tc.src)
	}
	assert.Empty(t, s.requests(n))
	requireKind(t, s.fail(`c.instances.get("c1").execute(["x"], wait=False)`+"\n"+`c.instances.get("nope").execute(["x"], wait=False)`), "NotFound", `instance "nope"`)
}

// TestExecuteNoWaitInterruptedWaitKillsItsCommand: in a session that goes
// on (the REPL), Ctrl-C during a wait stops the command waited for, as it
// stops an execute(wait=True); the others run on.
func TestExecuteNoWaitInterruptedWaitKillsItsCommand(t *testing.T) {
	s := running(t)
	killed := startUntilKilled(s, `
		waited = i.execute(["waited"], wait=False)
		other = i.execute(["other"], wait=False)
	`, 2, 300*time.Millisecond)
	session := s.ctx
	ctx, cancel := context.WithCancel(session)
	s.ctx = ctx
	go cancel()
	requireKind(t, s.fail(`waited.wait()`), "Cancelled", "")
	assert.Equal(t, "waited", <-killed)
	s.ctx = session
	s.run(`assert_eq(other.wait().exit_code, 0)`)
	assert.NoError(t, s.lxd.Wait(s.ctx), "the interrupted command was reported by its wait")
}

func TestExecuteNoWaitRefusedCommand(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil) // stopped
	s.run(`
		i = c.instances.get("c1")
		op = i.execute(["true"], wait=False)
		r = catch(op.wait)
		assert_eq(r.error.kind, "LXDAPIException")
		msg = r.error.message
		i.execute(["true"], wait=False)
	`)
	assert.Contains(t, s.str(`msg`), `instance "c1"`)
	assert.Contains(t, s.str(`msg`), "Instance is not running")
	err := s.lxd.Wait(s.ctx)
	requireKind(t, err, "LXDAPIException", "Instance is not running")
	assert.Contains(t, err.Error(), `execute(["true"]) of instance "c1" (started at test.star:7:10 with wait=False, never waited for) failed`)
}

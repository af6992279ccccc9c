package lxdmod_test

// wait=True and wait=False, Operation.wait, lxd.wait_all: what each returns,
// in which order, and how failures and timeouts come back.

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

func TestWaitTrueReturnValues(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
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
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
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
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
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
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
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
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
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
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
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
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
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
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	s.f.AddInstance("c2", nil)
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
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
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

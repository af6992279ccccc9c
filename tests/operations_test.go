package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"
)

// An exec of `sleep` started through the raw API is a real, uncancellable
// background operation to follow with client.operations.
func TestOperationsGetAllWaitRefresh(t *testing.T) {
	t.Parallel()
	eachServer(t, testOperationsGetAllWaitRefresh)
}

func testOperationsGetAllWaitRefresh(t *testing.T, srv server) {
	name := uniqueName("ops")
	createInstance(t, srv.Socket, name, true)

	newScript(t, srv.Socket).with("name", starlark.String(name)).mustRun(`
client = lxd.Client()
def start_sleep(seconds):
    r = client.api.instances[name].exec.post(json={"command": ["sleep", str(seconds)],
        "wait-for-websocket": False, "interactive": False, "record-output": False})
    if r.status_code != 202:
        fail("exec: %s %s" % (r.status_code, r.json()))
    return r.json()["metadata"]["id"]

op_id = start_sleep(3)
op = client.operations.get(op_id)
if op.id != op_id or op.status != "Running" or op.status_code != 103 or op.may_cancel:
    fail("get(): %s %s %s %s" % (op.id, op.status, op.status_code, op.may_cancel))
if op.progress != None or op.description != "Executing command" or op.op_class != "task":
    fail("progress %s, description %s, class %s" % (op.progress, op.description, op.op_class))
if "/1.0/instances/" + name not in op.resources["instances"] or not op.created_at:
    fail("resources %s, created_at %s" % (op.resources, op.created_at))
if client.operations.get("/1.0/operations/" + op_id).id != op_id:
    fail("get() by URL")

if op_id not in [o.id for o in client.operations.all()]:
    fail("all() misses the running operation")
for o in client.operations.all():
    if type(o) != "Operation":
        fail("all() returned a %s" % type(o))

r = catch(op.cancel)
if not r.error or not r.error.is_a("LXDAPIException") or r.error.message == "":
    fail("cancel() of an uncancellable operation: %s" % r)

op.refresh()
if op.status != "Running":
    fail("after refresh: %s" % op.status)

done = client.operations.wait_for_operation(op_id, timeout=30)
if type(done) != "Operation" or done.status != "Success" or done.id != op_id:
    fail("wait_for_operation: %s" % done)
if op.wait() != None or op.status != "Success":
    fail("wait(): status %s" % op.status)
op.refresh()
if op.status != "Success" or op.status_code != 200:
    fail("refresh after the end: %s" % op.status)

# A wait that runs past its timeout fails with Timeout; the operation goes on.
slow = start_sleep(5)
r = catch(client.operations.wait_for_operation, slow, timeout=0.5)
if not r.error or not r.error.is_a("Timeout"):
    fail("short timeout: %s" % r)
if client.operations.get(slow).status != "Running":
    fail("the operation stopped")
client.operations.wait_for_operation(slow)

r = catch(client.operations.get, "00000000-0000-0000-0000-000000000000")
if not r.error or not r.error.is_a("NotFound"):
    fail("get(unknown): %s" % r)
r = catch(client.operations.get, "")
if not r.error or "operation_id" not in r.error.message:
    fail("get(''): %s" % r)
`)
}

// A trust-token operation is one LXD can cancel.
func TestOperationCancel(t *testing.T) {
	t.Parallel()
	eachServer(t, testOperationCancel)
}

func testOperationCancel(t *testing.T, srv server) {
	tokenName := uniqueName("tok")
	newScript(t, srv.Socket).with("token_name", starlark.String(tokenName)).mustRun(`
client = lxd.Client()
r = client.api.certificates.post(json={"name": token_name, "type": "client", "token": True})
op = client.operations.get(r.json()["metadata"]["id"])
if not op.may_cancel or op.status != "Running" or op.op_class != "token":
    fail("token operation: %s %s %s" % (op.may_cancel, op.status, op.op_class))
op.cancel()
# The watcher kept the final state: no refresh() needed, which could race
# LXD forgetting the operation 5 s after it ended on a busy machine.
r = catch(op.wait)
if not r.error or not r.error.is_a("LXDAPIException"):
    fail("wait() on a cancelled operation: %s" % r)
if op.status != "Cancelled":
    fail("after cancel(): %s" % op.status)
`)
}

// op.progress shows LXD's *_progress metadata while an operation runs and
// is None otherwise; a finished creation's operation has none.
func TestOperationProgressAttribute(t *testing.T) {
	t.Parallel()
	eachServer(t, testOperationProgressAttribute)
}

func testOperationProgressAttribute(t *testing.T, srv server) {
	name := uniqueName("prog")
	cleanupInstance(t, srv.Socket, name)
	newScript(t, srv.Socket).with("name", starlark.String(name)).mustRun(`
client = lxd.Client()
inst = client.instances.create({"name": name, "source": {"type": "image", "alias": "busybox"}})
op = inst.operation
if op != None:
    p = op.progress
    if p != None and (type(p) != "string" or ": " not in p):
        fail("progress: %r" % p)
    op.wait()
if inst.operation != None or inst.status != "Stopped":
    fail("after the wait: %s %s" % (inst.operation, inst.status))
`)
}

// Listing operations must not start following each of them: only a wait does.
func TestOperationsListingOpensNoWatchers(t *testing.T) {
	t.Parallel()
	eachServer(t, testOperationsListingOpensNoWatchers)
}

func testOperationsListingOpensNoWatchers(t *testing.T, srv server) {
	proxy := newCountingProxy(t, srv.Socket)
	var m []int
	out := newScript(t, proxy.Socket).with("mark", marks(proxy, &m)).with("token_name", starlark.String(uniqueName("tokw"))).mustRun(`
client = lxd.Client()
r = client.api.certificates.post(json={"name": token_name, "type": "client", "token": True})
op_id = r.json()["metadata"]["id"]
mark()
ops = client.operations.all()
got = client.operations.get(op_id)
time.sleep(0.5)
mark()
got.cancel()
print(op_id in [o.id for o in ops], catch(got.wait).error.kind, got.status)
`)
	assert.Equal(t, "True LXDAPIException Cancelled\n", out)
	require.Len(t, m, 2)
	assert.Equal(t, 2, m[1]-m[0], "all() and get() should be one request each:\n%s", proxy.requestsSince(m[0]))
}

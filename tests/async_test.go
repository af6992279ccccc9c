package tests

// wait=False never loses work: objects order and follow their operations,
// no failure goes unreported, sync() merges (docs/guide.md, "wait").

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/internal/syncbuf"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// The getting-started page of pylxd's manual (seed 002), as written, with
// LXD's volatile.* keys in the config: a whole-dict assignment keeps them.
func TestSeedGettingStartedConfigSave(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		name := newInstance(t, srv.Socket, "gs", false)
		rc := restClient(t, srv.Socket)
		before := instanceConfig(t, rc, name)
		require.Contains(t, before, "volatile.idmap.next", "the test needs LXD's volatile keys")

		for _, wait := range []string{"wait=True", ""} {
			out := newScript(t, srv.Socket).with("name", str(name)).mustRun(`
client = lxd.Client()
container = [c for c in client.containers.all() if c.name == name][0]
container.config["security.privileged"] = "true"
container.save(wait=True)
print(container.config["security.privileged"])
container.config.update({"security.nesting": "true"})
print(container.dirty)
container.rollback()
print(container.dirty)
print(container.config["security.privileged"])
container.config = {"security.privileged": "false"}
container.save(` + wait + `)
`)
			assert.Equal(t, "true\nTrue\nFalse\ntrue\n", out, wait)
			got := instanceConfig(t, rc, name)
			assert.Equal(t, "false", got["security.privileged"], wait)
			assert.NotContains(t, got, "security.nesting", wait)
			for k, v := range before {
				if strings.HasPrefix(k, "volatile.") {
					assert.Equal(t, v, got[k], "%s: %s kept", wait, k)
				}
			}
		}
	})
}

// A wait=False save followed by a whole-dict assignment: the object is
// clean once the save is done, its volatile keys back from the server.
func TestSaveKeepsVolatileAndCleansObject(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		name := newInstance(t, srv.Socket, "vol", false)
		out := newScript(t, srv.Socket).with("name", str(name)).mustRun(`
i = lxd.Client().instances.get(name)
i.config = {"user.a": "1"}
print(i.dirty)
i.save()
i.sync()  # waits for the save: nothing overtakes it
print(i.dirty, i.config["user.a"], "volatile.idmap.next" in i.config)
i.config.update({k: v for k, v in i.config.items() if not k.startswith("volatile.")})
print(i.dirty)
`)
		assert.Equal(t, "True\nFalse 1 True\nFalse\n", out)
	})
}

// Nothing overtakes an object's own pending change: rename then delete,
// for every kind of object that has rename.
func TestRenameThenDelete(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		rc := restClient(t, srv.Socket)
		type kind struct {
			name   string
			setup  string // creates x, named a
			path   func(name string) string
			rename string
		}
		kinds := []kind{
			{"instance", `x = client.instances.create({"name": a, "source": {"type": "image", "alias": "busybox"}})`,
				func(n string) string { return rest.Path("instances", n) }, `x.rename(b)`},
			{"profile", `x = client.profiles.create(a)`,
				func(n string) string { return rest.Path("profiles", n) }, `x.rename(b)`},
			{"project", `x = client.projects.create(a)`,
				func(n string) string { return rest.Path("projects", n) }, `x.rename(b)`},
			{"network", `x = client.networks.create(a, type="bridge", config={"ipv4.address": "none", "ipv6.address": "none"})`,
				func(n string) string { return rest.Path("networks", n) }, `x.rename(b)`},
			{"volume", `x = client.storage_pools.get("default").volumes.create({"name": a, "type": "custom"})`,
				func(n string) string { return rest.Path("storage-pools", "default", "volumes", "custom", n) }, `x.rename(b)`},
		}
		for _, k := range kinds {
			t.Run(k.name, func(t *testing.T) {
				t.Parallel()
				a, b := uniqueName("rd"), uniqueName("rd")
				if k.name == "network" {
					holdHostLinks(t) // see hostLinks
				}
				for _, n := range []string{a, b} {
					if k.name == "instance" {
						cleanupInstance(t, srv.Socket, n)
					} else {
						cleanupPath(t, rc, k.path(n))
					}
				}
				out := newScript(t, srv.Socket).with("a", str(a)).with("b", str(b)).mustRun(`
client = lxd.Client()
` + k.setup + `
` + k.rename + `
x.delete()
`)
				assert.Equal(t, "", out)
				assert.False(t, serverExists(t, rc, k.path(a)), "%s %s still exists", k.name, a)
				assert.False(t, serverExists(t, rc, k.path(b)), "%s %s still exists: delete went to the old name", k.name, b)
			})
		}
		t.Run("snapshot", func(t *testing.T) {
			t.Parallel()
			inst := newInstance(t, srv.Socket, "rds", false)
			newScript(t, srv.Socket).with("inst", str(inst)).mustRun(`
i = lxd.Client().instances.get(inst)
s = i.snapshots.create("s1")
s.rename("s2")
s.delete()
i.snapshots.create("s3")
`)
			for _, s := range []string{"s1", "s2"} {
				assert.False(t, serverExists(t, rc, rest.Path("instances", inst, "snapshots", s)), "snapshot %s", s)
			}
			assert.True(t, serverExists(t, rc, rest.Path("instances", inst, "snapshots", "s3")))
		})
	})
}

// rename then start, start then execute, an instance renamed while its
// snapshot is used: each call waits for the change before it.
func TestOrderedInstanceCalls(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		a, b := uniqueName("ord"), uniqueName("ord")
		cleanupInstance(t, srv.Socket, a)
		cleanupInstance(t, srv.Socket, b)
		rc := restClient(t, srv.Socket)
		out := newScript(t, srv.Socket).with("a", str(a)).with("b", str(b)).mustRun(`
client = lxd.Client()
i = client.instances.create({"name": a, "source": {"type": "image", "alias": "busybox"}})
s = i.snapshots.create("snap0")
i.rename(b)
i.start()
r = i.execute(["sh", "-c", "echo running as $(hostname)"])
print(r.exit_code, r.stdout.strip())
print(i.name, i.status)
s.rename("snap1", wait=True)   # the snapshot follows its instance's new name
print(s.name, [x.name for x in i.snapshots.all()])
`)
		assert.Equal(t, "0 running as "+b+"\n"+b+" Running\nsnap1 [\"snap1\"]\n", out)
		assert.Equal(t, "Running", instanceStatus(t, rc, b))
		assert.False(t, serverExists(t, rc, rest.Path("instances", a)))
	})
}

// Two saves in a row with the default wait=False: the second waits for the
// first (no ETag Conflict), and the server ends with the second's values.
func TestTwoSavesInARow(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		name := newInstance(t, srv.Socket, "sv2", false)
		rc := restClient(t, srv.Socket)
		newScript(t, srv.Socket).with("name", str(name)).mustRun(`
i = lxd.Client().instances.get(name)
i.description = "first"
i.config["user.a"] = "1"
i.save()
i.description = "second"
i.config["user.b"] = "2"
i.save()
`)
		got := serverObject(t, rc, rest.Path("instances", name))
		assert.Equal(t, "second", got["description"])
		cfg := got["config"].(map[string]any)
		assert.Equal(t, "1", cfg["user.a"])
		assert.Equal(t, "2", cfg["user.b"])
	})
}

// An object follows its operations whether or not anybody waits: reading
// attributes in a loop (never blocking) sees the new name and status.
func TestObjectsFollowOperationsUnwaited(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		a, b := uniqueName("fol"), uniqueName("fol")
		createInstance(t, srv.Socket, a, false)
		cleanupInstance(t, srv.Socket, b)
		out := newScript(t, srv.Socket).with("a", str(a)).with("b", str(b)).mustRun(`
i = lxd.Client().instances.get(a)
op = i.rename(b)
print(type(op), i.operation == op, "operation" in dir(i))
for n in range(600):
    if i.name == b and i.operation == None:
        break
    time.sleep(0.05)
print(i.name, i.operation)
i.start()
for n in range(600):
    if i.status == "Running":
        break
    time.sleep(0.05)
print(i.status, i.dirty)
`)
		assert.Equal(t, "Operation True True\n"+b+" None\nRunning False\n", out)
	})
}

// sync() after a Conflict merges: the script's own key goes in, the other
// writer's survives.
func TestSyncMergesAfterConflict(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		name := newInstance(t, srv.Socket, "mrg", false)
		rc := restClient(t, srv.Socket)
		other := func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			// Another writer, through the raw API.
			_, err := rc.Do(context.Background(), &rest.Request{Method: "PATCH", Path: rest.Path("instances", name),
				Body: map[string]any{"config": map[string]any{"user.ext": "theirs"}}})
			return starlark.None, err
		}
		out := newScript(t, srv.Socket).with("name", str(name)).with("other_writer", starlark.NewBuiltin("other_writer", other)).mustRun(`
i = lxd.Client().instances.get(name)
i.config["user.mine"] = "1"
i.description = "mine"
other_writer()
r = catch(i.save, wait=True)
print(r.error.kind, "sync()" in r.error.message, "instance \"%s\"" % name in r.error.message)
i.sync()
print(i.dirty, i.config["user.mine"], i.config["user.ext"])
i.save(wait=True)
print(i.dirty)
`)
		assert.Equal(t, "Conflict True True\nTrue 1 theirs\nFalse\n", out)
		got := serverObject(t, rc, rest.Path("instances", name))
		cfg := got["config"].(map[string]any)
		assert.Equal(t, "1", cfg["user.mine"])
		assert.Equal(t, "theirs", cfg["user.ext"], "the other writer's key was reverted")
		assert.Equal(t, "mine", got["description"])
	})
}

// A failed operation nobody waited for fails the script, naming it, its
// object and the line that started it; Run returns it to embedders with
// the LXD error kind reachable through errors.As.
func TestUnwaitedFailureFailsTheScript(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		name := newInstance(t, srv.Socket, "unw", true)
		s := newScript(t, srv.Socket).with("name", str(name))
		out, err := s.run(`
i = lxd.Client().instances.get(name)
i.start()
print("end")
`)
		assert.Equal(t, "end\n", out)
		require.Error(t, err)
		msg := err.Error()
		assert.Contains(t, msg, `start of instance "`+name+`"`)
		assert.Contains(t, msg, s.t.Name()+".star:3:8")
		assert.Contains(t, strings.ToLower(msg), "already running")
		var unw *lxdmod.UnwaitedError
		require.True(t, errors.As(err, &unw), "%T", err)
		assert.Len(t, unw.Failures, 1)
		var re *rest.Error
		require.True(t, errors.As(err, &re))
		assert.True(t, errors.Is(err, rest.ErrAPI))

		// The command: exit status 1, the failure on stderr.
		cmd := exec.Command(lxdstarBinary(t), "--endpoint", srv.Socket, "-c",
			"i = lxd.Client().instances.get('"+name+"')\ni.start()\n")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err = cmd.Run()
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "exit: %v", err)
		assert.Equal(t, 1, ee.ExitCode())
		assert.Contains(t, stderr.String(), `start of instance "`+name+`"`)
		assert.Contains(t, stderr.String(), "<cmdline>:2:")
	})
}

// A failure is reported once: the object's next call fails with it (and
// sends nothing), later calls proceed, and the script's end has nothing
// left to report.
func TestFailureReportedOnceAtNextCall(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		name := newInstance(t, srv.Socket, "once", true)
		rc := restClient(t, srv.Socket)
		out := newScript(t, srv.Socket).with("name", str(name)).mustRun(`
i = lxd.Client().instances.get(name)
i.start()
r = catch(i.stop, wait=True)
print(r.error.kind, "start (started at" in r.error.message, i.status)
i.stop(wait=True)
print(i.status)
`)
		assert.Equal(t, "LXDAPIException True Running\nStopped\n", out)
		assert.Equal(t, "Stopped", instanceStatus(t, rc, name))
	})
}

// A script whose only create is unwaited ends only once the instance
// exists; an image upload is not overtaken by its delete.
func TestUnwaitedCreateCompletesBeforeExit(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		name := newInstanceName(t, srv.Socket, "unc")
		rc := restClient(t, srv.Socket)
		newScript(t, srv.Socket).with("name", str(name)).mustRun(`
lxd.Client().instances.create({"name": name, "source": {"type": "image", "alias": "busybox"}})
`)
		got := serverObject(t, rc, rest.Path("instances", name))
		assert.Equal(t, "Stopped", got["status"])
	})
}

// pylxd's integration tests, where LXD allows them: a create without a
// name (LXD picks it), decode=None giving bytes, errors naming objects.
func TestPylxdCompatibility(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		rc := restClient(t, srv.Socket)
		s := newScript(t, srv.Socket)
		out, err := s.run(`
client = lxd.Client()
op = client.containers.create({"source": {"type": "image", "alias": "busybox"}})
print(type(op))
inst = op.wait()
created = inst.name
print(type(inst), inst.status)
inst2 = client.containers.create({"source": {"type": "image", "alias": "busybox"}}, wait=True)
created2 = inst2.name
inst2.start(wait=True)
r = inst2.execute(["echo", "hi"], decode=None)
print(type(r.stdout), repr(r.stdout))
r = catch(client.instances.get, "no-such-instance-x")
print(r.error)
print(type(inst2.state()), json.decode(json.encode(inst2))["name"] == created2)
`)
		for _, g := range []string{"created", "created2"} {
			if n, ok := starlark.AsString(s.globals[g]); ok { // LXD's name, whatever became of the script
				cleanupInstance(t, srv.Socket, n)
				assert.True(t, serverExists(t, rc, rest.Path("instances", n)), "instance %s", n)
			}
		}
		require.NoError(t, err)
		assert.Equal(t, "Operation\nInstance Stopped\nbytes b\"hi\\n\"\n"+
			`NotFound: instance "no-such-instance-x": `+srv.instanceNotFound("no-such-instance-x")+"\nInstanceState True\n", out)

		r := newScript(t, srv.Socket)
		mustFail(t, r, `lxd.Client(project="no-such-project-x")`, `NotFound: project "no-such-project-x"`)
	})
}

// images.create then delete: the delete waits for the upload.
func TestImageUploadThenDelete(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		rc := restClient(t, srv.Socket)
		img := issue3Image(t, srv.Socket, uniqueName("upd"))
		newScript(t, srv.Socket).with("DATA", starlark.Bytes(img.unified)).mustRun(`
img = lxd.Client().images.create(DATA)
img.delete()
`)
		assert.False(t, serverExists(t, rc, rest.Path("images", img.fp)), "the image survived: the delete overtook its upload")
	})
}

// Ctrl-C interrupts the wait at the script's end for operations nobody
// waited for: exit status 130, at once.
func TestInterruptFinalWait(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		name := newInstanceName(t, srv.Socket, "intr")
		c := restClient(t, srv.Socket)
		ctx := context.Background()
		// LXD stops this container by sending SIGUSR2 to its init, which
		// ignores it: a stop with force=False lasts its whole timeout.
		body := map[string]any{"name": name, "source": map[string]any{"type": "image", "alias": imageAlias},
			"config": map[string]any{"raw.lxc": "lxc.signal.halt = SIGUSR2"}}
		require.NoError(t, c.SendAndWait(ctx, &rest.Request{Method: "POST", Path: rest.Path("instances"), Body: body}))
		require.NoError(t, c.SendAndWait(ctx, &rest.Request{Method: "PUT", Path: rest.Path("instances", name, "state"), Body: map[string]any{"action": "start"}}))

		cmd := exec.Command(lxdstarBinary(t), "--endpoint", srv.Socket, "-c",
			"lxd.Client().instances.get('"+name+"').stop(timeout=60, force=False)\nprint('started')\n")
		// Read while the command writes: the writes go through a lock.
		stdout, stderr := new(syncbuf.Buffer), new(syncbuf.Buffer)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		require.NoError(t, cmd.Start())
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(stdout.String(), "started") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // in the final wait
		sent := time.Now()
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		err := cmd.Wait()
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "exit: %v (stderr %q)", err, stderr.String())
		assert.Equal(t, 130, ee.ExitCode(), stderr.String())
		assert.Less(t, time.Since(sent), 30*time.Second, "the interrupt ended the wait (the stop lasts a minute)")
	})
}

// Concurrency under the race detector (make test runs go test -race): 50
// operations waited for together with lxd.wait_all, and 10 executes at
// once from separate runs of one Runtime.

func TestConcurrentOperationsAndExecs(t *testing.T) {
	parallelOnEachServer(t, testConcurrentOperationsAndExecs)
}

func testConcurrentOperationsAndExecs(t *testing.T, srv server) {
	needSocket(t, srv.Socket)
	const n = 25
	prefix := uniqueName("conc")
	names := make([]starlark.Value, n)
	for i := range names {
		names[i] = starlark.String(fmt.Sprintf("%s-%02d", prefix, i))
	}
	t.Cleanup(func() {
		c := restClient(t, srv.Socket)
		var wg sync.WaitGroup
		for _, name := range names {
			wg.Go(func() { deleteInstance(c, string(name.(starlark.String))) })
		}
		wg.Wait()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// 25 creations, then 25 starts, each lot waited for with wait_all:
	// 50 operations, each followed by its own watcher goroutine.
	s := newScript(t, srv.Socket).with("NAMES", starlark.NewList(names))
	s.ctx = ctx
	out := s.mustRun(`
c = lxd.Client()
created = [c.instances.create({"name": n, "source": {"type": "image", "alias": "busybox"}}) for n in NAMES]
if all([i.operation == None for i in created]):
    fail("wait=False creations have no pending operation")
done = lxd.wait_all(created, timeout=120)
if [i.name for i in done] != NAMES:
    fail("wait_all returned %s" % done)
starts = [i.start() for i in done]
results = lxd.wait_all(timeout=120, *starts)
if results != [None] * len(starts):
    fail("start results %s" % results)
running = [i for i in c.instances.all() if i.name in NAMES and i.status == "Running"]
print(len(starts) + len(created), len(running))
`)
	require.Equal(t, fmt.Sprintf("%d %d\n", 2*n, n), out)

	// 10 executes at once, each in its own run of one shared Runtime, each
	// producing output on both streams and reading stdin.
	rt := lxdstar.New(lxdstar.WithLXD(lxdmod.Config{Endpoint: srv.Socket}), lxdstar.WithPrint(func(string) {}))
	var wg sync.WaitGroup
	errs := make([]error, 10)
	outs := make([]starlark.StringDict, 10)
	for i := range 10 {
		wg.Go(func() {
			src := fmt.Sprintf(`
inst = lxd.Client().instances.get(%q)
r = inst.execute(["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' o; echo err-%d >&2; cat; exit %d"], stdin_payload="in-%d")
code, stdout, stderr = r.exit_code, r.stdout, r.stderr
`, string(names[i].(starlark.String)), i, i, i)
			outs[i], errs[i] = rt.Run(ctx, fmt.Sprintf("exec%d.star", i), []byte(src))
		})
	}
	wg.Wait()
	for i := range 10 {
		if !assert.NoError(t, errs[i], "run %d", i) {
			continue
		}
		g := outs[i]
		assert.Equal(t, starlark.MakeInt(i), g["code"], "run %d: exit code", i)
		stdout := string(g["stdout"].(starlark.String))
		assert.Equal(t, strings.Repeat("o", 200000)+fmt.Sprintf("in-%d", i), stdout, "run %d: stdout", i)
		assert.Equal(t, starlark.String(fmt.Sprintf("err-%d\n", i)), g["stderr"], "run %d: stderr", i)
	}
}

// An exec of `sleep` started through the raw API is a real, uncancellable
// background operation to follow with client.operations.
func TestOperationsGetAllWaitRefresh(t *testing.T) {
	parallelOnEachServer(t, testOperationsGetAllWaitRefresh)
}

func testOperationsGetAllWaitRefresh(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "ops", true)

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
func TestOperationCancel(t *testing.T) { parallelOnEachServer(t, testOperationCancel) }

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
	parallelOnEachServer(t, testOperationProgressAttribute)
}

func testOperationProgressAttribute(t *testing.T, srv server) {
	name := newInstanceName(t, srv.Socket, "prog")
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
	parallelOnEachServer(t, testOperationsListingOpensNoWatchers)
}

func testOperationsListingOpensNoWatchers(t *testing.T, srv server) {
	proxy := newCountingProxy(t, srv.Socket)
	out := newScript(t, proxy.Socket).with("mark", proxy.mark()).with("token_name", starlark.String(uniqueName("tokw"))).mustRun(`
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
	m := proxy.marks()
	require.Len(t, m, 2)
	assert.Equal(t, 2, m[1]-m[0], "all() and get() should be one request each:\n%s", proxy.requestsSince(m[0]))
}

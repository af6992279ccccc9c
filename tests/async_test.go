package tests

// wait=False never loses work: objects order and follow their operations,
// no failure goes unreported, sync() merges (docs/guide.md, "wait").

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// The getting-started page of pylxd's manual (seed 002), as written, with
// LXD's volatile.* keys in the config: a whole-dict assignment keeps them.
func TestSeedGettingStartedConfigSave(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		name := uniqueName("gs")
		createInstance(t, srv.Socket, name, false)
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
		name := uniqueName("vol")
		createInstance(t, srv.Socket, name, false)
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
			inst := uniqueName("rds")
			createInstance(t, srv.Socket, inst, false)
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
		name := uniqueName("sv2")
		createInstance(t, srv.Socket, name, false)
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
		name := uniqueName("mrg")
		createInstance(t, srv.Socket, name, false)
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
		name := uniqueName("unw")
		createInstance(t, srv.Socket, name, true)
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
		name := uniqueName("once")
		createInstance(t, srv.Socket, name, true)
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
		name := uniqueName("unc")
		cleanupInstance(t, srv.Socket, name)
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
		name := uniqueName("intr")
		cleanupInstance(t, srv.Socket, name)
		c := restClient(t, srv.Socket)
		ctx := context.Background()
		// LXD stops this container by sending SIGUSR2 to its init, which
		// ignores it: a stop with force=False lasts its whole timeout.
		body := map[string]any{"name": name, "source": map[string]any{"type": "image", "alias": imageAlias},
			"config": map[string]any{"raw.lxc": "lxc.signal.halt = SIGUSR2"}}
		r, err := c.Do(ctx, &rest.Request{Method: "POST", Path: rest.Path("instances"), Body: body})
		require.NoError(t, err)
		op, err := rest.AsyncOperation(r)
		require.NoError(t, err)
		_, err = c.WaitOperation(ctx, op, 0)
		require.NoError(t, err)
		r, err = c.Do(ctx, &rest.Request{Method: "PUT", Path: rest.Path("instances", name, "state"), Body: map[string]any{"action": "start"}})
		require.NoError(t, err)
		op, err = rest.AsyncOperation(r)
		require.NoError(t, err)
		_, err = c.WaitOperation(ctx, op, 0)
		require.NoError(t, err)

		cmd := exec.Command(lxdstarBinary(t), "--endpoint", srv.Socket, "-c",
			"lxd.Client().instances.get('"+name+"').stop(timeout=60, force=False)\nprint('started')\n")
		// Read while the command writes: the writes go through a lock.
		stdout, stderr := &syncWriter{w: new(strings.Builder)}, &syncWriter{w: new(strings.Builder)}
		cmd.Stdout, cmd.Stderr = stdout, stderr
		require.NoError(t, cmd.Start())
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(stdout.String(), "started") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond) // in the final wait
		sent := time.Now()
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		err = cmd.Wait()
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), "exit: %v (stderr %q)", err, stderr.String())
		assert.Equal(t, 130, ee.ExitCode(), stderr.String())
		assert.Less(t, time.Since(sent), 30*time.Second, "the interrupt ended the wait (the stop lasts a minute)")
	})
}

package tests

// execute(..., wait=False) and Instance.wait_for on the real daemons: many
// commands at once, their output whole and in order however late the script
// waits, handlers on the script's thread, kills (Ctrl-C, handler failure),
// unwaited failures reported at the end; each readiness condition, read
// back from the server. Each runs against every test server.

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

func TestExecNoWait(t *testing.T) {
	t.Parallel()
	eachServer(t, testExecNoWait)
}

// seqOutput is what `seq from to` prints.
func seqOutput(from, to int) string {
	var b strings.Builder
	for n := from; n <= to; n++ {
		fmt.Fprintf(&b, "%d\n", n)
	}
	return b.String()
}

// timeMarks is a builtin mark() recording when the script called it.
type timeMarks struct {
	mu    sync.Mutex
	marks []time.Time
}

func (m *timeMarks) builtin() *starlark.Builtin {
	return starlark.NewBuiltin("mark", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		m.mu.Lock()
		m.marks = append(m.marks, time.Now())
		m.mu.Unlock()
		return starlark.None, nil
	})
}

func (m *timeMarks) between(i, j int) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.marks[j].Sub(m.marks[i])
}

func testExecNoWait(t *testing.T, srv server) {
	socket := srv.Socket
	names := []string{uniqueName("exnw"), uniqueName("exnw"), uniqueName("exnw")}
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() { defer wg.Done(); createInstance(t, socket, n, true) }()
	}
	wg.Wait()
	list := starlark.NewList(nil)
	for _, n := range names {
		_ = list.Append(starlark.String(n))
	}
	script := func(t *testing.T, limit time.Duration) *script {
		s := newScript(t, socket).with("names", list)
		ctx, cancel := context.WithTimeout(context.Background(), limit)
		t.Cleanup(cancel)
		s.ctx = ctx
		return s
	}
	const prelude = "c = lxd.Client()\ninsts = [c.instances.get(n) for n in names]\ni = insts[0]\n"

	t.Run("ThreeSleepsAtOnce", func(t *testing.T) {
		t.Parallel()
		var m timeMarks
		s := script(t, 60*time.Second).with("mark", m.builtin())
		s.mustRun(prelude + `
mark()
ops = [inst.execute(["sh", "-c", "sleep 1; echo " + inst.name], wait=False) for inst in insts]
res = lxd.wait_all(*ops)
mark()
outs = [r.stdout for r in res]
spans = [(op.created_at, op.updated_at) for op in ops]
`)
		assert.Equal(t, fmt.Sprintf("[%q, %q, %q]", names[0]+"\n", names[1]+"\n", names[2]+"\n"), s.global("outs").String())
		// The server's own record: every command had started before any
		// of them ended.
		var lastStart, firstEnd time.Time
		spans := s.global("spans").(*starlark.List)
		for k := range spans.Len() {
			span := spans.Index(k).(starlark.Tuple)
			start, err := time.Parse(time.RFC3339Nano, string(span[0].(starlark.String)))
			require.NoError(t, err)
			end, err := time.Parse(time.RFC3339Nano, string(span[1].(starlark.String)))
			require.NoError(t, err)
			if start.After(lastStart) {
				lastStart = start
			}
			if firstEnd.IsZero() || end.Before(firstEnd) {
				firstEnd = end
			}
		}
		assert.True(t, lastStart.Before(firstEnd), "the last command started at %v, the first ended at %v", lastStart, firstEnd)
		took := m.between(0, 1)
		t.Logf("three 1 s sleeps in three containers: %v", took)
		assert.Less(t, took, 2500*time.Millisecond, "they ran at once")
	})

	t.Run("LargeOutputsWholeAndInOrder", func(t *testing.T) {
		t.Parallel()
		// About 1 MiB on stdout from each of three commands, plus stderr
		// from each, with and without handlers, in one instance and in
		// several at once.
		s := script(t, 120*time.Second)
		s.mustRun(prelude + `
ops = []
for k, inst in enumerate(insts):
    ops.append(inst.execute(["sh", "-c", "seq %d 160000; seq 1 %d >&2" % (k + 1, 5000 * (k + 1))], wait=False))
got = {}
def collect(key):
    got[key] = []
    return got[key].append
for k in range(3):
    ops.append(i.execute(["sh", "-c", "seq %d 160000; seq 1 %d >&2" % (k + 1, 5000 * (k + 1))],
                         stdout_handler=collect("out%d" % k), stderr_handler=collect("err%d" % k), wait=False))
res = lxd.wait_all(ops)
plain = [(r.exit_code, r.stdout, r.stderr) for r in res[:3]]
handled = [("".join(got["out%d" % k]), "".join(got["err%d" % k]), res[3 + k].stdout, res[3 + k].stderr) for k in range(3)]
`)
		plain := s.global("plain").(*starlark.List)
		handled := s.global("handled").(*starlark.List)
		for k := range 3 {
			wantOut, wantErr := seqOutput(k+1, 160000), seqOutput(1, 5000*(k+1))
			got := plain.Index(k).(starlark.Tuple)
			assert.Equal(t, "0", got[0].String())
			assert.True(t, string(got[1].(starlark.String)) == wantOut, "command %d: stdout of %d bytes, want %d", k, len(got[1].(starlark.String)), len(wantOut))
			assert.True(t, string(got[2].(starlark.String)) == wantErr, "command %d: stderr differs", k)
			h := handled.Index(k).(starlark.Tuple)
			assert.True(t, string(h[0].(starlark.String)) == wantOut, "handled command %d: stdout of %d bytes, want %d", k, len(h[0].(starlark.String)), len(wantOut))
			assert.True(t, string(h[1].(starlark.String)) == wantErr, "handled command %d: stderr differs", k)
			assert.Equal(t, `""`, h[2].String(), "a handler takes the output")
			assert.Equal(t, `""`, h[3].String())
		}
	})

	t.Run("LateWaitKeepsEverything", func(t *testing.T) {
		t.Parallel()
		done := "/tmp/" + uniqueName("done")
		s := script(t, 60*time.Second).with("done", starlark.String(done))
		s.mustRun(prelude + `
seen = []
op = i.execute(["sh", "-c", "seq 1 160000; echo tail >&2; touch " + done], stdout_handler=seen.append, wait=False)
# Another command waits until the first has ended: all of its output has
# come in while the script was not waiting for it.
i.execute(["sh", "-c", "while [ ! -e %s ]; do sleep 0.1; done; rm %s" % (done, done)])
before = len(seen)
r = op.wait()
out, rerr = "".join(seen), r.stderr
`)
		assert.Equal(t, "0", s.global("before").String(), "no handler is called while the script does not wait")
		assert.True(t, globalString(t, s, "out") == seqOutput(1, 160000), "stdout of %d bytes", len(globalString(t, s, "out")))
		assert.Equal(t, "tail\n", globalString(t, s, "rerr"))
	})

	t.Run("CancelKillsEveryCommand", func(t *testing.T) {
		t.Parallel()
		markers := []string{}
		for range 3 {
			markers = append(markers, fmt.Sprintf("sleep %d", 4000+mrand.IntN(1000)))
		}
		s := newScript(t, socket).with("names", list).with("m0", starlark.String(markers[0])).
			with("m1", starlark.String(markers[1])).with("m2", starlark.String(markers[2]))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.ctx = ctx
		time.AfterFunc(2*time.Second, cancel)
		start := time.Now()
		_, err := s.run(prelude + `
a = insts[0].execute(m0.split(" "), wait=False)
b = insts[1].execute(m1.split(" "), wait=False)
insts[1].execute(m2.split(" "), wait=False)
a.wait()
`)
		require.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), 30*time.Second) // the commands sleep far longer
		require.Eventually(t, func() bool {
			return !psHas(t, socket, names[0], markers[0]) && !psHas(t, socket, names[1], markers[1]) && !psHas(t, socket, names[1], markers[2])
		}, 10*time.Second, 250*time.Millisecond, "every command is killed, waited for or not")
	})

	t.Run("HandlerFailureKillsItsCommand", func(t *testing.T) {
		t.Parallel()
		marker := fmt.Sprintf("sleep %d", 5000+mrand.IntN(1000))
		s := script(t, 60*time.Second).with("marker", starlark.String(marker))
		_, err := s.run(prelude + `
def h(chunk):
    fail("handler saw " + chunk.strip())
op = i.execute(["sh", "-c", "echo first; exec " + marker], stdout_handler=h, wait=False)
other = i.execute(["sh", "-c", "sleep 1; echo other"], wait=False)
lxd.wait_all(op, other)
`)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "handler saw first")
		require.Eventually(t, func() bool { return !psHas(t, socket, names[0], marker) }, 10*time.Second, 250*time.Millisecond)
	})

	t.Run("FailureNobodyWaitedForIsReported", func(t *testing.T) {
		t.Parallel()
		s := script(t, 60*time.Second)
		_, err := s.run(prelude + `
i.execute(["false"], wait=False)
i.execute(["sleep", "30"], timeout=1, wait=False)
insts[1].execute(["true"], wait=False)
`)
		require.Error(t, err)
		var e *rest.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, rest.KindTimeout, e.Kind, "%v", err)
		msg := err.Error()
		assert.Contains(t, msg, fmt.Sprintf(`execute(["sleep", "30"]) of instance %q (started at`, names[0]))
		assert.Contains(t, msg, "never waited for")
		assert.NotContains(t, msg, "false", "a non-zero exit is no failure")
	})

	t.Run("AfterTheInstancesOwnChange", func(t *testing.T) {
		t.Parallel()
		name := uniqueName("exnw")
		createInstance(t, socket, name, false)
		s := script(t, 60*time.Second).with("name", starlark.String(name))
		s.mustRun(`
inst = lxd.Client().instances.get(name)
inst.start(wait=False)
a = inst.execute(["sh", "-c", "sleep 0.5; echo a"], wait=False)
b = inst.execute(["echo", "b"], wait=False)
pending = inst.operation
status = inst.status
outs = [r.stdout for r in lxd.wait_all(a, b)]
`)
		assert.Equal(t, "None", s.global("pending").String(), "execs do not become the instance's operation")
		assert.Equal(t, "Running", globalString(t, s, "status"), "the start was waited for first")
		assert.Equal(t, `["a\n", "b\n"]`, s.global("outs").String())
	})
}

func TestWaitFor(t *testing.T) {
	t.Parallel()
	eachServer(t, testWaitFor)
}

// testWaitFor gives a container a NIC on a bridge that carries no traffic
// (no DHCP, no NAT, an address range routed nowhere); the address the
// conditions wait for is set inside the container by hand.
func testWaitFor(t *testing.T, srv server) {
	socket := srv.Socket
	c := restClient(t, socket)
	// The bridge and the instances' NICs are host interfaces: see hostLinks.
	// Its subtests run in turn: a parallel one would wait for a slot held
	// by a test waiting for hostLinks.
	holdHostLinks(t)
	bridge := uniqueName("wf")
	octet := testBridge(t, c, bridge, true, nil) // removed after the instances
	addr := fmt.Sprintf("198.19.%d.20", octet)
	withNIC := func(name string) {
		createDefinedInstance(t, socket, map[string]any{"name": name,
			"devices": map[string]any{"eth0": map[string]any{"type": "nic", "network": bridge, "name": "eth0"}}})
	}
	script := func(t *testing.T, name string) *script {
		s := newScript(t, socket).with("name", starlark.String(name)).with("addr", starlark.String(addr))
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		t.Cleanup(cancel)
		s.ctx = ctx
		return s
	}
	setState := func(name, action string) {
		ctx := context.Background()
		r, err := c.Do(ctx, &rest.Request{Method: "PUT", Path: rest.Path("instances", name, "state"),
			Body: map[string]any{"action": action, "force": true, "timeout": 30}})
		if err == nil {
			var op *rest.Operation
			if op, err = rest.AsyncOperation(r); err == nil {
				_, err = c.WaitOperation(ctx, op, time.Minute)
			}
		}
		assert.NoError(t, err, "%s %s", action, name)
	}

	t.Run("StatusChangedByAnotherClient", func(t *testing.T) {
		name := uniqueName("wfst")
		withNIC(name)
		// Another client starts, freezes and stops the instance while the
		// script waits for each status. The status changes before LXD's
		// operation has ended: the instance is deleted only after that.
		var pending sync.WaitGroup
		t.Cleanup(pending.Wait)
		s := script(t, name).with("later", starlark.NewBuiltin("later", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var action string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "action", &action); err != nil {
				return nil, err
			}
			pending.Add(1)
			time.AfterFunc(time.Second, func() { defer pending.Done(); setState(name, action) })
			return starlark.None, nil
		}))
		s.mustRun(`
inst = lxd.Client().instances.get(name)
later("start")
running = inst.wait_for(status="Running", timeout=60)
later("freeze")
frozen = inst.wait_for(status="Frozen", timeout=60)
later("unfreeze")
agent = inst.wait_for(agent=True, timeout=60)
later("stop")
stopped = inst.wait_for(status="Stopped", timeout=60)
statuses = [running.status, frozen.status, agent.status, stopped.status]
pid = running.pid
`)
		assert.Equal(t, `["Running", "Frozen", "Running", "Stopped"]`, s.global("statuses").String())
		assert.NotEqual(t, "0", s.global("pid").String(), "the state of a running instance")
	})

	t.Run("AddressPathCommand", func(t *testing.T) {
		name := uniqueName("wfip")
		withNIC(name)
		setState(name, "start")
		s := script(t, name)
		s.mustRun(`
inst = lxd.Client().instances.get(name)
# The address, the file and the command's condition appear a second
# after the wait began.
inst.execute(["sh", "-c", "sleep 1; ip link set eth0 up; ip addr add %s/24 dev eth0; touch /tmp/ready" % addr], wait=False)
st = inst.wait_for(ipv4=True, interface="eth0", timeout=60)
addrs = [a["address"] for a in st.network["eth0"]["addresses"]]
anyv4 = [a["address"] for a in inst.wait_for(ipv4=True).network["eth0"]["addresses"]]
inst.wait_for(path="/tmp/ready", timeout=60)
inst.execute(["sh", "-c", "sleep 1; touch /tmp/ready2"], wait=False)
both = inst.wait_for(status="Running", ipv4=True, command=["test", "-e", "/tmp/ready2"], timeout=60)
after = inst.execute(["test", "-e", "/tmp/ready2"]).exit_code

# What a timeout says.
v6 = catch(inst.wait_for, ipv6=True, interface="eth0", timeout=3).error
nopath = catch(inst.wait_for, path="/nonexistent", timeout=3).error
failing = catch(inst.wait_for, command=["sh", "-c", "echo not yet >&2; exit 3"], timeout=3).error
bothstatus = both.status
kinds = [e.kind for e in (v6, nopath, failing)]
v6msg, nopathmsg, failingmsg = v6.message, nopath.message, failing.message
`)
		addrs := s.global("addrs").String()
		assert.Contains(t, addrs, `"`+addr+`"`, "the state wait_for returned has the address")
		assert.Contains(t, s.global("anyv4").String(), `"`+addr+`"`)
		assert.Equal(t, "0", s.global("after").String(), "the command's condition held when wait_for returned")
		assert.Equal(t, "Running", globalString(t, s, "bothstatus"))
		assert.Equal(t, `["Timeout", "Timeout", "Timeout"]`, s.global("kinds").String())
		// e.g. "t-wfip-…: no global IPv6 address on eth0 after 3 s (status
		// Running; eth0: 198.19.7.20/24, fe80::…/64)"
		v6 := globalString(t, s, "v6msg")
		assert.Contains(t, v6, name+": no global IPv6 address on eth0 after 3 s (status Running; eth0: ")
		assert.Contains(t, v6, addr+"/24")
		assert.Contains(t, v6, "fe80::", "the link-local address is shown, and does not count")
		assert.Contains(t, globalString(t, s, "nopathmsg"), name+": no /nonexistent after 3 s (status Running)")
		assert.Contains(t, globalString(t, s, "failingmsg"), name+`: command ["sh", "-c", "echo not yet >&2; exit 3"] exited 3 (not yet) after 3 s (status Running)`)
	})
}

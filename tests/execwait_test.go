package tests

// execute(..., wait=False) and Instance.wait_for on the real daemons: many
// commands at once, their output whole and in order however late the script
// waits, handlers on the script's thread, kills (Ctrl-C, handler failure),
// unwaited failures reported at the end; each readiness condition, read
// back from the server. Each test body takes the daemon's socket.

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

func TestExecNoWait(t *testing.T) { onNetServers(t, testExecNoWait) }

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

func testExecNoWait(t *testing.T, socket string) {
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
res = lxd.wait_all(*[inst.execute(["sh", "-c", "sleep 1; echo " + inst.name], wait=False) for inst in insts])
mark()
outs = [r.stdout for r in res]
`)
		assert.Equal(t, fmt.Sprintf("[%q, %q, %q]", names[0]+"\n", names[1]+"\n", names[2]+"\n"), s.global("outs").String())
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
		assert.Less(t, time.Since(start), 6*time.Second)
		require.Eventually(t, func() bool {
			return !psHasOn(t, socket, names[0], markers[0]) && !psHasOn(t, socket, names[1], markers[1]) && !psHasOn(t, socket, names[1], markers[2])
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
		require.Eventually(t, func() bool { return !psHasOn(t, socket, names[0], marker) }, 10*time.Second, 250*time.Millisecond)
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

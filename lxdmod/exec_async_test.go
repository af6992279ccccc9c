package lxdmod_test

// execute(..., wait=False): the Operation and its result, many commands at
// once, the handler pump on the script's thread (every byte, in order, also
// when the script waits late), kills (handler failure, timeout, cancel),
// and failures nobody waited for.

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
)

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

func TestExecuteNoWaitHandlerFailureKillsItsCommand(t *testing.T) {
	s := running(t)
	killed := make(chan string, 2)
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		fmt.Fprintf(x.Stdout, "%s first\n", x.Command[0])
		select {
		case <-x.Killed:
			killed <- x.Command[0]
			return 137
		case <-time.After(10 * time.Second):
			return 0
		}
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
	var mu sync.Mutex
	var killed []string
	running := make(chan struct{}, 3)
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		running <- struct{}{}
		select {
		case <-x.Killed:
			mu.Lock()
			killed = append(killed, x.Command[0])
			mu.Unlock()
			return 137
		case <-time.After(10 * time.Second):
			return 0
		}
	})
	s.run(`
		a = i.execute(["a"], wait=False)
		b = i.execute(["b"], wait=False)
		c2 = i.execute(["c"], wait=False)
	`)
	for range 3 {
		<-running
	}
	go cancel()
	err := s.fail(`a.wait()`)
	requireKind(t, err, "Cancelled", "")
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(killed) == 3
	}, 5*time.Second, 10*time.Millisecond, "waited for or not, every command is killed")
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
	killed := make(chan string, 2)
	started := make(chan struct{}, 2)
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		started <- struct{}{}
		select {
		case <-x.Killed:
			killed <- x.Command[0]
			return 137
		case <-time.After(300 * time.Millisecond):
			return 0
		}
	})
	s.run(`
		waited = i.execute(["waited"], wait=False)
		other = i.execute(["other"], wait=False)
	`)
	<-started
	<-started
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

package lxdmod_test

// Instance.execute: results, stdin, the stdout/stderr handler pump (every
// byte, in order, on the script's thread), handler failures and timeouts
// killing the command, argument checks.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

func TestExecuteReturnsExitCodeAndOutput(t *testing.T) {
	s := running(t)
	s.run(`
		r = i.execute(["echo", "hello", "world"])
		assert_eq((r.exit_code, r.stdout, r.stderr), (0, "hello world\n", ""))
		code, out, err = r
		assert_eq((code, out, err), (0, "hello world\n", ""))
		assert_eq((r[0], len(r)), (0, 3))
		assert_eq(repr(r), 'ExecResult(exit_code=0, stdout="hello world\\n", stderr="")')
		assert_eq(type(r), "ExecResult")
	`)
}

func TestExecuteNonZeroExitIsAResult(t *testing.T) {
	s := running(t)
	s.run(`
		assert_eq(i.execute(["false"]).exit_code, 1)
		missing = i.execute(["no-such-command"])
		assert_eq(missing.exit_code, 127, "LXD 5.0.2 fails the operation, yet it is a result")
	`)
}

func TestExecuteFeedsStdin(t *testing.T) {
	s := running(t)
	big := strings.Repeat("0123456789abcdef", 20000)
	s.globals["big"] = starlarkString(big)
	s.run(`
		assert_eq(i.execute(["cat"], stdin_payload="some input").stdout, "some input")
		assert_eq(i.execute(["cat"], stdin_payload=b"\x00\x01", decode=False).stdout, b"\x00\x01")
		assert_eq(i.execute(["cat"], stdin_payload="é", stdin_encoding="latin-1", decode=False).stdout, b"\xe9")
		assert_eq(i.execute(["cat"]).stdout, "", "no payload: stdin is closed at once")
		assert_eq(i.execute(["cat"], stdin_payload=big).stdout == big, True)
	`)
}

func TestExecuteDecoding(t *testing.T) {
	s := running(t)
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		_, _ = x.Stdout.Write([]byte{0xc3}) // "é" split across two messages
		_, _ = x.Stdout.Write([]byte{0xa9, 'x', 0xff})
		return 0
	})
	s.run(`
		assert_eq(i.execute(["x"]).stdout, "éx\ufffd", "a split character is joined; invalid bytes become U+FFFD")
		assert_eq(i.execute(["x"], decode=False).stdout, b"\xc3\xa9x\xff")
		assert_eq(i.execute(["x"], encoding="latin-1").stdout, "Ã©xÿ")
		seen = []
		i.execute(["x"], stdout_handler=seen.append)
		assert_eq("".join(seen), "éx\ufffd", "handlers get whole characters")
	`)
}

func TestExecuteHandlersGetEveryByteInOrder(t *testing.T) {
	s := running(t)
	const lines = 3000
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		for n := range lines {
			fmt.Fprintf(x.Stdout, "line %d\n", n)
			if n%10 == 0 {
				fmt.Fprintf(x.Stderr, "err %d\n", n)
			}
		}
		return 3
	})
	var want, wantErr strings.Builder
	for n := range lines {
		fmt.Fprintf(&want, "line %d\n", n)
		if n%10 == 0 {
			fmt.Fprintf(&wantErr, "err %d\n", n)
		}
	}
	g := s.run(`
		out, errs = [], []
		r = i.execute(["x"], stdout_handler=out.append, stderr_handler=errs.append)
		assert_eq(r.exit_code, 3)
		assert_eq((r.stdout, r.stderr), ("", ""), "handled output is not also collected")
		got, got_err = "".join(out), "".join(errs)
		chunks = len(out)
	`)
	assert.Equal(t, want.String(), s.str(`got`), "stdout: every byte, in order")
	assert.Equal(t, wantErr.String(), s.str(`got_err`), "stderr: every byte, in order")
	chunks, _ := starlarkInt(g["chunks"])
	assert.Greater(t, chunks, 1, "output is delivered as it arrives, not at the end")
}

func TestExecuteOneHandlerAndOneCollectedStream(t *testing.T) {
	s := running(t)
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		fmt.Fprint(x.Stdout, "out")
		fmt.Fprint(x.Stderr, "err")
		return 0
	})
	s.run(`
		errs = []
		r = i.execute(["x"], stderr_handler=errs.append)
		assert_eq((r.stdout, r.stderr, errs), ("out", "", ["err"]))
	`)
}

func TestExecuteHandlerFailureKillsTheCommand(t *testing.T) {
	s := running(t)
	killed := make(chan bool, 1)
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		for n := 0; ; n++ {
			select {
			case <-x.Killed:
				killed <- true
				return 137
			case <-time.After(5 * time.Second):
				killed <- false
				return 0
			default:
			}
			if _, err := fmt.Fprintf(x.Stdout, "chunk %d\n", n); err != nil {
				<-x.Killed
				killed <- true
				return 137
			}
			time.Sleep(time.Millisecond)
		}
	})
	err := s.fail(`
		def handler(chunk):
		    fail("handler gave up on " + chunk.strip())
		i.execute(["x"], stdout_handler=handler)
	`)
	assert.Contains(t, err.Error(), "handler gave up on chunk 0")
	assert.True(t, <-killed, "the command was killed")
}

func TestExecuteTimeoutKillsTheCommand(t *testing.T) {
	s := running(t)
	start := time.Now()
	err := s.fail(`i.execute(["sleep", "60"], timeout=0.3)`)
	requireKind(t, err, "Timeout", "")
	assert.Less(t, time.Since(start), 20*time.Second)
	assert.Contains(t, s.fail(`i.execute(["true"], timeout=0)`).Error(), `for parameter "timeout"`)
}

func TestExecuteSendsItsOptions(t *testing.T) {
	s := running(t)
	s.run(`
		r = i.execute(["env"], environment={"FOO": "bar"}, user=1000, group=1001, cwd="/tmp")
		assert_eq("FOO=bar" in r.stdout.splitlines(), True)
		assert_eq(i.execute(["pwd"], cwd="/srv").stdout, "/srv\n")
	`)
	body := s.lastBody("POST", "/1.0/instances/c1/exec")
	assert.Equal(t, []any{"pwd"}, body["command"])
	assert.Equal(t, true, body["wait-for-websocket"])
	assert.Equal(t, false, body["interactive"])
	var first map[string]any
	for _, r := range s.f.Requests() {
		if r.Method == "POST" && r.URL.Path == "/1.0/instances/c1/exec" {
			first = r.JSON().(map[string]any)
			break
		}
	}
	assert.Equal(t, map[string]any{"FOO": "bar"}, first["environment"])
	assert.Equal(t, float64(1000), first["user"])
	assert.Equal(t, float64(1001), first["group"])
	assert.Equal(t, "/tmp", first["cwd"])
}

func TestExecuteRefusesBadArgumentsBeforeAnyRequest(t *testing.T) {
	s := running(t)
	n := s.mark()
	for _, tc := range []struct{ src, want string }{
		{`i.execute("ls -l")`, `["sh", "-c", "ls -l"]`},
		{`i.execute([])`, "the command is empty"},
		{`i.execute(["ls", 1])`, "element 1 is int"},
		{`i.execute(["ls"], environment=["A=1"])`, `for parameter "environment"`},
		{`i.execute(["ls"], environment={"A": 1})`, `for parameter "environment"`},
		{`i.execute(["ls"], user=-1)`, `for parameter "user"`},
		{`i.execute(["ls"], stdout_handler="print")`, `for parameter "stdout_handler"`},
		{`i.execute(["ls"], encoding="klingon")`, `for parameter "encoding"`},
		{`i.execute(["ls"], stdin_payload=1)`, `for parameter "stdin_payload"`},
	} {
		err := s.fail(tc.src)
		assert.Contains(t, err.Error(), "Instance.execute", tc.src)
		assert.Contains(t, err.Error(), tc.want, tc.src)
	}
	assert.Empty(t, s.requests(n))
}

func TestExecuteOnAStoppedInstance(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	requireKind(t, s.fail(`c.instances.get("c1").execute(["true"])`), "LXDAPIException", "Instance is not running")
}

func TestRawInteractiveExecute(t *testing.T) {
	s := running(t)
	s.run(`
		r = i.raw_interactive_execute(["sh"], environment={"TERM": "xterm"})
		assert_eq(r["name"], "c1")
		assert_eq(r["ws"].startswith("/1.0/operations/"), True)
		assert_eq("secret=" in r["control"], True)
	`)
	body := s.lastBody("POST", "/1.0/instances/c1/exec")
	assert.Equal(t, true, body["interactive"])
	assert.Equal(t, true, body["wait-for-websocket"])
}

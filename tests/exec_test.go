package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// execScript prepares a script with `inst` bound to the named instance and
// a deadline, so a hanging execute fails the test instead of blocking it.
func execScript(t *testing.T, socket, name string, limit time.Duration) *script {
	t.Helper()
	s := newScript(t, socket).with("name", starlark.String(name))
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	t.Cleanup(cancel)
	s.ctx = ctx
	return s
}

const execPrelude = "inst = lxd.Client().instances.get(name)\n"

// globalString returns a str or bytes global as a Go string.
func globalString(t *testing.T, s *script, name string) string {
	t.Helper()
	switch v := s.global(name).(type) {
	case starlark.String:
		return string(v)
	case starlark.Bytes:
		return string(v)
	default:
		t.Fatalf("global %s is a %s", name, v.Type())
		return ""
	}
}

func globalInt(t *testing.T, s *script, name string) int {
	t.Helper()
	var n int
	require.NoError(t, starlark.AsInt(s.global(name), &n), "global %s", name)
	return n
}

// psHas reports whether a process whose command line contains pattern runs
// in the instance (checked through the REST client, not the code under test).
func psHas(t *testing.T, socket, name, pattern string) bool {
	t.Helper()
	var out bytes.Buffer
	_, err := restClient(t, socket).Exec(context.Background(), name, rest.ExecRequest{Command: []string{"ps", "-o", "args"}}, rest.ExecIO{Stdout: &out})
	require.NoError(t, err)
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, pattern) && !strings.Contains(line, "ps -o") {
			return true
		}
	}
	return false
}

func TestExec(t *testing.T) { parallelOnEachServer(t, testExec) }

func testExec(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "exec", true)

	t.Run("Echo", func(t *testing.T) {
		t.Parallel()
		s := execScript(t, srv.Socket, name, 30*time.Second)
		out := s.mustRun(execPrelude + `
r = inst.execute(["echo", "hello world"])
code, out, err = r
print(r.exit_code, repr(r.stdout), repr(r.stderr), code == r.exit_code, out == r.stdout, err == r.stderr, len(r))
print(r)
`)
		assert.Equal(t, "0 \"hello world\\n\" \"\" True True True 3\n"+
			`ExecResult(exit_code=0, stdout="hello world\n", stderr="")`+"\n", out)
	})

	t.Run("Large50MB", func(t *testing.T) {
		t.Parallel()
		const size = 50 << 20
		s := execScript(t, srv.Socket, name, 120*time.Second)
		s.mustRun(execPrelude + fmt.Sprintf(`
r = inst.execute(["sh", "-c", "head -c %d /dev/urandom > /tmp/big && sha256sum /tmp/big >&2 && cat /tmp/big; rc=$?; rm -f /tmp/big; exit $rc"], decode=False)
code, out, err = r
`, size))
		require.Equal(t, 0, globalInt(t, s, "code"), "stderr: %s", globalString(t, s, "err"))
		out := globalString(t, s, "out")
		require.Equal(t, size, len(out), "bytes received")
		sum := sha256.Sum256([]byte(out))
		assert.Equal(t, hex.EncodeToString(sum[:])+"  /tmp/big\n", globalString(t, s, "err"))
	})

	t.Run("SlowOutputStreamsToHandler", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		var stamps []time.Duration
		start := time.Now()
		stamp := starlark.NewBuiltin("stamp", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			mu.Lock()
			stamps = append(stamps, time.Since(start))
			mu.Unlock()
			return starlark.None, nil
		})
		s := execScript(t, srv.Socket, name, 30*time.Second).with("stamp", stamp)
		s.mustRun(execPrelude + `
chunks = []
def handler(c):
    stamp()
    chunks.append(c)
r = inst.execute(["sh", "-c", "for i in 1 2 3; do echo tick $i; sleep 1; done; echo done"], stdout_handler=handler)
joined = "".join(chunks)
rstdout = r.stdout
plain = inst.execute(["sh", "-c", "echo a; sleep 1.5; echo b; sleep 1.5; echo c"]).stdout
`)
		assert.Equal(t, "tick 1\ntick 2\ntick 3\ndone\n", globalString(t, s, "joined"))
		assert.Equal(t, "", globalString(t, s, "rstdout"), "a handler takes the output")
		assert.Equal(t, "a\nb\nc\n", globalString(t, s, "plain"), "output with gaps of 1.5 s is complete")
		mu.Lock()
		defer mu.Unlock()
		require.GreaterOrEqual(t, len(stamps), 3, "chunks are delivered as they arrive")
		assert.GreaterOrEqual(t, stamps[len(stamps)-1]-stamps[0], 2*time.Second, "the first chunk came before the command ended")
	})

	t.Run("InterleavedStdoutStderr", func(t *testing.T) {
		t.Parallel()
		s := execScript(t, srv.Socket, name, 60*time.Second)
		s.mustRun(execPrelude + `
code, out, err = inst.execute(["sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done"])
`)
		var wantOut, wantErr strings.Builder
		for i := range 3000 {
			fmt.Fprintf(&wantOut, "out%d\n", i)
			fmt.Fprintf(&wantErr, "err%d\n", i)
		}
		assert.Equal(t, 0, globalInt(t, s, "code"))
		assert.Equal(t, wantOut.String(), globalString(t, s, "out"))
		assert.Equal(t, wantErr.String(), globalString(t, s, "err"))
	})

	t.Run("BinaryAndEncodings", func(t *testing.T) {
		t.Parallel()
		var format strings.Builder
		want := make([]byte, 256)
		for i := range 256 {
			fmt.Fprintf(&format, `\%03o`, i)
			want[i] = byte(i)
		}
		s := execScript(t, srv.Socket, name, 30*time.Second).with("format", starlark.String(format.String()))
		s.mustRun(execPrelude + `
raw = inst.execute(["printf", format], decode=False).stdout
replaced = inst.execute(["printf", "ok\\377\\376!"]).stdout
latin = inst.execute(["printf", "caf\\351"], encoding="latin-1").stdout
ascii = inst.execute(["printf", "a\\351b"], encoding="ascii").stdout
utf8 = inst.execute(["printf", "caf\\303\\251"]).stdout
`)
		assert.Equal(t, want, []byte(globalString(t, s, "raw")), "bytes are passed through unchanged")
		assert.Equal(t, "ok\uFFFD\uFFFD!", globalString(t, s, "replaced"), "invalid UTF-8 becomes U+FFFD")
		assert.Equal(t, "café", globalString(t, s, "latin"))
		assert.Equal(t, "a\uFFFDb", globalString(t, s, "ascii"))
		assert.Equal(t, "café", globalString(t, s, "utf8"))
	})

	t.Run("Stdin5MB", func(t *testing.T) {
		t.Parallel()
		payload := make([]byte, 5<<20)
		rng := mrand.NewChaCha8([32]byte{4})
		_, _ = rng.Read(payload)
		s := execScript(t, srv.Socket, name, 60*time.Second).with("payload", starlark.Bytes(payload))
		s.mustRun(execPrelude + `
r = inst.execute(["cat"], stdin_payload=payload, decode=False)
same = r.stdout == payload
echoed = r.stdout
count = inst.execute(["wc", "-c"], stdin_payload=payload).stdout.strip()
text = inst.execute(["cat"], stdin_payload="héllo", decode=False).stdout
latin = inst.execute(["cat"], stdin_payload="héllo", stdin_encoding="latin-1", decode=False).stdout
`)
		assert.Equal(t, starlark.True, s.global("same"))
		assert.True(t, bytes.Equal(payload, []byte(globalString(t, s, "echoed"))), "cat echoed the payload")
		assert.Equal(t, fmt.Sprint(len(payload)), globalString(t, s, "count"))
		assert.Equal(t, "h\xc3\xa9llo", globalString(t, s, "text"))
		assert.Equal(t, "h\xe9llo", globalString(t, s, "latin"))
	})

	t.Run("NoStdinPayloadClosesStdin", func(t *testing.T) {
		t.Parallel()
		// With stdin left open, cat would run until the script's timeout
		// fails the run.
		s := execScript(t, srv.Socket, name, 60*time.Second)
		s.mustRun(execPrelude + `
r = inst.execute(["cat"])
n = inst.execute(["wc", "-c"]).stdout.strip()
`)
		assert.Equal(t, "0", globalString(t, s, "n"))
	})

	t.Run("HandlersGetEveryChunk", func(t *testing.T) {
		t.Parallel()
		s := execScript(t, srv.Socket, name, 30*time.Second)
		s.mustRun(execPrelude + `
outs, errs = [], []
r = inst.execute(["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; echo eline$i >&2; sleep 0.1; done; head -c 300000 /dev/zero | tr '\\0' x"],
                 stdout_handler=outs.append, stderr_handler=errs.append)
out, err = "".join(outs), "".join(errs)
rout, rerr, nouts = r.stdout, r.stderr, len(outs)
braw = []
rb = inst.execute(["printf", "\\377abc"], decode=False, stdout_handler=braw.append)
bjoined = b""
for c in braw:
    bjoined += c
types = sorted({type(c): 1 for c in outs + braw}.keys())
split = []
inst.execute(["sh", "-c", "printf 'a\\303'; sleep 0.3; printf '\\251b'"], stdout_handler=split.append)
`)
		want := "line1\nline2\nline3\nline4\nline5\n" + strings.Repeat("x", 300000)
		assert.Equal(t, want, globalString(t, s, "out"))
		assert.Equal(t, "eline1\neline2\neline3\neline4\neline5\n", globalString(t, s, "err"))
		assert.Equal(t, "", globalString(t, s, "rout"), "the result field is empty when a handler took the output")
		assert.Equal(t, "", globalString(t, s, "rerr"))
		assert.Greater(t, globalInt(t, s, "nouts"), 5, "output came in several chunks")
		assert.Equal(t, "\xffabc", globalString(t, s, "bjoined"))
		assert.Equal(t, `["bytes", "string"]`, s.global("types").String())
		assert.Equal(t, `["a", "éb"]`, s.global("split").String(), "a character split between chunks is delivered whole")
	})

	t.Run("ExitCodes", func(t *testing.T) {
		t.Parallel()
		s := execScript(t, srv.Socket, name, 30*time.Second)
		out := s.mustRun(execPrelude + `
for cmd in [["true"], ["false"], ["sh", "-c", "exit 42"], ["no-such-command"], ["/etc/passwd"], ["sh", "-c", "/etc/passwd"]]:
    print(inst.execute(cmd).exit_code)
`)
		assert.Equal(t, "0\n1\n42\n127\n126\n126\n", out)
	})

	t.Run("TimeoutKills", func(t *testing.T) {
		t.Parallel()
		marker := fmt.Sprintf("sleep %d", 60+mrand.IntN(1000)) // unique among parallel subtests
		start := time.Now()
		s := execScript(t, srv.Socket, name, 30*time.Second).with("cmd", starlark.String(marker))
		s.mustRun(execPrelude + `
r = catch(inst.execute, cmd.split(" "), timeout=1)
kind, msg = r.error.kind, r.error.message
`)
		elapsed := time.Since(start)
		assert.Equal(t, "Timeout", globalString(t, s, "kind"), globalString(t, s, "msg"))
		// Far less than the command's own minute, which is what a timeout
		// that did not fire would take; not a tighter bound, which a loaded
		// -race run broke (5 s for a 1-s timeout under a load of 15).
		assert.Less(t, elapsed, 30*time.Second)
		assert.False(t, psHas(t, srv.Socket, name, marker), "%q still runs in the container", marker)
	})

	t.Run("CancelKills", func(t *testing.T) {
		t.Parallel()
		marker := fmt.Sprintf("sleep %d", 2000+mrand.IntN(1000))
		s := newScript(t, srv.Socket).with("name", starlark.String(name)).with("cmd", starlark.String(marker))
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s.ctx = ctx
		time.AfterFunc(1500*time.Millisecond, cancel)
		start := time.Now()
		_, err := s.run(execPrelude + `inst.execute(cmd.split(" "))`)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), 30*time.Second) // the command sleeps for over half an hour
		assert.False(t, psHas(t, srv.Socket, name, marker), "%q still runs in the container", marker)
	})

	t.Run("HandlerFailureKills", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		s := execScript(t, srv.Socket, name, 30*time.Second)
		_, err := s.run(execPrelude + `
def h(chunk):
    fail("handler saw " + chunk.strip())
inst.execute(["sh", "-c", "echo first; exec sleep 3001"], stdout_handler=h)
`)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "handler saw first")
		assert.Less(t, time.Since(start), 30*time.Second) // the command sleeps for 50 minutes
		assert.False(t, psHas(t, srv.Socket, name, "sleep 3001"))
	})

	t.Run("EnvironmentUserGroupCwd", func(t *testing.T) {
		t.Parallel()
		s := execScript(t, srv.Socket, name, 30*time.Second)
		s.mustRun(execPrelude + `
out = inst.execute(["sh", "-c", "echo $FOO; id -u; id -g; pwd"], environment={"FOO": "bar baz"}, user=1000, group=1001, cwd="/tmp").stdout
positional = inst.execute(["sh", "-c", "echo $FOO; pwd"], {"FOO": "x"}, None, True, None, "utf-8", None, None, None, None, "/etc").stdout
`)
		assert.Equal(t, "bar baz\n1000\n1001\n/tmp\n", globalString(t, s, "out"))
		assert.Equal(t, "x\n/etc\n", globalString(t, s, "positional"))
	})

	t.Run("BadArguments", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ call, want string }{
			{`inst.execute("echo hi")`, `use ["sh", "-c", "echo hi"]`},
			{`inst.execute([])`, "empty"},
			{`inst.execute(["echo", 1])`, "element 1 is int"},
			{`inst.execute(["true"], encoding="klingon")`, "unsupported encoding"},
			{`inst.execute(["true"], stdin_payload="é", stdin_encoding="ascii")`, "cannot be encoded"},
			{`inst.execute(["true"], None, None, True, None, "utf-8", None, None, None, None, None, 5)`, "keyword-only"},
			{`inst.execute(["true"], stdout_handler=5)`, "stdout_handler"},
			{`inst.execute(["true"], environment={"A": 1})`, "environment"},
		} {
			_, err := execScript(t, srv.Socket, name, 30*time.Second).run(execPrelude + tc.call)
			if assert.Error(t, err, tc.call) {
				assert.Contains(t, err.Error(), tc.want, tc.call)
				assert.Contains(t, err.Error(), "execute", "the message names the function")
			}
		}
	})
}

// TestExecLeavesNoGoroutines is not parallel: it counts the process's
// goroutines around 21 executes of every kind (plain, stdin, handlers,
// timeout).
func TestExecLeavesNoGoroutines(t *testing.T) { eachServerInTurn(t, testExecLeavesNoGoroutines) }

func testExecLeavesNoGoroutines(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "exgor", true)
	var counts []int
	count := starlark.NewBuiltin("count", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		counts = append(counts, settledGoroutines(counts))
		return starlark.None, nil
	})
	execScript(t, srv.Socket, name, 60*time.Second).with("count", count).mustRun(execPrelude + `
inst.execute(["true"])
inst.execute(["cat"], stdin_payload="x", stdout_handler=len)
count()
for i in range(10):
    inst.execute(["sh", "-c", "echo out; echo err >&2"])
    inst.execute(["cat"], stdin_payload="x", stdout_handler=len, stderr_handler=len)
r = catch(inst.execute, ["sleep", "30"], timeout=0.2)
count()
`)
	require.Len(t, counts, 2)
	assert.LessOrEqual(t, counts[1], counts[0]+2, "goroutines before %d, after 21 executes %d", counts[0], counts[1])
}

// settledGoroutines counts goroutines once those that are ending have had a
// moment to end: the first count after 100 ms, later ones as soon as the
// count is back to the first (or after 3 s).
func settledGoroutines(counts []int) int {
	if len(counts) == 0 {
		time.Sleep(100 * time.Millisecond)
		return runtime.NumGoroutine()
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > counts[0] && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return runtime.NumGoroutine()
}

// TestExecDialsThreeWebsockets: execute connects stdin, stdout and stderr,
// never the control socket (one dial less on every call), yet LXD still
// delivers the output and, on a timeout, kills the command.
func TestExecDialsThreeWebsockets(t *testing.T) {
	parallelOnEachServer(t, testExecDialsThreeWebsockets)
}

func testExecDialsThreeWebsockets(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "ex3ws", true)
	proxy := newCountingProxy(t, srv.Socket)
	s := newScript(t, proxy.Socket).with("name", starlark.String(name)).with("mark", proxy.mark())
	s.mustRun(`
inst = lxd.Client().instances.get(name)
mark()
code, out, err = inst.execute(["sh", "-c", "echo out; echo err >&2; exit 4"])
mark()
killed = catch(inst.execute, ["sleep", "3023"], timeout=0.3).error.kind
`)
	assert.Equal(t, 4, globalInt(t, s, "code"))
	assert.Equal(t, "out\n", globalString(t, s, "out"))
	assert.Equal(t, "err\n", globalString(t, s, "err"))
	assert.Equal(t, "Timeout", globalString(t, s, "killed"))
	assert.False(t, psHas(t, srv.Socket, name, "sleep 3023"), "the timed-out command still runs")
	m := proxy.marks()
	require.Len(t, m, 2)
	var websockets []string
	for _, r := range proxy.Requests()[m[0]:m[1]] {
		if strings.Contains(r, "/websocket?secret=") {
			websockets = append(websockets, r)
		}
	}
	assert.Len(t, websockets, 3, "one execute's requests:\n%s", proxy.requestsSince(m[0]))
}

func TestExecOverHTTPS(t *testing.T) { parallelOnEachServer(t, testExecOverHTTPS) }

func testExecOverHTTPS(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "exhttps", true)
	crt, key := trustedClientCert(t, srv)
	s := execScript(t, srv.Socket, name, 60*time.Second).with("crt", starlark.String(crt)).with("key", starlark.String(key)).
		with("url", starlark.String(srv.HTTPS))
	s.mustRun(`
c = lxd.Client(endpoint=url, cert=(crt, key), verify=False)
inst = c.instances.get(name)
code, out, err = inst.execute(["sh", "-c", "echo hello; echo oops >&2; exit 3"])
echoed = inst.execute(["cat"], stdin_payload="x" * 200000).stdout
killed = catch(inst.execute, ["sleep", "3017"], timeout=0.3).error.kind
`)
	assert.Equal(t, "Timeout", globalString(t, s, "killed"))
	assert.False(t, psHas(t, srv.Socket, name, "sleep 3017"), "the timed-out command still runs: closing stdout over TLS did not kill it")
	assert.Equal(t, 3, globalInt(t, s, "code"))
	assert.Equal(t, "hello\n", globalString(t, s, "out"))
	assert.Equal(t, "oops\n", globalString(t, s, "err"))
	assert.Equal(t, strings.Repeat("x", 200000), globalString(t, s, "echoed"))
}

func TestRawInteractiveExecute(t *testing.T) { parallelOnEachServer(t, testRawInteractiveExecute) }

func testRawInteractiveExecute(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "exint", true)
	s := execScript(t, srv.Socket, name, 30*time.Second)
	s.mustRun(execPrelude + `
d = inst.raw_interactive_execute(["sh"], environment={"PS1": "$ ", "TERM": "dumb"})
ws, control, dname = d["ws"], d["control"], d["name"]
keys = sorted(d.keys())
`)
	assert.Equal(t, `["control", "name", "ws"]`, s.global("keys").String())
	assert.Equal(t, name, globalString(t, s, "dname"))
	wsPath, controlPath := globalString(t, s, "ws"), globalString(t, s, "control")
	assert.Regexp(t, `^/1\.0/operations/[0-9a-f-]+/websocket\?secret=[0-9a-f]+$`, wsPath)
	assert.Regexp(t, `^/1\.0/operations/[0-9a-f-]+/websocket\?secret=[0-9a-f]+$`, controlPath)

	// Drive the shell ourselves over the paths it returned, with the REST
	// client's websockets (which answer the pings LXD sends each socket as
	// it connects) and no Starlark.
	rc := restClient(t, srv.Socket)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func(path string) *websocket.Conn {
		conn, err := rc.DialWebsocket(ctx, path)
		require.NoError(t, err, "dialing %s", strings.Split(path, "?")[0])
		return conn
	}
	term, ctl := dial(wsPath), dial(controlPath)
	defer term.Close()
	defer ctl.Close()
	go func() { // keep the control socket read, so pings are answered
		for {
			if _, _, err := ctl.NextReader(); err != nil {
				return
			}
		}
	}()
	// The pause lets LXD forward "hi" before the shell exits: LXD stops
	// reading the terminal as soon as the shell is gone. ("h''i" keeps the
	// echoed command line from matching the output line.)
	require.NoError(t, term.WriteMessage(websocket.BinaryMessage, []byte("echo h''i; sleep 0.3; exit\n")))
	_ = term.SetReadDeadline(time.Now().Add(15 * time.Second))
	var got bytes.Buffer
	for {
		mt, data, err := term.ReadMessage()
		if err != nil || (mt == websocket.TextMessage && len(data) == 0) {
			t.Logf("terminal ended: %v %d %q", err, mt, data)
			break
		}
		got.Write(data)
	}
	lines := strings.Split(strings.ReplaceAll(got.String(), "\r", ""), "\n")
	assert.Contains(t, lines, "hi", "terminal output: %q", got.String())

	// LXD ends the operation once the client has hung up too.
	for _, conn := range []*websocket.Conn{term, ctl} {
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = conn.Close()
	}
	opID := strings.Split(strings.TrimPrefix(wsPath, "/1.0/operations/"), "/")[0]
	op, err := rc.WaitOperation(ctx, &rest.Operation{ID: opID}, 10*time.Second)
	require.NoError(t, err)
	assert.EqualValues(t, 0, op.Metadata["return"])
}

// execute(..., wait=False) and Instance.wait_for on the real daemons: many
// commands at once, their output whole and in order however late the script
// waits, handlers on the script's thread, kills (Ctrl-C, handler failure),
// unwaited failures reported at the end; each readiness condition, read
// back from the server. Each runs against every test server.

func TestExecNoWait(t *testing.T) { parallelOnEachServer(t, testExecNoWait) }

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
	// Frozen: the parallel subtests' scripts all iterate it, and iterating
	// a mutable list writes its iterator count (a data race under -race).
	list.Freeze()
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
		name := newInstance(t, socket, "exnw", false)
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

func TestWaitFor(t *testing.T) { parallelOnEachServer(t, testWaitFor) }

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
		err := sendAndWait(c, &rest.Request{Method: "PUT", Path: rest.Path("instances", name, "state"),
			Body: map[string]any{"action": action, "force": true, "timeout": 30}}, time.Minute)
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

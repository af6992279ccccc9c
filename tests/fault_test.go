package tests

// Interruptions, against the real daemons: a daemon killed under a running
// script, and a script cancelled under a running operation.
//
// Fault injection against a real daemon: the test bed's `fault` daemon
// (tests/testbed/testbed.sh, LXD_DIR=/var/lib/lxd5) is killed with SIGKILL
// in the middle of an operation wait or an exec, then restarted, and the
// very same lxd.Client must work again. Only these tests touch `fault`, and
// they take turns (faultMu), so no other test is disturbed.

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

const (
	faultSocket  = "/var/lib/lxd5/unix.socket"
	faultHTTPS   = "https://127.0.0.1:8445"
	faultPidFile = "/run/lxdstar-testbed/fault.pid"
	// The daemon's command line holds its log file: how the pid is checked
	// to be the fault daemon before it is killed.
	faultLogFlag = "--logfile /var/log/lxdstar-testbed/fault.log"
	testbedShell = "testbed/testbed.sh"
)

// faultMu serialises the tests that kill the fault daemon.
var faultMu sync.Mutex

// faultDaemon runs a test in parallel with the rest of the suite but never
// with another fault test, with the fault daemon up (started if need be).
func faultDaemon(t *testing.T) {
	t.Helper()
	t.Parallel()
	faultMu.Lock()
	t.Cleanup(faultMu.Unlock)
	if !faultAnswers() {
		restartFault(t)
	}
}

// faultAnswers reports whether the fault daemon answers on its socket.
func faultAnswers() bool {
	c, err := rest.New(rest.Config{Endpoint: "unix://" + faultSocket, Timeout: 5 * time.Second})
	if err != nil {
		return false
	}
	defer c.CloseIdleConnections()
	_, err = c.Server(context.Background())
	return err == nil
}

// restartFault starts the fault daemon with the test bed's own script.
func restartFault(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, testbedShell, "up", "fault").CombinedOutput()
	if err != nil {
		t.Fatalf("%s up fault: %v\n%s", testbedShell, err, out)
	}
}

// killFault sends SIGKILL to the fault daemon (and to nothing else: the pid
// must be the process the test bed started with the fault daemon's log
// file) and waits until it is gone.
func killFault() error {
	data, err := os.ReadFile(faultPidFile)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return fmt.Errorf("%s: %w", faultPidFile, err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return err
	}
	if !strings.Contains(strings.ReplaceAll(string(cmdline), "\x00", " "), faultLogFlag) {
		return fmt.Errorf("pid %d is not the fault daemon: %q", pid, cmdline)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return nil // gone, or a zombie nobody reaps: dead either way
		}
	}
	return fmt.Errorf("fault daemon (pid %d) still alive 10 s after SIGKILL", pid)
}

// faultHooks are Starlark builtins for a fault script: kill_soon() kills
// the daemon 300 ms later (while the script is blocked in the call it makes
// next), since_kill() waits for the kill and returns the seconds since,
// restart() starts the daemon again.
type faultHooks struct {
	t        *testing.T
	killedAt time.Time
	killErr  error
	done     chan struct{}
}

func (h *faultHooks) add(s *script) *script {
	return s.with("kill_soon", starlark.NewBuiltin("kill_soon", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		h.done = make(chan struct{})
		time.AfterFunc(300*time.Millisecond, func() {
			h.killErr = killFault()
			h.killedAt = time.Now()
			close(h.done)
		})
		return starlark.None, nil
	})).with("since_kill", starlark.NewBuiltin("since_kill", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		<-h.done // orders the reads below after the writes
		if h.killErr != nil {
			return nil, h.killErr
		}
		return starlark.Float(time.Since(h.killedAt).Seconds()), nil
	})).with("restart", starlark.NewBuiltin("restart", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		restartFault(h.t)
		return starlark.None, nil
	}))
}

// faultScript is a script against the fault daemon with a deadline, so that
// a hang fails the test rather than blocking the suite. Whatever happens,
// the daemon is up again before the test's instance is deleted.
func faultScript(t *testing.T, endpoint, name string) *script {
	t.Cleanup(func() {
		if !faultAnswers() {
			restartFault(t)
		}
	})
	s := newScript(t, endpoint).with("name", starlark.String(name))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	s.ctx = ctx
	return (&faultHooks{t: t}).add(s)
}

// The checks after a kill: the call failed with a connection error within
// seconds; after the restart the same client lists, reads and executes.
const faultAfter = `
print(r.error.kind, r.error.message)
if not r.error.is_a("ClientConnectionFailed"):
    fail("want ClientConnectionFailed, got %s" % r.error)
if since_kill() > 5:
    fail("the failure came %.1f s after the kill" % since_kill())
restart()
inst = client.instances.get(name)
if inst.status != "Running" or name not in [i.name for i in client.instances.all()]:
    fail("after the restart: %s" % inst)
if inst.execute(["echo", "back"]).stdout != "back\n":
    fail("exec after the restart")
print("recovered")
`

func TestFaultDaemonKilledDuringOperationWait(t *testing.T) {
	faultDaemon(t)
	name := newInstance(t, faultSocket, "fwait", true)
	out := faultScript(t, faultSocket, name).mustRun(`
client = lxd.Client()
resp = client.api.instances[name].exec.post(json={"command": ["sleep", "20"],
    "wait-for-websocket": False, "interactive": False, "record-output": False})
op = client.operations.get(resp.json()["metadata"]["id"])
kill_soon()
r = catch(op.wait)
` + faultAfter)
	t.Log(out)
	assert.Contains(t, out, faultSocket, "the error names the socket")
	assert.True(t, strings.HasSuffix(out, "recovered\n"), out)
}

func TestFaultDaemonKilledDuringExec(t *testing.T) {
	faultDaemon(t)
	name := newInstance(t, faultSocket, "fexec", true)
	out := faultScript(t, faultSocket, name).mustRun(`
client = lxd.Client()
inst = client.instances.get(name)
kill_soon()
r = catch(inst.execute, ["sh", "-c", "echo started; sleep 20"])
` + faultAfter)
	t.Log(out)
	assert.True(t, strings.HasSuffix(out, "recovered\n"), out)
}

// The same over HTTPS, with output handlers: the TLS keep-alive pool must
// not hold on to connections of the dead daemon either.
func TestFaultDaemonKilledDuringExecHTTPS(t *testing.T) {
	faultDaemon(t)
	name := newInstance(t, faultSocket, "fexecs", true)
	crt, key, der := newClientCert(t)
	fc := restClient(t, faultSocket)
	_, err := fc.Do(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("certificates"), Body: map[string]any{
		"type": "client", "name": "lxdstar-fault-test", "certificate": base64.StdEncoding.EncodeToString(der)}})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := restClient(t, faultSocket).Do(context.Background(), &rest.Request{Method: "DELETE", Path: rest.Path("certificates", sha256Hex(der))})
		if err != nil && !errors.Is(err, rest.ErrNotFound) {
			t.Errorf("removing the test certificate: %v", err)
		}
	})
	out := faultScript(t, faultHTTPS, name).with("crt", starlark.String(crt)).with("key", starlark.String(key)).mustRun(`
client = lxd.Client(endpoint="` + faultHTTPS + `", cert=(crt, key), verify="/var/lib/lxd5/server.crt")
inst = client.instances.get(name)
inst.execute(["true"])  # a warm keep-alive pool
chunks = []
kill_soon()
r = catch(inst.execute, ["sh", "-c", "echo started; sleep 20"], stdout_handler=chunks.append)
` + faultAfter)
	t.Log(out)
	assert.Contains(t, out, faultHTTPS, "the error names the URL")
	assert.True(t, strings.HasSuffix(out, "recovered\n"), out)
}

// Cancellation: a script interrupted in the middle of an operation wait, an
// exec, a file transfer, an image export or a pure Starlark loop stops
// within a second, through the embedding API (cancelling Run's context) and
// through the command (SIGINT, exit 130), and leaves nothing behind: no
// goroutines, no open connections, no temporary files.
//
// The goroutine and socket counts are of the whole test process, so these
// tests are not parallel: Go runs sequential tests before it resumes the
// parallel ones, and nothing else starts goroutines meanwhile.

// slowProxy is a unix-socket proxy in front of upstream that moves at most
// rate bytes per second each way, so that a transfer of a few MB is still
// under way when the test interrupts it. It is transparent to HTTP and
// websockets alike.
func slowProxy(t testing.TB, upstream string, rate int) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "slow.socket")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("unix", upstream)
			if err != nil {
				down.Close()
				continue
			}
			wg.Add(2)
			// Either side ending closes both, as a real connection would.
			pipe := func(dst, src net.Conn) {
				defer wg.Done()
				throttledCopy(dst, src, rate)
				dst.Close()
				src.Close()
			}
			go pipe(up, down)
			go pipe(down, up)
		}
	}()
	return sock
}

func throttledCopy(dst io.Writer, src io.Reader, rate int) {
	const tick = 20 * time.Millisecond
	buf := make([]byte, max(rate/int(time.Second/tick), 512))
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			time.Sleep(tick)
		}
		if err != nil {
			return
		}
	}
}

// openSockets counts the sockets among the process's file descriptors.
func openSockets(t testing.TB) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	n := 0
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}

// settled waits up to 3 s for count() to drop to at most want and returns
// the last count.
func settled(want int, count func() int) int {
	n := count()
	for deadline := time.Now().Add(3 * time.Second); n > want && time.Now().Before(deadline); n = count() {
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// cancelCase is one blocking call to interrupt. Its script calls started()
// right before the call; the interruption comes 300 ms later.
type cancelCase struct {
	name     string
	endpoint string // "" = the server's socket; else a (slow) proxy socket
	src      string
	setup    func(t *testing.T)
	check    func(t *testing.T) // what must (not) be left behind
}

// cancelFixture sets up what the cases need: a running instance, a 16 MB
// file in it, a slow proxy and an empty host directory for exports.
type cancelFixture struct {
	name, slow, dir string
	big             starlark.Bytes
}

func newCancelFixture(t *testing.T, socket string) *cancelFixture {
	t.Helper()
	needSocket(t, socket)
	f := &cancelFixture{name: uniqueName("cancel"), dir: t.TempDir(), big: starlark.Bytes(bytes.Repeat([]byte("0123456789abcdef"), 1<<20))}
	createInstance(t, socket, f.name, true)
	_, err := restClient(t, socket).Exec(context.Background(), f.name, rest.ExecRequest{Command: []string{"sh", "-c", "head -c 16777216 /dev/zero > /root/big"}}, rest.ExecIO{})
	require.NoError(t, err)
	// 2 MB/s: the 16 MB transfers and the ~1 MB image export each take
	// longer than the 300 ms before the interruption.
	f.slow = slowProxy(t, socket, 2<<20)
	return f
}

func (f *cancelFixture) cases() []cancelCase {
	noTemp := func(t *testing.T) {
		entries, err := os.ReadDir(f.dir)
		require.NoError(t, err)
		for _, e := range entries {
			if e.Name() != "keep" && e.Name() != "image.tar.gz" {
				t.Errorf("left in the target directory: %s", e.Name())
			}
		}
	}
	// An interrupted export_to leaves the file it was replacing intact.
	oldImage := filepath.Join(f.dir, "image.tar.gz")
	exportSetup := func(t *testing.T) { require.NoError(t, os.WriteFile(oldImage, []byte("old image"), 0o644)) }
	exportCheck := func(t *testing.T) {
		noTemp(t)
		data, err := os.ReadFile(oldImage)
		require.NoError(t, err)
		assert.Equal(t, "old image", string(data), "the interrupted export replaced the old file")
	}
	return []cancelCase{
		{name: "loop", src: "started()\nwhile True: pass"},
		{name: "operation wait", src: `
resp = client.api.instances[name].exec.post(json={"command": ["sleep", "30"],
    "wait-for-websocket": False, "interactive": False, "record-output": False})
op = client.operations.get(resp.json()["metadata"]["id"])
started()
op.wait()`},
		{name: "exec", src: `started()
inst.execute(["sh", "-c", "echo started; sleep 30"])`},
		{name: "exec with handler", src: `started()
inst.execute(["sh", "-c", "while true; do echo tick; sleep 0.05; done"], stdout_handler=len)`},
		{name: "files.put", endpoint: f.slow, src: `started()
inst.files.put("/root/upload", BIG)`},
		{name: "files.get", endpoint: f.slow, src: `started()
inst.files.get("/root/big")`},
		{name: "recursive_get", endpoint: f.slow, src: `started()
inst.files.recursive_get("/root", DIR + "/tree")`, check: func(t *testing.T) {
			require.NoError(t, filepath.WalkDir(f.dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && strings.HasPrefix(d.Name(), ".lxdstar-") {
					t.Errorf("temporary file left: %s", p)
				}
				return err
			}))
			os.RemoveAll(filepath.Join(f.dir, "tree"))
		}},
		{name: "export_to", endpoint: f.slow, src: `img = client.images.get_by_alias("busybox")
started()
img.export_to(DIR + "/image.tar.gz")`, setup: exportSetup, check: exportCheck},
		{name: "write_file loop", src: `started()
while True:
    write_file(DIR + "/keep", BIG)`, check: func(t *testing.T) {
			noTemp(t)
			data, err := os.ReadFile(filepath.Join(f.dir, "keep"))
			require.NoError(t, err)
			assert.Equal(t, len(f.big), len(data), "write_file left a partial file")
		}},
	}
}

const cancelPrelude = `client = lxd.Client()
inst = client.instances.get(name)
`

// TestCancelEmbedded cancels Run's context 300 ms into each blocking call.
func TestCancelEmbedded(t *testing.T) { eachServerInTurn(t, testCancelEmbedded) }

func testCancelEmbedded(t *testing.T, srv server) {
	f := newCancelFixture(t, srv.Socket)
	for _, tc := range f.cases() {
		t.Run(tc.name, func(t *testing.T) {
			endpoint := tc.endpoint
			if endpoint == "" {
				endpoint = srv.Socket
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cancelledAt := make(chan time.Time, 1)
			started := starlark.NewBuiltin("started", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
				time.AfterFunc(300*time.Millisecond, func() { cancelledAt <- time.Now(); cancel() })
				return starlark.None, nil
			})
			rt := lxdstar.New(lxdstar.WithLXD(lxdmod.Config{Endpoint: endpoint}), lxdstar.WithPrint(func(string) {}),
				lxdstar.WithPredeclared(starlark.StringDict{"started": started, "name": starlark.String(f.name),
					"BIG": f.big, "DIR": starlark.String(f.dir)}))

			if tc.setup != nil {
				tc.setup(t)
			}
			goroutines, sockets := runtime.NumGoroutine(), openSockets(t)
			_, err := rt.Run(ctx, "cancel.star", []byte(cancelPrelude+tc.src))
			took := time.Since(<-cancelledAt)
			require.Error(t, err)
			assert.ErrorIs(t, err, context.Canceled)
			assert.Less(t, took, time.Second, "stopped %v after the cancel", took)
			var se *lxdstar.Error
			if assert.True(t, errors.As(err, &se)) {
				t.Logf("stopped %v after the cancel: %v", took.Round(time.Millisecond), firstLine(se.Error()))
			}
			if n := settled(goroutines, runtime.NumGoroutine); n > goroutines {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines before, %d after:\n%s", goroutines, n, buf[:runtime.Stack(buf, true)])
			}
			if n := settled(sockets, func() int { return openSockets(t) }); n > sockets {
				t.Errorf("%d sockets open before, %d after", sockets, n)
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// TestCancelSIGINT interrupts the command the same way: exit 130 within a
// second of SIGINT. It counts nothing in this process, so it may run in
// parallel with the rest.
func TestCancelSIGINT(t *testing.T) { parallelOnEachServer(t, testCancelSIGINT) }

func testCancelSIGINT(t *testing.T, srv server) {
	f := newCancelFixture(t, srv.Socket)
	bin := lxdstarBinary(t)
	big := filepath.Join(t.TempDir(), "big")
	require.NoError(t, os.WriteFile(big, []byte(f.big), 0o644))
	for _, tc := range f.cases() {
		t.Run(tc.name, func(t *testing.T) {
			endpoint := tc.endpoint
			if endpoint == "" {
				endpoint = srv.Socket
			}
			src := `name, DIR = sys.argv[1], sys.argv[2]
BIG = read_file(sys.argv[3])
def started(): print("started")
` + cancelPrelude + tc.src
			if tc.setup != nil {
				tc.setup(t)
			}
			cmd := exec.Command(bin, "--endpoint", endpoint, "-c", src, f.name, f.dir, big)
			cmd.Env = append(os.Environ(), "LXDSTAR_TRACE=")
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			require.NoError(t, cmd.Start())
			defer cmd.Process.Kill()
			line := make([]byte, len("started\n"))
			if _, err := io.ReadFull(stdout, line); err != nil || string(line) != "started\n" {
				t.Fatalf("read %q, %v; stderr:\n%s", line, err, stderr.String())
			}
			time.Sleep(300 * time.Millisecond)
			require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(time.Second):
				cmd.Process.Signal(syscall.SIGQUIT) // a goroutine dump on stderr
				<-done
				t.Fatalf("still running a second after SIGINT; stderr:\n%s", stderr.String())
			}
			t.Logf("exited %v after SIGINT", time.Since(start).Round(time.Millisecond))
			assert.Equal(t, 130, cmd.ProcessState.ExitCode(), "stderr:\n%s", stderr.String())
			assert.Equal(t, "lxdstar: interrupted\n", stderr.String())
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}

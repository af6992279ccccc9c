package tests

// Fault injection against a real daemon: the test bed's `fault` daemon
// (tests/testbed/testbed.sh, LXD_DIR=/var/lib/lxd5) is killed with SIGKILL
// in the middle of an operation wait or an exec, then restarted, and the
// very same lxd.Client must work again. Only these tests touch `fault`, and
// they take turns (faultMu), so no other test is disturbed.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

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
	name := uniqueName("fwait")
	createInstance(t, faultSocket, name, true)
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
	name := uniqueName("fexec")
	createInstance(t, faultSocket, name, true)
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
	name := uniqueName("fexecs")
	createInstance(t, faultSocket, name, true)
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

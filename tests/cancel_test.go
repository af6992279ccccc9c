package tests

// Cancellation: a script interrupted in the middle of an operation wait, an
// exec, a file transfer, an image export or a pure Starlark loop stops
// within a second, through the embedding API (cancelling Run's context) and
// through the command (SIGINT, exit 130), and leaves nothing behind: no
// goroutines, no open connections, no temporary files.
//
// The goroutine and socket counts are of the whole test process, so these
// tests are not parallel: Go runs sequential tests before it resumes the
// parallel ones, and nothing else starts goroutines meanwhile.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
func TestCancelSIGINT(t *testing.T) {
	t.Parallel()
	eachServer(t, testCancelSIGINT)
}

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

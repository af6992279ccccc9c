package tests

// files.push and files.pull: host files streamed to and from an instance,
// compared byte for byte (sha256) on both sides, with modes and owners, and
// a pull that fails midway leaving the host as it was.

import (
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/testfiles"
)

// randomFile writes n pseudo-random bytes to path with mode and returns them.
func randomFile(t *testing.T, path string, n int, mode os.FileMode) []byte {
	t.Helper()
	data := make([]byte, n)
	r := rand.New(rand.NewPCG(uint64(n), 7))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	require.NoError(t, os.WriteFile(path, data, mode))
	require.NoError(t, os.Chmod(path, mode)) // whatever the umask
	return data
}

func hostMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Lstat(path)
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular(), "%s is %v", path, fi.Mode())
	return fi.Mode().Perm()
}

func TestFilesPushPull(t *testing.T) {
	t.Parallel()
	testFilesPushPull(t, mainSocket)
}

func testFilesPushPull(t *testing.T, socket string) {
	name := newInstance(t, socket, "push", true)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	data := randomFile(t, src, 3<<20+12345, 0o640)
	existing := filepath.Join(dir, "existing.bin")
	require.NoError(t, os.WriteFile(existing, []byte("old"), 0o644))

	newScript(t, socket).with("NAME", starlark.String(name)).with("SRC", starlark.String(src)).
		with("DIR", starlark.String(dir)).mustRun(`
f = lxd.Client().instances.get(NAME).files
f.push(SRC, "/root/pushed.bin")
f.push(SRC, "/root/owned.bin", mode=0o600, uid=1000, gid=1001)
f.push(local_path=SRC, filepath="/root/a dir name ü+&?.bin", mode="0755")
f.pull("/root/pushed.bin", DIR + "/pulled.bin")
f.pull("/root/owned.bin", DIR + "/existing.bin")
`)
	// The instance's copies, read without the code under test.
	for _, p := range []string{"/root/pushed.bin", "/root/owned.bin", "/root/a dir name ü+&?.bin"} {
		_, body := issue3RawFile(t, lxdServer(), name, p)
		assert.Equal(t, sha256Hex(data), sha256Hex(body), "%s in the instance", p)
	}
	assert.Equal(t, "640 0 0\n600 1000 1001\n755 0 0\n",
		issue3Exec(t, lxdServer(), name, "stat", "-c", "%a %u %g", "/root/pushed.bin", "/root/owned.bin", "/root/a dir name ü+&?.bin"))

	// The host's copies: the bytes, the instance file's mode, and nothing
	// else left in the directory (no temporary file).
	for file, mode := range map[string]os.FileMode{"pulled.bin": 0o640, "existing.bin": 0o600} {
		got, err := os.ReadFile(filepath.Join(dir, file))
		require.NoError(t, err)
		assert.Equal(t, sha256Hex(data), sha256Hex(got), file)
		assert.Equal(t, mode, hostMode(t, filepath.Join(dir, file)), file)
	}
	assert.ElementsMatch(t, []string{"src.bin", "pulled.bin", "existing.bin"}, testfiles.Names(t, dir))
}

// Every failure names the method, the parameter or the path at fault, and
// leaves no file behind.
func TestFilesPushPullErrors(t *testing.T) {
	t.Parallel()
	name := newInstance(t, mainSocket, "push", true)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	randomFile(t, src, 1000, 0o644)
	out := newScript(t, "").with("NAME", starlark.String(name)).with("SRC", starlark.String(src)).
		with("DIR", starlark.String(dir)).mustRun(`
f = lxd.Client().instances.get(NAME).files
f.push(SRC, "/root/file")
for call, args in [
    (f.push, (DIR + "/missing", "/root/x")),
    (f.push, (DIR, "/root/x")),
    (f.push, (SRC, "/nonexistent-dir/x")),
    (f.push, (SRC, "relative")),
    (f.pull, ("/root/missing", DIR + "/out")),
    (f.pull, ("/root", DIR + "/out")),
    (f.pull, ("/root/file", DIR)),
    (f.pull, ("/root/file", DIR + "/")),
    (f.pull, ("/root/file", DIR + "/nodir/out")),
    (f.pull, ("/root/file", "")),
]:
    r = catch(call, *args)
    print(r.error.kind, "|", r.error.message.replace(DIR, "DIR"))
`)
	t.Log(out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 10)
	for i, want := range []string{
		`files.push: for parameter local_path: open DIR/missing: no such file or directory`,
		`files.push: for parameter local_path: DIR is not a regular file`,
		`pushing /nonexistent-dir/x to instance ` + name,
		`files.push: for parameter filepath: "relative" is not an absolute path`,
		`NotFound | instance "` + name + `": /root/missing in instance ` + name,
		`files.pull: /root is a directory (use recursive_get)`,
		`files.pull: for parameter local_path: DIR is a directory`,
		`files.pull: for parameter local_path: "DIR/" names a directory`,
		`files.pull: for parameter local_path: stat DIR/nodir: no such file or directory`,
		`files.pull: for parameter local_path: empty path`,
	} {
		assert.Contains(t, lines[i], want, "case %d", i)
	}
	assert.ElementsMatch(t, []string{"src.bin"}, testfiles.Names(t, dir), "files left behind")
}

// A pull whose connection is cut midway leaves no file and no temporary
// file, and an existing file as it was; the error is the connection's.
func TestFilesPullCutMidway(t *testing.T) {
	t.Parallel()
	name := newInstance(t, mainSocket, "push", true)
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	randomFile(t, src, 1<<20, 0o644)
	out := t.TempDir()
	old := filepath.Join(out, "old.bin")
	require.NoError(t, os.WriteFile(old, []byte("old"), 0o644))
	cut := cutBodiesProxy(t, mainSocket, func(r *http.Request) bool {
		return r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/files")
	})
	got := newScript(t, "").with("NAME", starlark.String(name)).with("SRC", starlark.String(src)).
		with("OUT", starlark.String(out)).with("CUT", starlark.String(cut)).mustRun(`
lxd.Client().instances.get(NAME).files.push(SRC, "/root/big.bin")
f = lxd.Client(CUT).instances.get(NAME).files
for target in [OUT + "/new.bin", OUT + "/old.bin"]:
    r = catch(f.pull, "/root/big.bin", target)
    print(r.error.kind)
`)
	assert.Equal(t, "ClientConnectionFailed\nClientConnectionFailed\n", got)
	assert.Equal(t, []string{"old.bin"}, testfiles.Names(t, out), "a file or temporary file left behind")
	data, err := os.ReadFile(old)
	require.NoError(t, err)
	assert.Equal(t, "old", string(data))
	assert.Equal(t, os.FileMode(0o644), hostMode(t, old))
}

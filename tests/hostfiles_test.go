package tests

// Host file safety of export_to and write_file: they write only the path
// they are given (never through a symlink found there, never into a
// directory found there), and they write a temporary file beside it that
// is renamed into place, so a failed or interrupted write leaves the old
// file intact and no temporary file behind. (recursive_get has its own
// tests in files_test.go.)

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/testfiles"
)

// cuttingProxy serves the main daemon's API on a unix socket but cuts the
// connection after the first 64 KiB of every image export.
func cuttingProxy(t *testing.T) string {
	t.Helper()
	return cutBodiesProxy(t, mainSocket, func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/export") })
}

// cutBodiesProxy serves upstream's API on a unix socket but cuts the
// connection after the first 64 KiB of the response body of every request
// that cut selects.
func cutBodiesProxy(t *testing.T, upstream string, cut func(*http.Request) bool) string {
	t.Helper()
	return unixProxy(t, upstream, func(rp *httputil.ReverseProxy) http.Handler {
		rp.ModifyResponse = func(resp *http.Response) error {
			if cut(resp.Request) {
				resp.Body = struct {
					io.Reader
					io.Closer
				}{io.MultiReader(io.LimitReader(resp.Body, 64<<10), failingReader{}), resp.Body}
			}
			return nil
		}
		// The proxy then aborts the response (the client sees the
		// connection close mid-body) and would log it.
		rp.ErrorLog = log.New(io.Discard, "", 0)
		return rp
	})
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("cut") }

// tinyFS mounts a 64 KiB tmpfs, where writes soon fail with ENOSPC. It
// needs root (the test bed runs as root); elsewhere the test is skipped.
func tinyFS(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

func TestExportToStaysOnItsPath(t *testing.T) {
	t.Parallel()
	img := issue3Image(t, mainSocket, uniqueName("hostf"))
	dir := t.TempDir()
	out, victims := filepath.Join(dir, "out"), filepath.Join(dir, "victims")
	require.NoError(t, os.MkdirAll(filepath.Join(out, "adir"), 0o755))
	require.NoError(t, os.MkdirAll(victims, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(out, "adir", "inside"), []byte("keep"), 0o644))
	for _, v := range []string{"unified", "meta", "root"} {
		require.NoError(t, os.WriteFile(filepath.Join(victims, v), []byte("victim "+v), 0o644))
	}
	// Symlinks where the exports go, pointing outside: they are replaced,
	// never written through; a dangling one too.
	require.NoError(t, os.Symlink(filepath.Join(victims, "unified"), filepath.Join(out, "unified.tar.gz")))
	require.NoError(t, os.Symlink(filepath.Join(victims, "meta"), filepath.Join(out, "split")))
	require.NoError(t, os.Symlink(filepath.Join(victims, "root"), filepath.Join(out, "split.root")))
	require.NoError(t, os.Symlink(filepath.Join(victims, "absent"), filepath.Join(out, "dangling")))
	before := hostTree(t, victims)

	s := newScript(t, "").with("DATA", starlark.Bytes(img.unified)).with("META", starlark.Bytes(img.meta)).
		with("ROOTFS", starlark.Bytes(img.rootfs)).with("OUT", starlark.String(out))
	got := s.mustRun(`
c = lxd.Client()
img = c.images.create(DATA, wait=True)
split = c.images.create(ROOTFS, metadata=META, wait=True)
img.export_to(OUT + "/unified.tar.gz")
split.export_to(OUT + "/split")
img.export_to(OUT + "/dangling")
for path in [OUT + "/adir", OUT + "/adir/", OUT + "/nodir/", OUT + "/missing/x", ""]:
    r = catch(img.export_to, path)
    print(path.replace(OUT, "OUT"), r.error.message if r.error else "written")
`)
	t.Log(got)
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		assert.NotContains(t, line, "written", "export_to to a bad path succeeded")
	}
	assert.Contains(t, got, "OUT/adir ", "the directory case ran")

	assert.Equal(t, before, hostTree(t, victims), "files outside the target changed")
	for name, sum := range map[string]string{"unified.tar.gz": img.fp, "dangling": img.fp} {
		fi, err := os.Lstat(filepath.Join(out, name))
		require.NoError(t, err)
		assert.True(t, fi.Mode().IsRegular(), "%s is %v, want a regular file", name, fi.Mode())
		assert.Equal(t, sum, fileSHA(t, filepath.Join(out, name)))
	}
	meta, err1 := os.ReadFile(filepath.Join(out, "split"))
	root, err2 := os.ReadFile(filepath.Join(out, "split.root"))
	require.NoError(t, errors.Join(err1, err2))
	assert.Equal(t, img.splitFP, sha256Hex(append(meta, root...)))
	assert.Equal(t, []string{"inside"}, testfiles.Names(t, filepath.Join(out, "adir")), "export_to wrote into a directory")
	assert.ElementsMatch(t, []string{"adir", "dangling", "split", "split.root", "unified.tar.gz"}, testfiles.Names(t, out), "temporary or stray files")
}

// A failed export over an existing file (bad checksum, connection cut
// mid-body, disk full) keeps the old file and leaves no temporary file.
func TestExportToFailureKeepsOldFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	full := tinyFS(t)
	for _, d := range []string{dir, full} {
		require.NoError(t, os.WriteFile(filepath.Join(d, "image.tar.gz"), []byte("old image"), 0o644))
	}
	s := newScript(t, "").with("DIR", starlark.String(dir)).with("FULL", starlark.String(full)).
		with("CORRUPT", starlark.String(corruptingProxy(t, mainSocket))).with("CUT", starlark.String(cuttingProxy(t)))
	got := s.mustRun(`
fp = lxd.Client().images.get_by_alias("busybox").fingerprint
for endpoint, dir in [(CORRUPT, DIR), (CUT, DIR), (None, FULL)]:
    r = catch(lxd.Client(endpoint).images.get(fp).export_to, dir + "/image.tar.gz")
    print(r.error.kind, r.error.message)
`)
	t.Log(got)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	require.Len(t, lines, 3)
	assert.Contains(t, lines[0], "not the image fingerprint")
	assert.True(t, strings.HasPrefix(lines[1], "ClientConnectionFailed "), "a cut connection: %q", lines[1])
	assert.Contains(t, lines[2], "no space left on device")
	for _, d := range []string{dir, full} {
		data, err := os.ReadFile(filepath.Join(d, "image.tar.gz"))
		require.NoError(t, err)
		assert.Equal(t, "old image", string(data))
		assert.Equal(t, []string{"image.tar.gz"}, testfiles.Names(t, d), "temporary files left in %s", d)
	}
}

// write_file on a full disk keeps the old file and leaves no temporary file.
func TestWriteFileFailureKeepsOldFile(t *testing.T) {
	t.Parallel()
	full := tinyFS(t)
	path := filepath.Join(full, "f")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	s := newScript(t, "").with("PATH", starlark.String(path)).with("BIG", starlark.Bytes(bytes.Repeat([]byte("x"), 1<<20)))
	got := s.mustRun(`
r = catch(write_file, PATH, BIG)
print(r.error.message)
write_file(PATH, "new")
`)
	assert.Contains(t, got, "write_file: ")
	assert.Contains(t, got, "no space left on device")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "new", string(data), "a small write still works afterwards")
	assert.Equal(t, []string{"f"}, testfiles.Names(t, full))
	// And the failed write left the old content until the next write:
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	_, err = s.run(`write_file(PATH, BIG)`)
	require.Error(t, err)
	data, _ = os.ReadFile(path)
	assert.Equal(t, "old", string(data))
	assert.Equal(t, []string{"f"}, testfiles.Names(t, full))
}

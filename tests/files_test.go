package tests

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// issue3Exec runs a command in a running container with the server's own
// CLI (lxc or incus), so checks do not depend on the code under test.
func issue3Exec(t testing.TB, srv server, name string, argv ...string) string {
	t.Helper()
	out, err := srv.cli(append([]string{"exec", name, "--"}, argv...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s exec %s -- %v: %v\n%s", srv.Name, name, argv, err, out)
	}
	return string(out)
}

// issue3RawFile reads a file of an instance straight from the REST API:
// the server's own file headers (X-LXD-*, X-Incus-*) and body.
func issue3RawFile(t testing.TB, srv server, inst, path string) (map[string]string, []byte) {
	t.Helper()
	c := restClient(t, srv.Socket)
	resp, cancel, err := c.Raw(context.Background(), &rest.Request{Method: "GET", Path: rest.Path("instances", inst, "files"), Query: url.Values{"path": {path}}})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s in %s: HTTP %d: %s", path, inst, resp.StatusCode, body)
	}
	h := map[string]string{}
	prefix := "X-LXD-"
	if srv.Name == "incus" {
		prefix = "X-Incus-"
	}
	for _, k := range []string{"type", "mode", "uid", "gid"} {
		h[k] = resp.Header.Get(prefix + k)
	}
	return h, body
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// runOnFiles runs src with f bound to the files of a new running instance
// (and c to the client); it returns the instance's name and what src
// printed.
func runOnFiles(t *testing.T, srv server, src string) (name, out string) {
	t.Helper()
	name = newInstance(t, srv.Socket, "files", true)
	out = newScript(t, srv.Socket).with("NAME", starlark.String(name)).mustRun("c = lxd.Client()\nf = c.instances.get(NAME).files\n" + src)
	return name, out
}

func TestFilesPutGetModesOwners(t *testing.T) { parallelOnEachServer(t, testFilesPutGetModesOwners) }

func testFilesPutGetModesOwners(t *testing.T, srv server) {
	name, out := runOnFiles(t, srv, `
f.put("/root/bin.dat", b"\x00\x01\xff binary", mode=0o600)
if f.get("/root/bin.dat") != b"\x00\x01\xff binary":
    fail("bytes round trip")
f.put("/root/script.sh", "#!/bin/sh\necho hi\n", mode="0755")
f.put("/root/short.txt", "x", mode="644", uid=1000, gid=1001)
st = f.stat("/root/bin.dat")
print(st.type, "%o" % st.mode, st.uid, st.gid)
st = f.stat("/root/script.sh")
print(st.type, "%o" % st.mode)
st = f.stat("/root/short.txt")
print(st.type, "%o" % st.mode, st.uid, st.gid)
print(f.stat("/root").type, f.stat("/bin/sh").type)

# append
f.put("/root/log", "one\n")
f.put("/root/log", "two\n", append=True)
print(repr(f.get("/root/log")))
f.put("/root/log", "three\n")
print(repr(f.get("/root/log")))

# names with spaces and non-ASCII
f.put("/root/a dir name ü+&?.txt", "späces")
print(str(f.get("/root/a dir name ü+&?.txt")))

# get follows symlinks inside the instance (/bin/sh -> busybox)
print(len(f.get("/bin/sh")) > 100000)
`)
	want := `file 600 0 0
file 755
file 644 1000 1001
directory symlink
b"one\ntwo\n"
b"three\n"
späces
True
`
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	// Read back independently: REST headers and stat in the container.
	h, body := issue3RawFile(t, srv, name, "/root/bin.dat")
	if h["mode"] != "0600" || string(body) != "\x00\x01\xff binary" {
		t.Fatalf("server has %v %q", h, body)
	}
	if got := issue3Exec(t, srv, name, "stat", "-c", "%a %u %g", "/root/script.sh", "/root/short.txt"); got != "755 0 0\n644 1000 1001\n" {
		t.Fatalf("stat in container: %q", got)
	}
	if got := issue3Exec(t, srv, name, "cat", "/root/a dir name ü+&?.txt"); got != "späces" {
		t.Fatalf("cat in container: %q", got)
	}
}

func TestFilesDirsListDelete(t *testing.T) { parallelOnEachServer(t, testFilesDirsListDelete) }

func testFilesDirsListDelete(t *testing.T, srv server) {
	name, out := runOnFiles(t, srv, `
f.mk_dir("/root/d", mode=0o750)
f.mk_dir("/root/d/sub")
f.put("/root/d/x", "1")
f.put("/root/d/y z", "2")
print(f.listdir("/root/d"))
print("%o" % f.stat("/root/d").mode)
print(f.delete_available())
f.delete("/root/d/x")
print(f.listdir("/root/d"))
r = catch(f.get, "/root/d/x")
print(r.error.kind)
r = catch(f.listdir, "/root/d/y z")
print("not a directory" in r.error.message)
r = catch(f.get, "/root/d")
print("is a directory" in r.error.message)
`)
	want := `["sub", "x", "y z"]
750
True
["sub", "y z"]
NotFound
True
True
`
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	if got := issue3Exec(t, srv, name, "ls", "-A", "/root/d"); got != "sub\ny z\n" {
		t.Fatalf("ls in container: %q", got)
	}
	if got := issue3Exec(t, srv, name, "stat", "-c", "%a %F", "/root/d"); got != "750 directory\n" {
		t.Fatalf("stat in container: %q", got)
	}
}

func TestFilesBadArguments(t *testing.T) { parallelOnEachServer(t, testFilesBadArguments) }

func testFilesBadArguments(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "files", false)
	cases := map[string]string{
		`f.put("relative/path", "x")`:              `files.put: for parameter filepath: "relative/path" is not an absolute path`,
		`f.put("/x", "x", mode="0999")`:            `files.put: for parameter "mode": "0999" is not an octal mode`,
		`f.put("/x", "x", mode="rwx")`:             `files.put: for parameter "mode": "rwx" is not an octal mode`,
		`f.put("/x", "x", mode=0o17777)`:           `files.put: for parameter "mode": mode 8191 out of range`,
		`f.put("/x", "x", mode=1.5)`:               `files.put: for parameter "mode": got float, want int`,
		`f.put("/x", "x", uid=-1)`:                 `files.put: for parameter "uid": -1 out of range`,
		`f.put("/x", 42)`:                          `files.put: for parameter data: got int, want string or bytes`,
		`f.put("/x", "x", None, None, None, True)`: `files.put: got 6 positional arguments, want at most 5`,
		`f.mk_dir("d")`:                            `files.mk_dir: for parameter path: "d" is not an absolute path`,
		`f.get("")`:                                `files.get: for parameter filepath: "" is not an absolute path`,
		`f.recursive_get("x", "/tmp/y")`:           `files.recursive_get: for parameter remote_path: "x" is not an absolute path`,
	}
	for src, want := range cases {
		_, err := newScript(t, srv.Socket).with("NAME", starlark.String(name)).run(
			"f = lxd.Client().instances.get(NAME).files\n" + src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want error containing %q", src, err, want)
		}
	}
}

func TestFilesLarge(t *testing.T) { parallelOnEachServer(t, testFilesLarge) }

func testFilesLarge(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "files", false)
	big := make([]byte, 20<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	s := newScript(t, srv.Socket).with("NAME", starlark.String(name)).with("BIG", starlark.Bytes(big))
	s.mustRun(`
f = lxd.Client().instances.get(NAME).files
f.put("/root/big.bin", BIG)
got = f.get("/root/big.bin")
`)
	got, ok := s.global("got").(starlark.Bytes)
	if !ok || sha256Hex([]byte(got)) != sha256Hex(big) {
		t.Fatalf("get returned %d bytes, sha256 mismatch", len(got))
	}
	_, body := issue3RawFile(t, srv, name, "/root/big.bin")
	if sha256Hex(body) != sha256Hex(big) {
		t.Fatalf("server copy: %d bytes, sha256 mismatch", len(body))
	}
}

// hostTree records every path under dir (relative), with its type, mode
// and symlink target, to compare a directory before and after.
func hostTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		if fi.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(p)
			desc += " -> " + target
		} else if fi.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			desc += " " + sha256Hex(data)[:12]
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFilesRecursiveGetStaysInside(t *testing.T) {
	parallelOnEachServer(t, testFilesRecursiveGetStaysInside)
}

func testFilesRecursiveGetStaysInside(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "files", true)
	issue3Exec(t, srv, name, "sh", "-c", `set -e
mkdir -p /root/tree/sub/deeper
printf a > /root/tree/a.txt; chmod 0640 /root/tree/a.txt
printf x > '/root/tree/..foo'
printf y > '/root/tree/...'
printf z > '/root/tree/spaced ü name'
ln -s / /root/tree/toroot
ln -s ../../.. /root/tree/sub/up3
ln -s /etc/passwd /root/tree/abs
ln -s .. /root/tree/up1
ln -s a.txt /root/tree/rel_ok
ln -s ../a.txt /root/tree/sub/rel_up_ok
ln -s .. /root/tree/sub/deeper/dotdot
ln -s sub/deeper/dotdot/../.. /root/tree/chain
ln -s ../../sub/./deeper /root/tree/sub/deeper/loop_ok
printf s > /root/tree/sub/deeper/f; chmod 0755 /root/tree/sub/deeper/f
chmod 0750 /root/tree/sub
chmod 0700 /root/tree/sub/deeper`)

	parent := t.TempDir()
	// Bait: things a careless implementation would overwrite.
	if err := os.WriteFile(filepath.Join(parent, "a.txt"), []byte("bait"), 0o600); err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(parent, "out")
	before := hostTree(t, parent)

	s := newScript(t, srv.Socket).with("NAME", starlark.String(name)).with("LOCAL", starlark.String(local))
	s.mustRun(`
f = lxd.Client().instances.get(NAME).files
skipped = f.recursive_get("/root/tree", LOCAL)
`)
	after := hostTree(t, parent)
	for p, d := range before {
		if after[p] != d {
			t.Errorf("%s changed: %q -> %q", p, d, after[p])
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok && p != "out" && !strings.HasPrefix(p, "out/") {
			t.Errorf("written outside local_path: %s", p)
		}
	}
	inside := map[string]string{}
	for p, d := range after {
		if strings.HasPrefix(p, "out/") {
			inside[strings.TrimPrefix(p, "out/")] = d
		}
	}
	want := map[string]string{
		"a.txt":              "-rw-r----- " + sha256Hex([]byte("a"))[:12],
		"..foo":              "-rw-r--r-- " + sha256Hex([]byte("x"))[:12],
		"...":                "-rw-r--r-- " + sha256Hex([]byte("y"))[:12],
		"spaced ü name":      "-rw-r--r-- " + sha256Hex([]byte("z"))[:12],
		"rel_ok":             "Lrwxrwxrwx -> a.txt",
		"sub":                "drwxr-x---",
		"sub/rel_up_ok":      "Lrwxrwxrwx -> ../a.txt",
		"sub/deeper":         "drwx------",
		"sub/deeper/dotdot":  "Lrwxrwxrwx -> ..",
		"sub/deeper/loop_ok": "Lrwxrwxrwx -> .",
		// LXD 5.0 reports link targets joined lexically to the link's
		// directory, so this one arrives as /root/tree/sub: safe on the host.
		"chain":        "Lrwxrwxrwx -> sub",
		"sub/deeper/f": "-rwxr-xr-x " + sha256Hex([]byte("s"))[:12],
	}
	var problems []string
	for p, d := range want {
		if inside[p] != d {
			problems = append(problems, p+": got "+inside[p]+", want "+d)
		}
	}
	for p, d := range inside {
		if _, ok := want[p]; !ok {
			problems = append(problems, "unexpected "+p+": "+d)
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Errorf("local tree:\n%s", strings.Join(problems, "\n"))
	}
	var skipped []string
	for v := range s.global("skipped").(*starlark.List).Elements() {
		skipped = append(skipped, string(v.(starlark.String)))
	}
	sort.Strings(skipped)
	wantSkipped := []string{"/root/tree/abs", "/root/tree/sub/up3", "/root/tree/toroot", "/root/tree/up1"}
	if strings.Join(skipped, ",") != strings.Join(wantSkipped, ",") {
		t.Errorf("skipped %v, want %v", skipped, wantSkipped)
	}

	// A host symlink where the instance has a directory is never followed.
	elsewhere := t.TempDir()
	local2 := filepath.Join(parent, "out2")
	if err := os.MkdirAll(local2, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(local2, "sub")); err != nil {
		t.Fatal(err)
	}
	_, err := newScript(t, srv.Socket).with("NAME", starlark.String(name)).with("LOCAL", starlark.String(local2)).run(`
lxd.Client().instances.get(NAME).files.recursive_get("/root/tree", LOCAL)`)
	if err == nil || !strings.Contains(err.Error(), "not a directory (symlinks are never followed)") {
		t.Errorf("got %v, want a refusal to follow the host symlink", err)
	}
	if entries, _ := os.ReadDir(elsewhere); len(entries) != 0 {
		t.Errorf("wrote through a host symlink: %v", entries)
	}
}

func TestFilesRecursiveGetSingleFile(t *testing.T) {
	parallelOnEachServer(t, testFilesRecursiveGetSingleFile)
}

func testFilesRecursiveGetSingleFile(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "files", false)
	local := filepath.Join(t.TempDir(), "passwd")
	newScript(t, srv.Socket).with("NAME", starlark.String(name)).with("LOCAL", starlark.String(local)).mustRun(`
lxd.Client().instances.get(NAME).files.recursive_get("/etc/passwd", LOCAL)`)
	_, want := issue3RawFile(t, srv, name, "/etc/passwd")
	got, err := os.ReadFile(local)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("got %q (%v), want %q", got, err, want)
	}
}

func TestFilesRecursivePutSymlinks(t *testing.T) {
	parallelOnEachServer(t, testFilesRecursivePutSymlinks)
}

func testFilesRecursivePutSymlinks(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "files", true)
	src := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(src, "sub", "deeper"), 0o750))
	must(os.WriteFile(filepath.Join(src, "file.txt"), []byte("top"), 0o640))
	must(os.Chmod(filepath.Join(src, "file.txt"), 0o640))
	must(os.WriteFile(filepath.Join(src, "sub", "deeper", "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Chmod(filepath.Join(src, "sub", "deeper", "run.sh"), 0o755))
	must(os.Chmod(filepath.Join(src, "sub"), 0o750))
	must(os.Chmod(src, 0o711))
	must(os.Symlink("file.txt", filepath.Join(src, "link")))
	must(os.Symlink("sub/deeper", filepath.Join(src, "dirlink")))
	must(os.Symlink("/etc/hostname", filepath.Join(src, "sub", "abslink")))

	out := newScript(t, srv.Socket).with("NAME", starlark.String(name)).with("SRC", starlark.String(src)).mustRun(`
f = lxd.Client().instances.get(NAME).files
print(f.recursive_put(SRC, "/root/put"))
for p in ["/root/put", "/root/put/file.txt", "/root/put/link", "/root/put/dirlink", "/root/put/sub", "/root/put/sub/abslink", "/root/put/sub/deeper/run.sh"]:
    st = f.stat(p)
    print(p, st.type, "%o" % st.mode)
print(str(f.get("/root/put/link")))
`)
	want := `[]
/root/put directory 711
/root/put/file.txt file 640
/root/put/link symlink 777
/root/put/dirlink symlink 777
/root/put/sub directory 750
/root/put/sub/abslink symlink 777
/root/put/sub/deeper/run.sh file 755
top
`
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	got := issue3Exec(t, srv, name, "sh", "-c", "for l in link dirlink sub/abslink; do readlink /root/put/$l; done; cat /root/put/sub/deeper/run.sh")
	if got != "file.txt\nsub/deeper\n/etc/hostname\n#!/bin/sh\n" {
		t.Fatalf("in container: %q", got)
	}
}

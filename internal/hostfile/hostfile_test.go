package hostfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileKeepsModeAndReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "secret")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// A reader that opened the file before the write keeps seeing the old
	// contents: the new ones arrive by rename, never by rewriting in place,
	// so a write interrupted before the rename leaves the old file intact.
	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()

	if err := WriteFile(path, []byte("new contents")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if string(got) != "new contents" {
		t.Errorf("file = %q", got)
	}
	buf := make([]byte, 64)
	n, _ := old.Read(buf)
	if string(buf[:n]) != "old" {
		t.Errorf("old descriptor reads %q: file rewritten in place", buf[:n])
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600 kept", fi.Mode().Perm())
	}

	// A failed write (the target is a directory) leaves no temp file.
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	if err := WriteFile(sub, []byte("x")); err == nil {
		t.Error("wrote over a directory")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("directory holds %v, want secret and sub", entries)
	}
}

func TestWriteFileThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	link := filepath.Join(dir, "link")
	os.WriteFile(target, []byte("old"), 0o640)
	os.Chmod(target, 0o640)
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	if err := WriteFile(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&fs.ModeSymlink == 0 {
		t.Error("the link was replaced by a file")
	}
	got, _ := os.ReadFile(target)
	if string(got) != "new" {
		t.Errorf("target = %q", got)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
}

// A pending file is invisible under the target's name until Commit, and
// Abort leaves the target and the directory as they were.
func TestPendingCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "f")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := Create(target, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(p, strings.NewReader("new")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(target); string(got) != "old" {
		t.Errorf("before Commit the target reads %q", got)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	p.Abort() // after Commit: nothing
	if got, _ := os.ReadFile(target); string(got) != "new" {
		t.Errorf("after Commit the target reads %q", got)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
	if err := p.Commit(); err == nil {
		t.Error("a second Commit succeeded")
	}

	p, err = Create(target, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = p.Write([]byte("abandoned"))
	p.Abort()
	if got, _ := os.ReadFile(target); string(got) != "new" {
		t.Errorf("after Abort the target reads %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("directory holds %v, want only f", entries)
	}
}

// A symlink at the target is replaced, not written through, and a target
// inside a root stays inside it.
func TestCreateInReplacesSymlinks(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	if err := os.WriteFile(outside, []byte("victim"), 0o644); err != nil {
		t.Fatal(err)
	}
	inner := filepath.Join(dir, "inner")
	if err := os.MkdirAll(filepath.Join(inner, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(inner, "sub", "link")); err != nil {
		t.Skip(err)
	}
	root, err := os.OpenRoot(inner)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	p, err := CreateIn(root, "sub/link", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = p.Write([]byte("mine"))
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(outside); string(got) != "victim" {
		t.Errorf("written through the link: %q", got)
	}
	fi, err := os.Lstat(filepath.Join(inner, "sub", "link"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the link was not replaced by a file: %v, %v", fi, err)
	}
	if _, err := CreateIn(root, "../escape", 0o600); err == nil || !errors.Is(err, fs.ErrPermission) && !strings.Contains(err.Error(), "escapes") {
		t.Errorf("a target outside the root: %v", err)
	}
}

// io.Copy into a Pending copies a stream larger than ReadFrom's buffer, in
// the short reads a socket gives, and a host file, byte for byte; until
// Commit the target is untouched.
func TestPendingReadFromStreamAndFile(t *testing.T) {
	dir := t.TempDir()
	want := make([]byte, 3*streamBuffer+12345)
	for i := range want {
		want[i] = byte(i * 7)
	}
	src := filepath.Join(dir, "src")
	if err := os.WriteFile(src, want, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, r := range map[string]io.Reader{
		"stream": io.MultiReader(strings.NewReader(string(want[:1000])), &shortReads{data: want[1000:], max: 70000}),
		"file":   f,
	} {
		target := filepath.Join(dir, name)
		p, err := Create(target, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(p, r)
		if err != nil || n != int64(len(want)) {
			t.Fatalf("%s: copied %d bytes, %v; want %d", name, n, err, len(want))
		}
		if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s: the target exists before Commit (%v)", name, err)
		}
		if err := p.Commit(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(target)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: the committed file differs from what was copied", name)
		}
	}
}

// shortReads gives at most max bytes a read, as a socket does.
type shortReads struct {
	data []byte
	max  int
}

func (r *shortReads) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), r.max)], r.data)
	r.data = r.data[n:]
	return n, nil
}

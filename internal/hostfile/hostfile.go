// Package hostfile writes files on the host so that a file being replaced
// is never seen truncated or half-written, and a failed or killed write
// leaves nothing behind: the new content goes to a temporary file beside
// the target (the same directory, so the same file system, where a rename
// is atomic) and is renamed over the target only when complete. A symlink
// at the target is replaced, never written through; WriteFile, which
// follows one on purpose, resolves it first.
//
// The content is not forced to disk (no fsync) before the rename, as cp,
// curl, `lxc file pull` and rsync do not: the guarantee is against a
// failing or killed lxdstar, not against the machine losing power. Forcing
// a 256 MiB pull to disk took 0.2 to 0.7 s on the benchmark machine (the
// more when the file system had to commit the instance's fresh copy with
// it): most of lxdstar's lag behind curl and `lxc file pull` in
// docs/BENCHMARKS.md (big file).
package hostfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// Pending is a file being written beside its target, not yet in place.
// Write to it, then Commit, or Abort; Abort after Commit does nothing, so
// `defer p.Abort()` is the way to clean up on every failure path.
type Pending struct {
	root    *os.Root
	ownRoot bool // opened by Create: closed with the file
	f       *os.File
	tmp     string // relative to root
	target  string // relative to root
	mode    fs.FileMode
	done    bool
}

// Create starts writing the file at path, whose directory must exist; mode
// is the file's mode once committed.
func Create(path string, mode fs.FileMode) (*Pending, error) {
	root, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	p, err := CreateIn(root, filepath.Base(path), mode)
	if err != nil {
		root.Close()
		return nil, err
	}
	p.ownRoot = true
	return p, nil
}

// CreateIn is Create for the path target inside root: every operation on
// the host stays below root, whatever symlinks the tree holds.
func CreateIn(root *os.Root, target string, mode fs.FileMode) (*Pending, error) {
	tmp := tempPath(target)
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	return &Pending{root: root, f: f, tmp: tmp, target: target, mode: mode}, nil
}

// SymlinkIn makes target, inside root, a symlink to link, replacing what
// is there (a file, another symlink) at once.
func SymlinkIn(root *os.Root, target, link string) error {
	tmp := tempPath(target)
	if err := root.Symlink(link, tmp); err != nil {
		return err
	}
	if err := root.Rename(tmp, target); err != nil {
		_ = root.Remove(tmp)
		return err
	}
	return nil
}

// tempPath is where a temporary entry for target goes: beside it.
func tempPath(target string) string {
	target = filepath.ToSlash(target)
	return path.Join(path.Dir(target), tempName(path.Base(target)))
}

// tempName is a name no other writer picks, hidden (a leading dot) and
// recognisable as lxdstar's.
func tempName(base string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "." + base + ".lxdstar-" + hex.EncodeToString(b) + ".tmp"
}

// Write appends to the new content.
func (p *Pending) Write(b []byte) (int, error) { return p.f.Write(b) }

// ReadFrom copies r into the new content; io.Copy uses it. A host file
// is left to the kernel (os.File.ReadFrom copies file to file without
// reading it in); anything else, an HTTP body most of all, goes through a
// buffer of streamBuffer bytes rather than os.File's 32 KiB, for fewer
// and larger reads and writes.
func (p *Pending) ReadFrom(r io.Reader) (int64, error) {
	if _, ok := r.(*os.File); ok {
		return p.f.ReadFrom(r)
	}
	return io.CopyBuffer(onlyWriter{p.f}, r, make([]byte, streamBuffer))
}

// streamBuffer is the size of ReadFrom's buffer: a unix socket holds about
// 200 KiB, which one read then takes whole.
const streamBuffer = 256 << 10

// onlyWriter hides the file's ReadFrom from io.CopyBuffer, which would
// otherwise hand the copy back to it and its 32 KiB buffer.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(b []byte) (int, error) { return o.w.Write(b) }

// Commit puts the new content in place: mode set, renamed over the
// target (not flushed to disk first: see the package comment).
func (p *Pending) Commit() error {
	if p.done {
		return errors.New("hostfile: commit of a finished file")
	}
	err := p.f.Chmod(p.mode) // the temporary file was made 0600
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = p.root.Rename(p.tmp, p.target)
	}
	if err != nil {
		_ = p.root.Remove(p.tmp)
	}
	p.finish()
	return err
}

// Abort gives the write up: the temporary file is removed and the target
// stays as it was.
func (p *Pending) Abort() {
	if p.done {
		return
	}
	p.f.Close()
	_ = p.root.Remove(p.tmp)
	p.finish()
}

func (p *Pending) finish() {
	p.done = true
	if p.ownRoot {
		p.root.Close()
	}
}

// defaultMode is the mode of a file WriteFile creates.
const defaultMode fs.FileMode = 0o644

// WriteFile replaces the contents of the file at path with data. An
// existing file keeps its mode; a new one gets 0644. When path is a
// symbolic link, the file it points to is replaced and the link kept.
func WriteFile(path string, data []byte) error {
	mode := defaultMode
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
		if fi, err := os.Stat(path); err == nil {
			if !fi.Mode().IsRegular() {
				return &fs.PathError{Op: "write", Path: path, Err: errors.New("not a regular file")}
			}
			mode = fi.Mode().Perm()
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	p, err := Create(path, mode)
	if err != nil {
		return err
	}
	defer p.Abort()
	if _, err := p.Write(data); err != nil {
		return err
	}
	return p.Commit()
}

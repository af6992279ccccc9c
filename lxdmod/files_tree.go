package lxdmod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/hostfile"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// filesRecursiveGet copies an instance directory (or a single file) to the
// host. It never writes outside local_path: every host operation goes
// through an os.Root opened on local_path, names from the server are
// checked, existing host symlinks are never followed, and instance symlinks
// are recreated only when their target provably stays inside local_path.
// It returns the instance paths it skipped (unsafe symlinks, special files).
func filesRecursiveGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	fn := g.fn(b)
	var remote pathInInstance
	var local string
	if err := starlark.UnpackArgs(fn, args, kwargs, "remote_path", &remote, "local_path", &local); err != nil {
		return nil, err
	}
	if local == "" {
		return nil, fmt.Errorf("%s: for parameter local_path: empty path", fn)
	}
	ctx := ctxOf(thread)
	f, found, err := g.openRemote(ctx, string(remote), true)
	if err != nil {
		return nil, err
	}
	w := &treeGetter{ctx: ctx, g: g, inst: g.filesInstance(), fn: fn}
	if f.Type != "directory" {
		defer f.Close()
		err = w.singleFile(local, f)
	} else {
		err = w.tree(local, found, f)
	}
	if err != nil {
		return nil, err
	}
	return starlark.NewList(w.skipped), nil
}

// treeGetter holds the state of one recursive_get.
type treeGetter struct {
	ctx     context.Context
	g       *manager
	inst    string
	fn      string // the method, for messages
	root    *os.Root
	top     string // the instance directory being copied
	skipped []starlark.Value
}

// singleFile copies one instance file to the host path local.
func (w *treeGetter) singleFile(local string, f *rest.File) error {
	if f.Type != "file" {
		return fmt.Errorf("cannot copy a %s", f.Type)
	}
	dir, base := filepath.Split(filepath.Clean(local))
	if dir == "" {
		dir = "."
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	w.root = root
	return w.writeFile(base, f)
}

// tree copies the directory top (already fetched as f) into local.
func (w *treeGetter) tree(local, top string, f *rest.File) error {
	if err := os.MkdirAll(local, 0o700); err != nil {
		return err
	}
	// local_path itself is the caller's choice (it may be a symlink to a
	// directory); nothing below it is followed.
	root, err := os.OpenRoot(local)
	if err != nil {
		return err
	}
	defer root.Close()
	w.root = root
	w.top = top
	return w.copyDir(top, ".", f.Entries, f.Mode)
}

// localLinkTarget maps the target of the instance symlink at remote to a
// relative target for the host copy. LXD 5.0 reports targets already
// joined to the link's directory (an absolute path); others may send the
// raw target, which is joined the same way. Only targets inside the
// directory being copied have a host equivalent.
func (w *treeGetter) localLinkTarget(remote, target string) (string, bool) {
	if target == "" || strings.ContainsRune(target, 0) {
		return "", false
	}
	dir := path.Dir(remote)
	if !path.IsAbs(target) {
		target = path.Join(dir, target)
	}
	target = path.Clean(target)
	if target != w.top && !strings.HasPrefix(target, strings.TrimSuffix(w.top, "/")+"/") {
		return "", false
	}
	rel, err := filepath.Rel(dir, target)
	if err != nil {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// copyDir copies the entries of the instance directory remote into the
// host directory rel (relative to the root), then gives rel its mode: last,
// so that a read-only directory can still be filled.
func (w *treeGetter) copyDir(remote, rel string, entries []string, mode uint32) error {
	for _, name := range entries {
		if err := hostfile.CheckName(name); err != nil {
			return fmt.Errorf("listing of %s in instance %s: %w", remote, w.inst, err)
		}
		if err := w.copyEntry(path.Join(remote, name), path.Join(rel, name)); err != nil {
			return err
		}
	}
	return w.root.Chmod(rel, fs.FileMode(mode&0o1777))
}

func (w *treeGetter) copyEntry(remote, rel string) error {
	if err := w.ctx.Err(); err != nil {
		return rest.ContextError(w.ctx, w.fn)
	}
	f, err := w.g.c.rest.GetFile(w.ctx, w.inst, remote)
	if err != nil {
		return err
	}
	defer f.Close()
	switch f.Type {
	case "directory":
		if err := w.ensureDir(rel); err != nil {
			return err
		}
		return w.copyDir(remote, rel, f.Entries, f.Mode)
	case "file":
		return w.writeFile(rel, f)
	case "symlink":
		target, err := readLinkTarget(f)
		if err != nil {
			return fmt.Errorf("%s: %w", remote, err)
		}
		local, ok := w.localLinkTarget(remote, target)
		if !ok || !hostfile.LinkStaysInside(rel, local) {
			w.skipped = append(w.skipped, starlark.String(remote))
			return nil
		}
		return hostfile.SymlinkIn(w.root, rel, local)
	}
	w.skipped = append(w.skipped, starlark.String(remote))
	return nil
}

// ensureDir makes rel a real directory. An existing symlink there is an
// error rather than something to descend through.
func (w *treeGetter) ensureDir(rel string) error {
	fi, err := w.root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) {
		return w.root.Mkdir(rel, 0o700)
	}
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s exists on the host and is not a directory (symlinks are never followed)", filepath.Join(w.root.Name(), rel))
	}
	return nil
}

// writeFile streams a file's content to rel, atomically (internal/hostfile:
// an interrupted copy never leaves a truncated file behind, a symlink at
// rel is replaced, never written through). The mode is the instance's
// permission bits (setuid/setgid are dropped: a host copy of an instance's
// setuid binary must not become one).
func (w *treeGetter) writeFile(rel string, f *rest.File) error {
	out, err := hostfile.CreateIn(w.root, rel, fs.FileMode(f.Mode&0o777))
	if err != nil {
		return err
	}
	defer out.Abort()
	if _, err := io.Copy(out, f.Body); err != nil {
		if w.ctx.Err() != nil {
			return rest.ContextError(w.ctx, "recursive_get")
		}
		return err
	}
	return out.Commit()
}

// hostError prefixes the error of a transfer between the host and LXD with
// what was being done, unless it is LXD's (or the connection's) error,
// whose kind must stay first in the message. nil stays nil.
func hostError(err error, prefix string) error {
	var e *rest.Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("%s: %w", prefix, err)
}

package lxdmod

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// filesKind is instance.files: a manager whose methods act on paths
// inside the instance (its parent).
var filesKind = newSubKind("files", nil, map[string]methodFn{
	"put":              filesPut,
	"push":             filesPush,
	"pull":             filesPull,
	"mk_dir":           filesMkDir,
	"get":              filesGet,
	"stat":             filesStat,
	"listdir":          filesListdir,
	"delete_available": filesDeleteAvailable,
	"delete":           filesDelete,
	"recursive_put":    filesRecursivePut,
	"recursive_get":    filesRecursiveGet,
})

// maxSymlinkHops bounds symlink resolution inside the instance (Linux's
// own limit is 40).
const maxSymlinkHops = 40

// maxLinkTarget bounds how much of a symlink's target is read.
const maxLinkTarget = 4096

// pushAttrs are the mode, uid and gid arguments of put, push, mk_dir and
// recursive_put; -1 (the argument left out or None) lets LXD choose.
type pushAttrs struct {
	mode     starargs.FileMode
	uid, gid starargs.Owner
}

func newPushAttrs() pushAttrs { return pushAttrs{mode: -1, uid: -1, gid: -1} }

// push is the request these attributes make.
func (a pushAttrs) push() rest.FilePush {
	return rest.FilePush{Mode: int(a.mode), UID: int64(a.uid), GID: int64(a.gid)}
}

// filesInstance is the name of the instance a files manager belongs to,
// read at call time so a renamed instance is followed.
func (g *manager) filesInstance() string { return g.parent.key() }

func filesPut(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	fn := g.fn(b)
	var (
		p        pathInInstance
		data     starargs.Text
		a        = newPushAttrs()
		appendTo bool
	)
	if err := maxPositional(fn, args, 5); err != nil {
		return nil, err
	}
	if err := starlark.UnpackArgs(fn, args, kwargs, "filepath", &p, "data", &data,
		"mode?", &a.mode, "uid?", &a.uid, "gid?", &a.gid, "append?", &appendTo); err != nil {
		return nil, err
	}
	push := a.push()
	// strings.NewReader shares the Starlark value's memory: no copy.
	push.Content = strings.NewReader(string(data))
	if appendTo {
		if err := g.c.requireExtension("file_append"); err != nil {
			return nil, rest.Annotate(err, "append=True")
		}
	}
	push.Type, push.Append = "file", appendTo
	return starlark.None, g.c.rest.PushFile(ctxOf(thread), g.filesInstance(), string(p), push)
}

// filesPush streams the host file local_path to filepath in the instance:
// the file is read as it is sent, never held in memory. Without mode the
// instance file gets the host file's permission bits.
func filesPush(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	fn := g.fn(b)
	var (
		local string
		p     pathInInstance
		a     = newPushAttrs()
	)
	if err := starlark.UnpackArgs(fn, args, kwargs, "local_path", &local, "filepath", &p,
		"mode?", &a.mode, "uid?", &a.uid, "gid?", &a.gid); err != nil {
		return nil, err
	}
	err := g.pushHostFile(ctxOf(thread), local, string(p), a.push())
	return starlark.None, hostError(err, fn+": for parameter local_path")
}

// pushHostFile streams the regular host file local to target in the
// instance, with the host file's permission bits unless push has a mode.
// The request carries the size seen when the file was opened (progress
// has its total), and a file that shrinks meanwhile fails the push
// rather than sending a short file.
func (g *manager) pushHostFile(ctx context.Context, local, target string, push rest.FilePush) error {
	fh, err := os.Open(local)
	if err != nil {
		return err
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (a directory goes with recursive_put)", local)
	}
	push.Type, push.Content = "file", io.NewSectionReader(fh, 0, info.Size())
	return g.c.rest.PushFile(ctx, g.filesInstance(), target, withHostMode(push, info))
}

func filesMkDir(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	fn := g.fn(b)
	var p pathInInstance
	a := newPushAttrs()
	if err := starlark.UnpackArgs(fn, args, kwargs, "path", &p, "mode?", &a.mode, "uid?", &a.uid, "gid?", &a.gid); err != nil {
		return nil, err
	}
	push := a.push()
	push.Type = "directory"
	return starlark.None, g.c.rest.PushFile(ctxOf(thread), g.filesInstance(), string(p), push)
}

// openRemote fetches p, following symlinks inside the instance when follow is
// set (LXD itself never follows the last component). It returns the file
// and the path it was found at.
func (g *manager) openRemote(ctx context.Context, p string, follow bool) (*rest.File, string, error) {
	inst := g.filesInstance()
	for hops := 0; ; hops++ {
		f, err := g.c.rest.GetFile(ctx, inst, p)
		if err != nil || f.Type != "symlink" || !follow {
			return f, p, err
		}
		target, err := readLinkTarget(f)
		if err != nil {
			return nil, p, err
		}
		if hops == maxSymlinkHops {
			return nil, p, fmt.Errorf("%s in instance %s: too many levels of symbolic links", p, inst)
		}
		if !path.IsAbs(target) {
			target = path.Join(path.Dir(p), target)
		}
		p = path.Clean(target)
	}
}

// readLinkTarget reads (and closes) a symlink answer: its body is the target.
func readLinkTarget(f *rest.File) (string, error) {
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f.Body, maxLinkTarget+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxLinkTarget {
		return "", fmt.Errorf("symlink target longer than %d bytes", maxLinkTarget)
	}
	return string(data), nil
}

// onePathArg unpacks the single absolute instance path the simple files
// methods take, under its documented parameter name.
func onePathArg(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, param string) (string, error) {
	var p pathInInstance
	err := starlark.UnpackArgs(b.Name(), args, kwargs, param, &p)
	return string(p), err
}

// openPathArg unpacks the one instance path argument (param) and opens
// it, following symlinks inside the instance; found is the path opened.
func openPathArg(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, param string) (f *rest.File, found string, err error) {
	p, err := onePathArg(b, args, kwargs, param)
	if err != nil {
		return nil, "", err
	}
	return mgr(b).openRemote(ctxOf(thread), p, true)
}

func filesGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	f, found, err := openPathArg(thread, b, args, kwargs, "filepath")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Type == "directory" {
		return nil, fmt.Errorf("%s: %s is a directory (use listdir or recursive_get)", fn, found)
	}
	// One copy only: the builder's buffer becomes the Bytes value.
	var sb strings.Builder
	if f.Size > 0 && f.Size < 1<<31 {
		sb.Grow(int(f.Size))
	}
	if _, err := io.Copy(&sb, f.Body); err != nil {
		if ctx := ctxOf(thread); ctx.Err() != nil {
			return nil, rest.ContextError(ctx, fn)
		}
		return nil, rest.Annotate(err, "reading "+found)
	}
	return starlark.Bytes(sb.String()), nil
}

// filesPull streams filepath (symlinks inside the instance followed) to the
// host file local_path the way recursive_get writes files: into a
// temporary file beside it, renamed into place once complete, with the
// instance file's permission bits. On failure local_path is as it was.
func filesPull(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	fn := g.fn(b)
	var p pathInInstance
	var local exportTarget // checked as export_to checks its path
	if err := starlark.UnpackArgs(fn, args, kwargs, "filepath", &p, "local_path", &local); err != nil {
		return nil, err
	}
	if err := local.check(); err != nil {
		return nil, fmt.Errorf("%s: for parameter local_path: %w", fn, err)
	}
	ctx := ctxOf(thread)
	f, found, err := g.openRemote(ctx, string(p), true)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Type == "directory" {
		return nil, fmt.Errorf("%s: %s is a directory (use recursive_get)", fn, found)
	}
	w := &treeGetter{ctx: ctx, g: g, inst: g.filesInstance(), fn: fn}
	return starlark.None, hostError(w.singleFile(string(local), f), fn+": writing "+string(local))
}

func filesStat(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	p, err := onePathArg(b, args, kwargs, "filepath")
	if err != nil {
		return nil, err
	}
	info, err := g.c.rest.StatFile(ctxOf(thread), g.filesInstance(), p, g.c.exts["instance_file_head"])
	if err != nil {
		return nil, err
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"type": starlark.String(info.Type),
		"mode": starlark.MakeUint64(uint64(info.Mode)),
		"uid":  starlark.MakeInt64(info.UID),
		"gid":  starlark.MakeInt64(info.GID),
	}), nil
}

func filesListdir(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	f, found, err := openPathArg(thread, b, args, kwargs, "path")
	if err != nil {
		return nil, err
	}
	f.Close()
	if f.Type != "directory" {
		return nil, fmt.Errorf("%s: %s is not a directory (it is a %s)", fn, found, f.Type)
	}
	names := append([]string(nil), f.Entries...)
	sort.Strings(names)
	out := make([]starlark.Value, len(names))
	for i, n := range names {
		out[i] = starlark.String(n)
	}
	return starlark.NewList(out), nil
}

func filesDeleteAvailable(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs); err != nil {
		return nil, err
	}
	return starlark.Bool(g.c.exts["file_delete"]), nil
}

func filesDelete(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	p, err := onePathArg(b, args, kwargs, "filepath")
	if err != nil {
		return nil, err
	}
	if err := g.c.requireExtension("file_delete"); err != nil {
		return nil, err
	}
	return starlark.None, g.c.rest.DeleteFile(ctxOf(thread), g.filesInstance(), p)
}

// filesRecursivePut pushes a host directory tree. Without mode, each file
// and directory keeps its host permission bits. Symlinks are pushed as
// symlinks (never followed); other special files (sockets, devices, FIFOs)
// are skipped and returned as a list of host paths.
func filesRecursivePut(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	fn := g.fn(b)
	var src string
	var dst pathInInstance
	a := newPushAttrs()
	if err := starlark.UnpackArgs(fn, args, kwargs, "src", &src, "dst", &dst, "mode?", &a.mode, "uid?", &a.uid, "gid?", &a.gid); err != nil {
		return nil, err
	}
	attrs := a.push()
	// src itself may be a symlink to a directory (the caller's choice);
	// nothing below it is followed.
	src, err := filepath.EvalSymlinks(src)
	if err != nil {
		return nil, fmt.Errorf("%s: for parameter src: %w", fn, err)
	}
	if fi, err := os.Stat(src); err != nil {
		return nil, fmt.Errorf("%s: for parameter src: %w", fn, err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s: for parameter src: %s is not a directory", fn, src)
	}
	var skipped []starlark.Value
	ctx, inst := ctxOf(thread), g.filesInstance()
	err = filepath.WalkDir(src, func(hp string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, hp)
		if err != nil {
			return err
		}
		target := path.Join(string(dst), filepath.ToSlash(rel))
		push := attrs
		switch t := d.Type(); {
		case t.IsDir():
			info, err := d.Info()
			if err != nil {
				return err
			}
			push.Type = "directory"
			return g.c.rest.PushFile(ctx, inst, target, withHostMode(push, info))
		case t&fs.ModeSymlink != 0:
			link, err := os.Readlink(hp)
			if err != nil {
				return err
			}
			push.Type, push.Content = "symlink", strings.NewReader(link)
			return g.c.rest.PushFile(ctx, inst, target, push)
		case t.IsRegular():
			return g.pushHostFile(ctx, hp, target, push)
		}
		skipped = append(skipped, starlark.String(hp))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return starlark.NewList(skipped), nil
}

// withHostMode gives a push the host file's permission bits when the
// caller passed no mode.
func withHostMode(push rest.FilePush, info fs.FileInfo) rest.FilePush {
	if push.Mode < 0 {
		push.Mode = int(info.Mode().Perm())
	}
	return push
}

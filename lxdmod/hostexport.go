package lxdmod

// Downloads into host files (image and backup exports): streamed, so
// memory stays flat whatever the size, and atomic (internal/hostfile), so
// a failed or interrupted export leaves no file behind, half-written or
// temporary.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/hostfile"
)

// exportFiles writes host files through temporary files beside them: fill
// streams each file's data with put(target, r), and only once fill has
// returned without error are they all put in place. On any failure
// (Ctrl-C included) the temporary files are removed and the targets are
// untouched. LXD errors keep their kind; host file errors name fn.
func exportFiles(fn string, fill func(put putFile) error) error {
	var parts []*hostfile.Pending
	defer func() {
		for _, p := range parts {
			p.Abort() // a no-op for those in place
		}
	}()
	err := fill(func(target string, r io.Reader) error {
		p, err := hostfile.Create(target, 0o644)
		if err != nil {
			return err
		}
		parts = append(parts, p)
		_, err = io.Copy(p, r)
		return err
	})
	if err != nil {
		return hostError(err, fn)
	}
	for _, p := range parts {
		if err := p.Commit(); err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
	}
	return nil
}

// putFile streams r into the host file target (through exportFiles).
type putFile = func(target string, r io.Reader) error

// exportToMethod is an export_to(path) method: stream writes the object's
// data to the host file(s) at dst through put, atomically (exportFiles).
func exportToMethod(stream func(ctx context.Context, m *Model, dst string, put putFile) error) methodFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		m := receiver(b)
		fn := b.Name()
		dst, err := unpackExportTarget(fn, args, kwargs)
		if err != nil {
			return nil, err
		}
		err = exportFiles(fn, func(put putFile) error { return stream(ctxOf(thread), m, dst, put) })
		if err != nil {
			return nil, err
		}
		return starlark.None, nil
	}
}

// unpackExportTarget unpacks the one parameter "path" of an export_to and
// checks it against the host before anything is downloaded.
func unpackExportTarget(fn string, args starlark.Tuple, kwargs []starlark.Tuple) (string, error) {
	var target exportTarget
	if err := starlark.UnpackArgs(fn, args, kwargs, "path", &target); err != nil {
		return "", err
	}
	if err := target.check(); err != nil {
		return "", fmt.Errorf("%s: for parameter path: %w", fn, err)
	}
	return string(target), nil
}

// exportTarget is the host path export_to writes. Before anything is
// downloaded it refuses a path that cannot become a file: empty, naming a
// directory (trailing slash, or an existing directory, which export_to
// never writes into), or in a directory that does not exist (check). A
// symlink at path is fine: the export replaces it and never writes
// through it.
type exportTarget string

func (t *exportTarget) Unpack(v starlark.Value) error {
	return unpackString(v, (*string)(t), func(dst string) error {
		if dst == "" {
			return errors.New("empty path")
		}
		if strings.HasSuffix(dst, string(filepath.Separator)) {
			return fmt.Errorf("%q names a directory: give the path of the file to write", dst)
		}
		return nil
	})
}

// check looks at the host: the path must be able to become a file.
func (t exportTarget) check() error {
	dst := string(t)
	if fi, err := os.Lstat(dst); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory: give the path of the file to write", dst)
	}
	dir := filepath.Dir(dst)
	if fi, err := os.Stat(dir); err != nil {
		return err
	} else if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

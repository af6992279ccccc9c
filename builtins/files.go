package builtins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
)

// defaultMode is the mode of a file write_file creates.
const defaultMode fs.FileMode = 0o644

// read_file(path) returns the contents of a host file as bytes.
func readFile(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.Bytes(data), nil
}

// write_file(path, data) replaces a host file's contents with data (str or
// bytes).
func writeFile(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var data starargs.Text
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "data", &data); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, []byte(data)); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

// writeFileAtomic replaces the contents of the file at path with data so
// that readers, and a write interrupted half way, see either the old
// contents or the new ones, never a truncated file: it writes a temporary
// file in the same directory (rename is atomic only within a file system)
// and renames it over path. An existing file keeps its mode; a new one gets
// 0644. When path is a symbolic link, the file it points to is replaced and
// the link kept.
func writeFileAtomic(path string, data []byte) error {
	mode := defaultMode
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
		if fi, err := os.Stat(path); err == nil {
			if !fi.Mode().IsRegular() {
				return fmt.Errorf("%s: not a regular file", path)
			}
			mode = fi.Mode().Perm()
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	// Until the rename succeeds, any failure removes the temporary file
	// and leaves path as it was.
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	// CreateTemp makes the file 0600; set the final mode explicitly.
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	// Flush to disk before the rename, or a crash could leave an empty file.
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	return nil
}

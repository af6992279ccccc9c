package lxdmod

// Downloads into host files (image and backup exports): streamed, so
// memory stays flat whatever the size, and atomic, so a failed or
// interrupted export leaves no file behind, half-written or temporary.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// exportFiles writes host files through temporary files beside them: fill
// streams each file's data with put(target, r), and only once fill has
// returned without error are they all renamed into place. On any failure
// (Ctrl-C included) the temporary files are removed and the targets are
// untouched. LXD errors keep their kind; host file errors name fn.
func exportFiles(fn string, fill func(put func(target string, r io.Reader) error) error) error {
	var temps []exportTemp
	defer func() {
		for _, t := range temps {
			_ = os.Remove(t.tmp) // a no-op for those already renamed
		}
	}()
	err := fill(func(target string, r io.Reader) error {
		tmp, err := streamToTemp(target, r)
		if tmp != "" {
			temps = append(temps, exportTemp{tmp: tmp, dst: target})
		}
		return err
	})
	if err != nil {
		var e *rest.Error
		if errors.As(err, &e) {
			return err // its kind comes first
		}
		return fmt.Errorf("%s: %w", fn, err) // a host file error
	}
	for _, t := range temps {
		if err := os.Rename(t.tmp, t.dst); err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
	}
	return nil
}

// checkExportTarget refuses, before anything is downloaded, a path that
// cannot become a file: empty, naming a directory (trailing slash, or an
// existing directory, which an export never writes into), or in a
// directory that does not exist. A symlink at path is fine: the export
// replaces it and never writes through it.
func checkExportTarget(fn, dst string) error {
	if dst == "" {
		return fmt.Errorf("%s: for parameter path: empty path", fn)
	}
	if strings.HasSuffix(dst, string(filepath.Separator)) {
		return fmt.Errorf("%s: for parameter path: %q names a directory: give the path of the file to write", fn, dst)
	}
	if fi, err := os.Lstat(dst); err == nil && fi.IsDir() {
		return fmt.Errorf("%s: for parameter path: %s is a directory: give the path of the file to write", fn, dst)
	}
	dir := filepath.Dir(dst)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%s: for parameter path: %w", fn, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("%s: for parameter path: %s is not a directory", fn, dir)
	}
	return nil
}

type exportTemp struct{ tmp, dst string }

// streamToTemp copies r into a new temporary file beside target (same file
// system, so the final rename is atomic) and returns its name.
func streamToTemp(target string, r io.Reader) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return f.Name(), err
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return f.Name(), err
	}
	return f.Name(), f.Close()
}

package lxdmod

// Downloads into host files (image and backup exports): streamed, so
// memory stays flat whatever the size, and atomic, so a failed or
// interrupted export leaves no file behind, half-written or temporary.

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
		return hostError(err, fn)
	}
	for _, t := range temps {
		if err := os.Rename(t.tmp, t.dst); err != nil {
			return fmt.Errorf("%s: %w", fn, err)
		}
	}
	return nil
}

// checkHostTarget refuses, before anything is downloaded, a host path that
// cannot become a file (export_to, files.pull): empty, naming a directory
// (a trailing slash, or an existing directory, which is never written
// into), or in a directory that does not exist. A symlink at the path is
// fine: it is replaced, never written through.
func checkHostTarget(fn, param, dst string) error {
	if dst == "" {
		return fmt.Errorf("%s: for parameter %s: empty path", fn, param)
	}
	if strings.HasSuffix(dst, string(filepath.Separator)) {
		return fmt.Errorf("%s: for parameter %s: %q names a directory: give the path of the file to write", fn, param, dst)
	}
	if fi, err := os.Lstat(dst); err == nil && fi.IsDir() {
		return fmt.Errorf("%s: for parameter %s: %s is a directory: give the path of the file to write", fn, param, dst)
	}
	dir := filepath.Dir(dst)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("%s: for parameter %s: %w", fn, param, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("%s: for parameter %s: %s is not a directory", fn, param, dir)
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

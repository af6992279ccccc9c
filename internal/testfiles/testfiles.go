// Package testfiles writes the small file trees unit tests set up (lxc
// configuration directories, scripts), so each test states only what the
// files hold.
package testfiles

import (
	"os"
	"path/filepath"
	"testing"
)

// Write writes files (path relative to dir: contents) below dir, making
// directories as needed; files are private to the user (0600, like lxc's
// keys), directories 0700.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// Dir returns a new temporary directory (removed when the test ends)
// holding files.
func Dir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	Write(t, dir, files)
	return dir
}

// Package testfiles writes and lists the small file trees tests set up
// and check (lxc configuration directories, scripts, export targets), so
// each test states only what the files hold.
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

// Names returns the names of dir's entries, sorted.
func Names(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// FromEnv returns the contents of the file the environment variable env
// names, for benchmarks that work on a saved server answer; without env
// the test or benchmark is skipped.
func FromEnv(t testing.TB, env string) []byte {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		t.Skipf("set %s to the file to use", env)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

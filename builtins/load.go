package builtins

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"go.starlark.net/starlark"
)

// Loader implements the load statement for one run of a script; install its
// Load method as the thread's Load. A module path is resolved relative to
// the directory of the file doing the load (or used as is when absolute),
// read through the loader's read function, executed once on the loading
// thread with the same predeclared names and dialect as the script, and
// cached for the rest of the run. Load cycles fail with the chain of files.
//
// A Loader is used by one thread at a time; create one per run so that
// modules are re-read on the next run.
type Loader struct {
	predeclared starlark.StringDict
	read        func(path string) ([]byte, error)
	cache       map[string]*loadEntry // by cleaned path
}

type loadEntry struct {
	globals starlark.StringDict
	err     error
	loading bool // executing now: a load of it is a cycle
}

// NewLoader returns a Loader whose modules see predeclared and are read with
// read; a nil read reads host files (os.ReadFile).
func NewLoader(predeclared starlark.StringDict, read func(path string) ([]byte, error)) *Loader {
	if read == nil {
		read = os.ReadFile
	}
	return &Loader{predeclared: predeclared, read: read, cache: make(map[string]*loadEntry)}
}

// ReadFS returns a read function for NewLoader that reads from fsys. Paths
// are slash-separated and relative to the root of fsys (fs.ValidPath).
func ReadFS(fsys fs.FS) func(path string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		return fs.ReadFile(fsys, path.Clean(filepath.ToSlash(name)))
	}
}

// Load executes the module named module (as written in the load statement)
// and returns its globals. It has the signature of starlark.Thread.Load.
func (l *Loader) Load(thread *starlark.Thread, module string) (starlark.StringDict, error) {
	// During a load, the innermost frame is the top level of the loading
	// module (load is a statement, so no builtin frame sits above it).
	from := thread.CallFrame(0).Pos.Filename()
	target := module
	if !filepath.IsAbs(module) {
		target = filepath.Join(filepath.Dir(from), module)
	}
	target = filepath.Clean(target)

	if e, ok := l.cache[target]; ok {
		if e.loading {
			return nil, cycleError(thread, target)
		}
		return e.globals, e.err
	}
	// The script itself is not in the cache: find it among the modules
	// executing on this thread.
	if slices.Contains(executingModules(thread), target) {
		return nil, cycleError(thread, target)
	}

	e := &loadEntry{loading: true}
	l.cache[target] = e
	e.globals, e.err = l.exec(thread, target)
	e.loading = false
	return e.globals, e.err
}

func (l *Loader) exec(thread *starlark.Thread, target string) (starlark.StringDict, error) {
	src, err := l.read(target)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &notFoundError{path: target, err: err}
	} else if err != nil {
		return nil, err
	}
	// Same thread: cancellation, the step limit, print and this loader
	// all apply to the loaded module too.
	return starlark.ExecFileOptions(FileOptions(), thread, target, src, l.predeclared)
}

// executingModules returns the cleaned file names of the modules whose top
// level is running on thread, outermost first.
func executingModules(thread *starlark.Thread) []string {
	var files []string
	for _, fr := range thread.CallStack() {
		if fr.Name == "<toplevel>" {
			files = append(files, filepath.Clean(fr.Pos.Filename()))
		}
	}
	return files
}

// cycleError describes loading target while it is already executing, e.g.
// "load cycle: a.star -> b.star -> a.star".
func cycleError(thread *starlark.Thread, target string) error {
	chain := executingModules(thread)
	if i := slices.Index(chain, target); i >= 0 {
		chain = chain[i:]
	}
	chain = append(chain, target)
	return fmt.Errorf("load cycle: %s", strings.Join(chain, " -> "))
}

// notFoundError names the path a load tried, keeping the read error for
// errors.Is(err, fs.ErrNotExist).
type notFoundError struct {
	path string
	err  error
}

func (e *notFoundError) Error() string { return "file not found: " + e.path }
func (e *notFoundError) Unwrap() error { return e.err }

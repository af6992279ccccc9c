package lxdstar

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/builtins"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// Runtime runs lxdstar scripts with a fixed configuration. It is not changed
// by running scripts, so one Runtime may run many scripts, concurrently too;
// each run is a Session of its own, with its own thread, module cache and
// lxd module. NewSession starts a longer session for code that runs piece
// by piece, as the REPL's statements do.
type Runtime struct {
	predeclared starlark.StringDict
	print       func(msg string)
	lxd         lxdmod.Config
	args        []string
	env         map[string]string // nil: the process environment
	readFile    func(path string) ([]byte, error)
	maxSteps    uint64
}

// An Option configures a Runtime.
type Option func(*Runtime)

// New returns a Runtime configured by opts. Without options, scripts print
// to os.Stdout, see the process environment in sys.env, read script and
// loaded files from the host file system, and lxd.Client() connects to the
// local LXD.
func New(opts ...Option) *Runtime {
	r := &Runtime{
		print:    func(msg string) { fmt.Fprintln(os.Stdout, msg) },
		readFile: os.ReadFile,
	}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// WithPredeclared adds names to the scripts' predeclared environment. They
// take precedence over the built-in names of the same name.
func WithPredeclared(d starlark.StringDict) Option {
	return func(r *Runtime) {
		if r.predeclared == nil {
			r.predeclared = make(starlark.StringDict, len(d))
		}
		maps.Copy(r.predeclared, d)
	}
}

// WithPrint sends the output of print to fn, one call per print without the
// trailing newline.
func WithPrint(fn func(msg string)) Option {
	return func(r *Runtime) { r.print = fn }
}

// WithStdout sends the output of print to w, one line per print.
func WithStdout(w io.Writer) Option {
	return WithPrint(func(msg string) { fmt.Fprintln(w, msg) })
}

// WithLXD sets the connection defaults of lxd.Client() (endpoint, project,
// certificates, timeouts, trace and progress output).
func WithLXD(cfg lxdmod.Config) Option {
	return func(r *Runtime) {
		shared := r.lxd.Client // keep a WithClient given before
		r.lxd = cfg
		if cfg.Client == nil {
			r.lxd.Client = shared
		}
	}
}

// WithArgs sets the script's arguments: sys.argv is the script's file name
// followed by args.
func WithArgs(args []string) Option {
	return func(r *Runtime) { r.args = append([]string(nil), args...) }
}

// WithEnv sets the environment a run sees: sys.env, and every variable
// lxd.Client() consults (socket discovery, the lxc and incus configuration
// directories, HOME) unless WithLXD's Config.Getenv is set. By default it is
// the process environment (sys.env: as it is at the start of each run).
func WithEnv(env map[string]string) Option {
	return func(r *Runtime) { r.env = maps.Clone(env) }
}

// WithReadFile makes the runtime read script files (RunFile) and loaded
// modules with fn instead of os.ReadFile.
func WithReadFile(fn func(path string) ([]byte, error)) Option {
	return func(r *Runtime) { r.readFile = fn }
}

// WithFS makes the runtime read script files (RunFile) and loaded modules
// from fsys; paths are then slash-separated and relative to its root.
func WithFS(fsys fs.FS) Option {
	return WithReadFile(builtins.ReadFS(fsys))
}

// WithMaxSteps bounds the Starlark computation steps of each run, loaded
// modules included; a run exceeding it fails with an error matching
// ErrMaxSteps. Zero means no limit. Time spent in builtins (LXD requests,
// time.sleep) is not counted: bound it with the context.
func WithMaxSteps(n uint64) Option {
	return func(r *Runtime) { r.maxSteps = n }
}

// WithClient gives scripts an existing connection: lxd.Client() called
// without endpoint, remote, cert, timeout or verify uses rc (sharing its
// connection pool) instead of dialling its own. Combine with WithLXD for the
// other defaults.
func WithClient(rc *rest.Client) Option {
	return func(r *Runtime) { r.lxd.Client = rc }
}

// Module returns the lxd module alone, with cfg as the defaults of
// lxd.Client(), for hosts that run Starlark with their own environment:
// predeclare its Value() as "lxd", and call its Wait when the script ends,
// so that operations started with wait=False are not abandoned and their
// failures not lost. Use one module per script run.
func Module(cfg lxdmod.Config) *lxdmod.Module {
	return lxdmod.New(cfg)
}

// RunFile reads the script at path (through WithReadFile or WithFS, if
// given) and runs it as Run does. An unreadable file is reported with the
// read error itself, not an *Error.
func (r *Runtime) RunFile(ctx context.Context, path string) (starlark.StringDict, error) {
	src, err := r.readFile(path)
	if err != nil {
		return nil, err
	}
	return r.Run(ctx, path, src)
}

// Run runs src as a script named filename (the name used in backtraces, in
// sys.argv[0] and to resolve relative loads) and returns its globals, frozen
// as Starlark's rules require. On failure the error is an *Error and the
// globals are those set before the failure (nil for a syntax error). The
// script runs in a session of its own, which ends with it.
//
// Cancelling ctx stops the script promptly, with an error for which
// errors.Is(err, context.Canceled) (or context.DeadlineExceeded) holds.
func (r *Runtime) Run(ctx context.Context, filename string, src []byte) (starlark.StringDict, error) {
	s := r.NewSession(ctx, filename)
	globals, err := s.execFile(ctx, filename, src)
	return globals, s.close(ctx, err)
}

// Eval evaluates a single expression (or, like Starlark's Eval, a file
// ending in an expression) in the scripts' environment and returns its
// value. Errors are as for Run.
func (r *Runtime) Eval(ctx context.Context, expr string) (starlark.Value, error) {
	const filename = "<expr>"
	s := r.NewSession(ctx, filename)
	var v starlark.Value
	err := s.exec(ctx, filename, func(thread *starlark.Thread) error {
		var err error
		v, err = starlark.EvalOptions(builtins.FileOptions(), thread, filename, expr, s.predeclared)
		return err
	})
	return v, s.close(ctx, err)
}

// predeclaredFor returns the predeclared names of a session whose script
// is filename, and its lxd module: the one place the scripts' environment
// is built.
func (r *Runtime) predeclaredFor(filename string) (starlark.StringDict, *lxdmod.Module) {
	argv := append([]string{filename}, r.args...)
	d := builtins.Predeclared(argv, r.env) // nil: the process environment
	cfg := r.lxd
	if cfg.Getenv == nil && r.env != nil {
		env := r.env
		cfg.Getenv = func(k string) string { return env[k] }
	}
	lxd := lxdmod.New(cfg)
	d["lxd"] = lxd.Value()
	maps.Copy(d, r.predeclared)
	return d, lxd
}

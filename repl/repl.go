// Package repl is lxdstar's interactive read-eval-print loop (API.md §4):
// `>>> ` / `... ` prompts with multi-line statements ending on a blank line,
// expression values printed with repr and kept in `_`, persistent history,
// Tab completion of names and attributes that never performs I/O, help(),
// exit(), and Ctrl-C that interrupts the running statement — a pure
// Starlark loop, an in-flight LXD request, an operation wait or an exec —
// and returns to the prompt with the globals intact.
//
// Each statement runs on a thread of its own whose context (threadctx.Set)
// is cancelled by an interrupt, next to one session context
// (threadctx.SetSession) that bounds background work for the whole REPL.
package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"sync/atomic"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/lxdstar/lxdstar/builtins"
	"github.com/lxdstar/lxdstar/internal/apidoc"
)

// Exit statuses Run returns besides those of exit(n) and sys.exit(n).
const (
	ExitOK          = 0
	ExitInterrupted = 130 // a statement ignored Ctrl-C and Ctrl-C was pressed again, or ctx ended
)

// Config describes a REPL session.
type Config struct {
	// Env is the predeclared environment (builtins.Predeclared plus lxd):
	// what help() lists and what modules loaded with load() see. The REPL
	// adds help, exit and the Lazy values.
	Env starlark.StringDict
	// Lazy are values created on first use, such as `client`.
	Lazy []Lazy
	// Globals are the starting globals (a script's, with -i). The REPL
	// works on unfrozen copies where it can (see Thawer).
	Globals starlark.StringDict
	// ReadFile reads modules for load(); nil reads host files.
	ReadFile func(path string) ([]byte, error)

	In       io.Reader
	Out, Err io.Writer
	// Terminal says In is the process's standard input and a terminal:
	// the line editor (raw mode on fd 0), completion and history are used.
	// Otherwise lines are read plainly, without prompts or history.
	Terminal bool
	// HistoryFile persists the terminal's history ("" = none);
	// HistoryLimit bounds it (default 1000 lines).
	HistoryFile  string
	HistoryLimit int
	// Interrupts delivers Ctrl-C (SIGINT) while a statement runs. The
	// caller owns signal delivery (signal.Notify) so that tests can
	// interrupt without signals. Nil: statements cannot be interrupted.
	Interrupts <-chan os.Signal
	// Banner is printed to Err when the terminal session starts.
	Banner string
}

// Lazy is a predeclared value made on first use: reading any attribute of
// the placeholder calls Init on the running statement's thread (so Ctrl-C
// interrupts it). Until then help and completion describe it from the
// registry entry DocKey without calling Init.
type Lazy struct {
	Name   string
	DocKey string // apidoc key of the value Init returns, e.g. "Client"
	Init   func(thread *starlark.Thread) (starlark.Value, error)
}

// Thawer is implemented by values that can return an unfrozen copy of
// themselves, so that a script's frozen globals (models) are editable in
// the REPL after -i.
type Thawer interface {
	Thaw() starlark.Value
}

// historyLimit is the default bound of the history file, in lines.
const historyLimit = 1000

// session is one run of the REPL.
type session struct {
	cfg  Config
	ctx  context.Context // the session: ends with Run
	opts *syntax.FileOptions
	load func(*starlark.Thread, string) (starlark.StringDict, error)
	docs *apidoc.Index
	env  starlark.StringDict // Env plus help, exit and the lazies: help() lists these
	lazy []*lazyValue

	// mu guards globals: statements change them on the statement
	// goroutine, completion reads them on the line editor's.
	mu      sync.Mutex
	globals starlark.StringDict

	// running is the thread of the statement being executed, for lazies.
	running atomic.Pointer[starlark.Thread]
}

// Run runs the REPL until exit(), Ctrl-D (end of input) or ctx ends, and
// returns the exit status: 0, the code given to exit()/sys.exit(), or
// ExitInterrupted.
func Run(ctx context.Context, cfg Config) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends background work tied to the session
	s := newSession(ctx, cfg)

	in, err := s.newInput()
	if err != nil {
		fmt.Fprintf(cfg.Err, "lxdstar: %v\n", err)
		return 1
	}
	defer in.Close()
	if cfg.Terminal && cfg.Banner != "" {
		fmt.Fprintln(cfg.Err, cfg.Banner)
	}
	for {
		f, src, err := s.read(in)
		switch {
		case errors.Is(err, errInterrupt):
			continue // the line editor showed ^C; start afresh
		case errors.Is(err, io.EOF):
			if ctx.Err() != nil {
				return ExitInterrupted
			}
			return ExitOK // the line editor has ended the line
		case err != nil:
			s.printError(err, src)
			continue
		}
		if len(f.Stmts) == 0 {
			continue
		}
		if code, exit := s.execute(f, src); exit {
			return code
		}
	}
}

func newSession(ctx context.Context, cfg Config) *session {
	if cfg.HistoryLimit == 0 {
		cfg.HistoryLimit = historyLimit
	}
	opts := builtins.FileOptions()
	// As go.starlark.net's REPL: load() in a chunk binds globals, so that
	// loaded names outlive the chunk.
	opts.LoadBindsGlobally = true
	s := &session{
		cfg:  cfg,
		ctx:  ctx,
		opts: opts,
		load: builtins.NewLoader(cfg.Env, cfg.ReadFile).Load,
	}
	s.env = make(starlark.StringDict, len(cfg.Env)+2+len(cfg.Lazy))
	for k, v := range cfg.Env {
		s.env[k] = v
	}
	s.env["help"] = starlark.NewBuiltin("help", s.help)
	s.env["exit"] = starlark.NewBuiltin("exit", replExit)
	for _, l := range cfg.Lazy {
		lv := &lazyValue{spec: l, running: s.running.Load}
		s.lazy = append(s.lazy, lv)
		s.env[l.Name] = lv
	}
	s.docs = apidoc.NewIndex(s.env)

	s.globals = make(starlark.StringDict, len(s.env)+len(cfg.Globals))
	for k, v := range s.env {
		s.globals[k] = v
	}
	memo := map[starlark.Value]starlark.Value{}
	for k, v := range cfg.Globals {
		s.globals[k] = thaw(v, memo)
	}
	return s
}

// read reads one chunk: a simple statement or expression on one line, or
// a compound statement (def, for, if, while) ending on a blank line. src
// holds the lines read, for error messages.
func (s *session) read(in input) (f *syntax.File, src []string, err error) {
	prompt := ">>> "
	var readErr error
	f, err = s.opts.ParseCompoundStmt("<stdin>", func() ([]byte, error) {
		line, err := in.ReadLine(prompt)
		prompt = "... "
		if err != nil {
			readErr = err
			return nil, err
		}
		src = append(src, line)
		return []byte(line + "\n"), nil
	})
	// The parser turns a read error into a syntax error: report the
	// read error itself.
	if readErr != nil {
		return nil, src, readErr
	}
	return f, src, err
}

// replExit is exit(code=0): leave the REPL. It fails like sys.exit, so
// catch() does not intercept it and the REPL ends with code.
func replExit(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	code := 0
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "code?", &code); err != nil {
		return nil, err
	}
	return nil, &builtins.ExitError{Code: code}
}

// predeclaredNames lists what help() shows, sorted.
func (s *session) predeclaredNames() []string {
	names := make([]string, 0, len(s.env))
	for k := range s.env {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

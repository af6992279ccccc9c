// Package repl is lxdstar's interactive read-eval-print loop (docs/guide.md,
// “The lxdstar command and the REPL”):
// `>>> ` / `... ` prompts with multi-line statements ending on a blank line,
// expression values printed with repr and kept in `_`, persistent history,
// Tab completion of names and attributes that never performs I/O, help(),
// exit(), and Ctrl-C that interrupts the running statement — a pure
// Starlark loop, an in-flight LXD request, an operation wait or an exec —
// and returns to the prompt with the globals intact.
//
// Statements run in an lxdstar.Session, in the environment scripts run in
// (plus help, exit and client): each on a thread of its own that an
// interrupt cancels, while the session's context bounds background work for
// the whole REPL.
package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/internal/apidoc"
)

// Exit statuses Run returns besides those of exit(n) and sys.exit(n).
const (
	ExitOK          = 0
	ExitInterrupted = 130 // a statement ignored Ctrl-C and Ctrl-C was pressed again, or ctx ended
)

// Config describes a REPL session.
type Config struct {
	// Session runs the statements: its runtime's environment (what help()
	// lists and what modules loaded with load() see) and its globals (a
	// script's, after `lxdstar -i`). The REPL adds help, exit and client,
	// a Client connected on first use, where the session has no global of
	// that name, and closes the session when it ends.
	Session *lxdstar.Session

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

// historyLimit is the default bound of the history file, in lines.
const historyLimit = 1000

// session is one run of the REPL.
type session struct {
	cfg  Config
	ctx  context.Context  // the session: ends with Run
	sess *lxdstar.Session // runs the statements
	docs *apidoc.Index
	env  starlark.StringDict // predeclared names plus help, exit and the lazies: help() lists these
	lazy []*lazyValue
}

// Run runs the REPL until exit(), Ctrl-D (end of input) or ctx ends, then
// closes cfg.Session, and returns the exit status: 0, the code given to
// exit()/sys.exit(), or ExitInterrupted.
func Run(ctx context.Context, cfg Config) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s := newSession(ctx, cfg)
	defer s.close()

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
	s := &session{cfg: cfg, ctx: ctx, sess: cfg.Session}
	s.env = s.sess.Predeclared()
	globals := s.sess.Globals()
	define := func(name string, v starlark.Value) {
		s.env[name] = v
		if !globals.Has(name) { // a script's own help, say, stays
			s.sess.SetGlobal(name, v)
		}
	}
	define("help", starlark.NewBuiltin("help", s.help))
	define("exit", starlark.NewBuiltin("exit", replExit))
	if lxd, ok := s.env["lxd"].(starlark.HasAttrs); ok {
		l := &lazyValue{spec: lazy{
			name:   "client",
			docKey: "Client",
			init: func(thread *starlark.Thread) (starlark.Value, error) {
				connect, err := lxd.Attr("Client")
				if err != nil {
					return nil, err
				}
				return starlark.Call(thread, connect, nil, nil)
			},
		}, running: s.sess.Thread}
		s.lazy = append(s.lazy, l)
		define(l.spec.name, l)
	}
	s.docs = apidoc.NewIndex(s.env)
	return s
}

// close ends the Starlark session with the REPL and prints what it
// reports; Ctrl-C interrupts what it waits for.
func (s *session) close() {
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	go func() {
		select {
		case <-s.cfg.Interrupts:
			cancel()
		case <-ctx.Done():
		}
	}()
	if err := s.sess.Close(ctx); err != nil {
		s.printError(err, nil)
	}
}

// read reads one chunk: a simple statement or expression on one line, or
// a compound statement (def, for, if, while) ending on a blank line. src
// holds the lines read, for error messages.
func (s *session) read(in input) (f *syntax.File, src []string, err error) {
	prompt := ">>> "
	var readErr error
	f, err = s.sess.ReadStmt("<stdin>", func() ([]byte, error) {
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
	return nil, &lxdstar.ExitError{Code: code}
}

// predeclaredNames lists what help() shows, sorted.
func (s *session) predeclaredNames() []string {
	return slices.Sorted(maps.Keys(s.env))
}

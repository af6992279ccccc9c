package repl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/lxdstar/lxdstar/builtins"
	"github.com/lxdstar/lxdstar/internal/threadctx"
)

// errInterrupted is the cause of a statement's context cancelled by Ctrl-C.
var errInterrupted = errors.New("interrupted")

// execute runs one parsed chunk and prints its value or error. exit is
// true when the REPL must end, with code.
//
// The chunk runs on a goroutine of its own with a fresh thread, so that
// the REPL stays responsive: the first Ctrl-C cancels the statement's
// context (stopping LXD requests, waits, sleeps and execs) and the thread
// (stopping pure Starlark loops); if the statement still does not return
// and Ctrl-C comes again, the REPL gives up and ends.
func (s *session) execute(f *syntax.File, src []string) (code int, exit bool) {
	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)
	thread := s.newThread(ctx)

	s.drainInterrupts() // a Ctrl-C from before this statement is not for it
	done := make(chan error, 1)
	go func() { done <- s.run(thread, f) }()

	interrupted := false
	for {
		select {
		case err := <-done:
			return s.finish(err, src)
		case <-s.cfg.Interrupts:
			if interrupted {
				fmt.Fprintln(s.cfg.Err, "lxdstar: the statement does not stop; leaving the REPL")
				return ExitInterrupted, true
			}
			interrupted = true
			cancel(errInterrupted)
			thread.Cancel(errInterrupted.Error())
			if s.cfg.Terminal {
				fmt.Fprintln(s.cfg.Err) // end the line the terminal echoed ^C on
			}
		case <-s.ctx.Done():
			// The session ends (its context was cancelled): stop the
			// statement, but do not wait for it.
			thread.Cancel(context.Cause(s.ctx).Error())
			return ExitInterrupted, true
		}
	}
}

// newThread prepares the thread of one statement: its own context, the
// session context for background work, load and print.
func (s *session) newThread(ctx context.Context) *starlark.Thread {
	thread := &starlark.Thread{
		Name:  "<stdin>",
		Print: func(_ *starlark.Thread, msg string) { fmt.Fprintln(s.cfg.Out, msg) },
		Load:  s.load,
	}
	threadctx.Set(thread, ctx)
	threadctx.SetSession(thread, s.ctx)
	return thread
}

// drainInterrupts discards pending interrupts.
func (s *session) drainInterrupts() {
	for {
		select {
		case <-s.cfg.Interrupts:
		default:
			return
		}
	}
}

// run executes the chunk on thread: an expression is evaluated, printed
// with repr and kept in _; anything else is executed for its effects.
func (s *session) run(thread *starlark.Thread, f *syntax.File) (err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.running.Store(thread)
	defer s.running.Store(nil)
	defer func() {
		// A builtin's bug must not take the whole session down.
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v\n%s", r, debug.Stack())
		}
		s.settleLazies()
	}()

	if len(f.Stmts) == 1 {
		if stmt, ok := f.Stmts[0].(*syntax.ExprStmt); ok {
			v, err := starlark.EvalExprOptions(f.Options, thread, stmt.X, s.globals)
			if err != nil {
				return err
			}
			// As Python: None is neither printed nor kept in _.
			if v != starlark.None {
				s.globals["_"] = v
				fmt.Fprintln(s.cfg.Out, v.String())
			}
			return nil
		}
	}
	return starlark.ExecREPLChunk(f, thread, s.globals)
}

// settleLazies replaces each lazy placeholder that has been initialised by
// its value, so that later statements pass the real value around (e.g. a
// Client to instance.migrate). Called with mu held.
func (s *session) settleLazies() {
	for _, l := range s.lazy {
		if v := l.loaded(); v != nil && s.globals[l.spec.Name] == l {
			s.globals[l.spec.Name] = v
		}
	}
}

// finish reports a statement's error and tells whether it ends the REPL.
func (s *session) finish(err error, src []string) (code int, exit bool) {
	if err == nil {
		return 0, false
	}
	var ee *builtins.ExitError
	if errors.As(err, &ee) {
		return ee.Code, true
	}
	s.printError(err, src)
	return 0, false
}

// printError prints err as a script failure is printed: a Starlark
// backtrace, or a syntax error with its source line and a caret.
func (s *session) printError(err error, src []string) {
	w := s.cfg.Err
	var evalErr *starlark.EvalError
	var synErr syntax.Error
	var resErrs resolve.ErrorList
	switch {
	case errors.As(err, &evalErr):
		fmt.Fprintln(w, evalErr.Backtrace())
	case errors.As(err, &synErr):
		printPositioned(s, synErr.Pos, synErr.Msg, src)
	case errors.As(err, &resErrs):
		for _, e := range resErrs {
			printPositioned(s, e.Pos, e.Msg, src)
		}
	default:
		fmt.Fprintln(w, "Error:", err)
	}
}

// printPositioned prints a syntax or resolution error of the chunk src.
func printPositioned(s *session, pos syntax.Position, msg string, src []string) {
	line := ""
	if pos.Line >= 1 && int(pos.Line) <= len(src) {
		line = src[pos.Line-1]
	}
	WritePositioned(s.cfg.Err, pos, msg, line)
}

// WritePositioned writes "pos: msg", then line (the source line at pos, ""
// when unknown) with a caret under pos's column. The CLI prints script
// errors with it too.
func WritePositioned(w io.Writer, pos syntax.Position, msg, line string) {
	fmt.Fprintf(w, "%s: %s\n", pos, msg)
	if line == "" {
		return
	}
	fmt.Fprintf(w, "    %s\n", line)
	if col := int(pos.Col); col >= 1 && col <= len(line)+1 {
		pad := []rune(line[:col-1])
		for i, r := range pad {
			if r != '\t' {
				pad[i] = ' '
			}
		}
		fmt.Fprintf(w, "    %s^\n", string(pad)) // tabs kept, so the caret lines up
	}
}

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

	"github.com/lxdstar/lxdstar"
)

// errInterrupted is the cause of a statement's context cancelled by Ctrl-C.
var errInterrupted = errors.New("interrupted")

// execute runs one parsed chunk and prints its value or error. exit is
// true when the REPL must end, with code.
//
// The chunk runs on a goroutine of its own, so that the REPL stays
// responsive: the first Ctrl-C cancels the statement's context, which
// stops it (LXD requests, waits, sleeps, execs and pure Starlark loops
// alike); if the statement still does not return and Ctrl-C comes again,
// the REPL gives up and ends.
func (s *session) execute(f *syntax.File, src []string) (code int, exit bool) {
	ctx, cancel := context.WithCancelCause(s.ctx)
	defer cancel(nil)

	s.drainInterrupts() // a Ctrl-C from before this statement is not for it
	done := make(chan error, 1)
	go func() { done <- s.run(ctx, f) }()

	interrupted := false
	for {
		select {
		case err := <-done:
			return s.outcome(err, src)
		case <-s.cfg.Interrupts:
			if interrupted {
				fmt.Fprintln(s.cfg.Err, "lxdstar: the statement does not stop; leaving the REPL")
				return ExitInterrupted, true
			}
			interrupted = true
			cancel(errInterrupted)
			if s.cfg.Terminal {
				fmt.Fprintln(s.cfg.Err) // end the line the terminal echoed ^C on
			}
		case <-s.ctx.Done():
			// The session ends (its context was cancelled, and with it
			// the statement's): do not wait for the statement.
			return ExitInterrupted, true
		}
	}
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

// run executes the chunk under ctx: an expression's value is printed with
// repr and kept in _; anything else is executed for its effects.
func (s *session) run(ctx context.Context, f *syntax.File) (err error) {
	defer func() {
		// A builtin's bug must not take the whole session down.
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v\n%s", r, debug.Stack())
		}
		s.settleLazies()
	}()
	v, err := s.sess.ExecStmt(ctx, f)
	if err != nil {
		return err
	}
	// As Python: None is neither printed nor kept in _.
	if v != starlark.None {
		s.sess.SetGlobal("_", v)
		fmt.Fprintln(s.cfg.Out, v.String())
	}
	return nil
}

// settleLazies replaces each lazy placeholder that has been initialised by
// its value, so that later statements pass the real value around (e.g. a
// Client to instance.migrate).
func (s *session) settleLazies() {
	for _, l := range s.lazy {
		if v := l.loaded(); v != nil && s.sess.Globals()[l.spec.name] == l {
			s.sess.SetGlobal(l.spec.name, v)
		}
	}
}

// outcome reports a statement's error and tells whether it ends the REPL.
func (s *session) outcome(err error, src []string) (code int, exit bool) {
	if err == nil {
		return 0, false
	}
	var ee *lxdstar.ExitError
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

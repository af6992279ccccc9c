package lxdstar

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/lxdstar/lxdstar/builtins"
	"github.com/lxdstar/lxdstar/internal/threadctx"
	"github.com/lxdstar/lxdstar/lxdmod"
)

// Session is one environment in which code runs piece by piece, keeping
// its globals between pieces: the REPL runs each statement in one, and
// `lxdstar -i` first runs its script there. Run, RunFile and Eval run a
// single script or expression in a session of its own, so every way of
// running code shares the same environment (the predeclared names, one lxd
// module, one module cache for load) and the same rules for threads,
// cancellation and the end of a run.
//
// A Session runs one piece of code at a time: ExecStmt, Exec and ExecFile
// wait for the one running. Close ends it.
type Session struct {
	rt          *Runtime
	ctx         context.Context // bounds background work; ends at Close
	cancel      context.CancelFunc
	predeclared starlark.StringDict
	lxd         *lxdmod.Module // keeps the operations code started with wait=False
	load        func(*starlark.Thread, string) (starlark.StringDict, error)
	stmtOpts    *syntax.FileOptions // the dialect of statements

	// running is the thread of the code running now, nil between runs.
	running atomic.Pointer[starlark.Thread]

	// mu is held while code runs, so that runs take turns; it guards
	// globals, which statements change.
	mu      sync.Mutex
	globals starlark.StringDict // the predeclared names, then what code set
}

// NewSession starts a session. script names the session's script:
// sys.argv is script followed by the runtime's WithArgs ("" for none, as in
// an interactive session). ctx bounds the background work that code leaves
// behind — watchers of operations started with wait=False, a Client's
// attribute reads — until Close, so that the session's objects stay usable
// from one piece of code to the next.
func (r *Runtime) NewSession(ctx context.Context, script string) *Session {
	ctx, cancel := context.WithCancel(ctx)
	predeclared, lxd := r.predeclaredFor(script)
	// As go.starlark.net's REPL: load() in a statement binds globals, so
	// that loaded names outlive the statement.
	stmtOpts := builtins.FileOptions()
	stmtOpts.LoadBindsGlobally = true
	return &Session{
		rt:          r,
		ctx:         ctx,
		cancel:      cancel,
		predeclared: predeclared,
		lxd:         lxd,
		load:        builtins.NewLoader(predeclared, r.readFile).Load,
		stmtOpts:    stmtOpts,
		globals:     maps.Clone(predeclared),
	}
}

// Predeclared returns the names predeclared in the session, those of every
// script of the runtime.
func (s *Session) Predeclared() starlark.StringDict {
	return maps.Clone(s.predeclared)
}

// Globals returns the names the next statement sees: the predeclared ones
// and those code has set since (a script's, with ExecFile). It waits for
// the code running, if any.
func (s *Session) Globals() starlark.StringDict {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.globals)
}

// SetGlobal binds name to v for the statements that follow. It waits for
// the code running, if any.
func (s *Session) SetGlobal(name string, v starlark.Value) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.globals[name] = v
}

// Thread returns the thread of the code running in the session, or nil
// between runs. It is for values that act on behalf of that code without
// being called, as Starlark passes no thread to an attribute read: the
// REPL's client connects on first use on the thread of the statement that
// uses it, so that interrupting the statement interrupts the connection.
// Use it only from within that code.
func (s *Session) Thread() *starlark.Thread {
	return s.running.Load()
}

// ExecFile runs src as a script named filename, as Run does, and returns
// its globals, frozen as Starlark's rules require. The session goes on
// with unfrozen copies of them (see Thawer), so that statements after the
// script can change them. Errors are as for Run; on failure the globals set
// before it are kept.
func (s *Session) ExecFile(ctx context.Context, filename string, src []byte) (starlark.StringDict, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	globals, err := s.execFile(ctx, filename, src)
	memo := map[starlark.Value]starlark.Value{}
	for k, v := range globals {
		s.globals[k] = thaw(v, memo)
	}
	return globals, s.finish(ctx, err, false)
}

// ReadStmt reads one statement as an interactive prompt does: it calls
// readLine for each line until the statement is complete — a simple
// statement on one line, a compound one (def, for, if, while) ending on a
// blank line — and parses it in the session's dialect; a blank line is an
// empty statement list. filename names it in errors and backtraces. The
// parser reports an error of readLine as a syntax error: a caller that
// needs the read error itself (io.EOF) records it.
func (s *Session) ReadStmt(filename string, readLine func() ([]byte, error)) (*syntax.File, error) {
	return s.stmtOpts.ParseCompoundStmt(filename, readLine)
}

// ExecStmt executes f, read by ReadStmt, with the session's globals. When
// f is a single expression, it returns the expression's value (an
// interactive prompt prints it), else None. Errors are as for Run; the
// globals set before a failure are kept.
func (s *Session) ExecStmt(ctx context.Context, f *syntax.File) (starlark.Value, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := starlark.Value(starlark.None)
	err := s.exec(ctx, f.Path, func(thread *starlark.Thread) error {
		if len(f.Stmts) == 1 {
			if stmt, ok := f.Stmts[0].(*syntax.ExprStmt); ok {
				var err error
				v, err = starlark.EvalExprOptions(f.Options, thread, stmt.X, s.globals)
				return err
			}
		}
		return starlark.ExecREPLChunk(f, thread, s.globals)
	})
	if err != nil {
		v = nil
	}
	return v, s.finish(ctx, err, false)
}

// Exec executes src, one or more statements named filename, as ExecStmt
// does.
func (s *Session) Exec(ctx context.Context, filename, src string) (starlark.Value, error) {
	f, err := s.stmtOpts.Parse(filename, src, 0)
	if err != nil {
		return nil, &Error{err: err}
	}
	return s.ExecStmt(ctx, f)
}

// Close ends the session: it settles what the session's code left behind
// (see finish) within ctx, then ends the session's background work. The
// error is what settling found. Close does not wait for code still running
// (a statement the REPL gave up on); its background work ends too.
func (s *Session) Close(ctx context.Context) error {
	return s.close(ctx, nil)
}

// close is Close for a run whose outcome is err.
func (s *Session) close(ctx context.Context, err error) error {
	err = s.finish(ctx, err, true)
	s.cancel()
	return err
}

// finish is where every run of code ends: each way of running code calls
// it once the code has stopped, with the run's error (nil on success), and
// returns the run's outcome. ExecFile and ExecStmt call it after a script
// or statement of a longer session (the script of `lxdstar -i`, each REPL
// statement); Run, RunFile and Eval when their script or expression ends,
// and Close when a session ends, with last set: nothing runs after that.
//
// Rules that hold at the end of a run belong here and nowhere else, so
// that scripts, the REPL and embedders all follow them.
//
// No failure is lost: operations the code started with wait=False and
// whose failure nobody has seen are reported here, each once: after a
// statement those that have failed so far, at the end of a run all of
// them, waited for (ctx interrupts that wait). They fail the run, or are
// added to its own error.
func (s *Session) finish(ctx context.Context, err error, last bool) error {
	var unwaited error
	if last {
		unwaited = s.lxd.Wait(ctx)
	} else {
		unwaited = s.lxd.Failed()
	}
	if unwaited == nil {
		return err
	}
	if err == nil {
		e := &Error{err: unwaited}
		if ctxErr := ctx.Err(); ctxErr != nil {
			e.extra = append(e.extra, ctxErr) // an interrupted final wait
		}
		return e
	}
	if e, ok := err.(*Error); ok {
		e.unwaited = unwaited
		return e
	}
	return &Error{err: err, unwaited: unwaited}
}

// execFile runs src as a script named filename and returns its globals,
// frozen.
func (s *Session) execFile(ctx context.Context, filename string, src []byte) (globals starlark.StringDict, err error) {
	err = s.exec(ctx, filename, func(thread *starlark.Thread) error {
		var err error
		globals, err = starlark.ExecFileOptions(builtins.FileOptions(), thread, filename, src, s.predeclared)
		return err
	})
	return globals, err
}

// exec prepares a thread for one run of code named name and calls body
// with it, turning its error into an *Error. It is the one place threads
// are made: their print, load, contexts, step limit and cancellation.
func (s *Session) exec(ctx context.Context, name string, body func(*starlark.Thread) error) error {
	r := s.rt
	// The run's own context ends with the run, so that nothing a builtin
	// tied to it outlives the code; what must (operation watchers, event
	// streams, a Client's attribute reads) is tied to the session's.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	thread := &starlark.Thread{
		Name:  name,
		Print: func(_ *starlark.Thread, msg string) { r.print(msg) },
		Load:  s.load,
	}
	threadctx.Set(thread, runCtx)
	threadctx.SetSession(thread, s.ctx)

	stepsExceeded := false
	if r.maxSteps > 0 {
		thread.SetMaxExecutionSteps(r.maxSteps)
		thread.OnMaxSteps = func(th *starlark.Thread) {
			stepsExceeded = true // read below, on this same goroutine
			th.Cancel(fmt.Sprintf("too many steps (limit %d)", r.maxSteps))
		}
	}

	// The interpreter checks for cancellation between steps; builtins
	// blocked in I/O watch runCtx, which ctx cancels too.
	interrupt := func() { thread.Cancel(context.Cause(ctx).Error()) }
	if ctx.Err() != nil {
		interrupt()
	}
	stop := context.AfterFunc(ctx, interrupt)
	defer stop()

	s.running.Store(thread)
	defer s.running.Store(nil)
	err := body(thread)
	if err == nil {
		return nil
	}
	e := &Error{err: err}
	if stepsExceeded {
		e.extra = append(e.extra, ErrMaxSteps)
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		e.extra = append(e.extra, ctxErr)
		if cause := context.Cause(ctx); cause != ctxErr {
			e.extra = append(e.extra, cause)
		}
	}
	return e
}

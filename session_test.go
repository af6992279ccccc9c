package lxdstar_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/internal/threadctx"
)

// newSession starts a session of rt that ends with the test.
func newSession(t *testing.T, rt *lxdstar.Runtime, script string) *lxdstar.Session {
	t.Helper()
	s := rt.NewSession(context.Background(), script)
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// exec runs src in s and returns its value's repr, failing the test on error.
func exec(t *testing.T, s *lxdstar.Session, src string) string {
	t.Helper()
	v, err := s.Exec(context.Background(), "<test>", src)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return v.String()
}

func TestSessionStatementsKeepGlobals(t *testing.T) {
	s := newSession(t, lxdstar.New(), "")
	for _, tc := range []struct{ src, want string }{
		{"x = 6 * 7", "None"},
		{"def double(n):\n    return 2 * n\n", "None"},
		{"items = [x]", "None"},
		{"items.append(double(x))", "None"},
		{"x", "42"},
		{"items", "[42, 84]"},
		{"x = x + 1; y = x", "None"},
		{"y", "43"},
		{"for i in range(3):\n    y += i\n", "None"},
		{"y", "46"},
		{"None", "None"},
	} {
		if got := exec(t, s, tc.src); got != tc.want {
			t.Errorf("%q = %s, want %s", tc.src, got, tc.want)
		}
	}
	g := s.Globals()
	if g["x"] != starlark.MakeInt(43) || g["double"] == nil || g["lxd"] == nil {
		t.Errorf("Globals() = %v", g)
	}
	// Globals is a copy; SetGlobal binds for the statements that follow.
	g["x"] = starlark.None
	s.SetGlobal("z", starlark.String("set"))
	if got := exec(t, s, "(x, z)"); got != `(43, "set")` {
		t.Errorf("(x, z) = %s", got)
	}
}

func TestSessionErrorsKeepGlobals(t *testing.T) {
	s := newSession(t, lxdstar.New(), "")
	exec(t, s, "a = 1")
	for _, tc := range []struct{ src, want string }{
		{"b = 2; c = 1 // 0", "floored division by zero"},
		{"fail('no')", "fail: no"},
		{"a = (", "got end of file"},
		{"d = undefined_name", "undefined: undefined_name"},
	} {
		_, err := s.Exec(context.Background(), "<test>", tc.src)
		var se *lxdstar.Error
		if !errors.As(err, &se) || !strings.Contains(se.Backtrace(), tc.want) {
			t.Errorf("%q: err = %v, want an *Error with %q", tc.src, err, tc.want)
		}
	}
	// What ran before the failure stays, nothing after it does.
	if got := exec(t, s, "[a, b]"); got != "[1, 2]" {
		t.Errorf("globals after errors: %s", got)
	}
	if g := s.Globals(); g.Has("c") || g.Has("d") {
		t.Errorf("failed statements bound names: %v", g)
	}
	_, err := s.Exec(context.Background(), "<test>", "sys.exit(3)")
	var exit *lxdstar.ExitError
	if !errors.As(err, &exit) || exit.Code != 3 {
		t.Errorf("sys.exit(3): err = %v", err)
	}
	if got := exec(t, s, "a + b"); got != "3" {
		t.Errorf("after sys.exit: %s", got)
	}
}

func TestSessionCancelStatementKeepsGlobals(t *testing.T) {
	s := newSession(t, lxdstar.New(), "")
	exec(t, s, "x = 41")
	for _, src := range []string{"while True: pass", "time.sleep(30)", "x = 0\nwhile True: catch(time.sleep, 30)"} {
		ctx, cancel := context.WithCancelCause(context.Background())
		interrupted := errors.New("interrupted")
		time.AfterFunc(50*time.Millisecond, func() { cancel(interrupted) })
		start := time.Now()
		_, err := s.Exec(ctx, "<test>", src)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%q: stopped after %v", src, d)
		}
		var se *lxdstar.Error
		if !errors.As(err, &se) || !errors.Is(err, context.Canceled) || !errors.Is(err, interrupted) {
			t.Errorf("%q: err = %v, want a cancelled *Error naming the cause", src, err)
		}
		exec(t, s, "x = 41")
	}
	if got := exec(t, s, "x + 1"); got != "42" {
		t.Errorf("x + 1 = %s", got)
	}
}

func TestSessionEnvironmentIsAScriptsEnvironment(t *testing.T) {
	rt := lxdstar.New(
		lxdstar.WithPredeclared(starlark.StringDict{"greeting": starlark.String("hi")}),
		lxdstar.WithArgs([]string{"a"}),
		lxdstar.WithEnv(map[string]string{"K": "v"}),
	)
	s := newSession(t, rt, "main.star")
	names := make([]string, 0)
	for name := range s.Predeclared() {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{"catch", "greeting", "json", "lxd", "math", "read_file", "struct", "sys", "table", "time", "write_file", "yaml"}
	if !slices.Equal(names, want) {
		t.Errorf("Predeclared() = %q, want %q", names, want)
	}
	// A script of the same runtime sees the same names with the same
	// values; its statements see what the script defined, and the script's
	// lxd module is the session's.
	const probe = "[sys.argv, sys.env, greeting, type(lxd), type(catch), type(read_file), time.sleep != None]"
	script := "probe = " + probe + "\nm = lxd\n" + "names = [" + strings.Join(names, ", ") + "]\n"
	g, err := rt.Run(context.Background(), "main.star", []byte(script))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExecFile(context.Background(), "main.star", []byte(script)); err != nil {
		t.Fatal(err)
	}
	if got := exec(t, s, probe); got != g["probe"].String() {
		t.Errorf("a statement sees %s, the script saw %s", got, g["probe"])
	}
	if got := exec(t, s, "[probe == "+probe+", m == lxd]"); got != "[True, True]" {
		t.Errorf("statements after the script: %s", got)
	}
	// The REPL's own names are not part of it.
	for _, name := range []string{"help", "exit", "client"} {
		if _, err := rt.Eval(context.Background(), name); err == nil || !strings.Contains(err.Error(), "undefined") {
			t.Errorf("%s is predeclared: %v", name, err)
		}
	}
}

func TestSessionExecFileThawsGlobals(t *testing.T) {
	s := newSession(t, lxdstar.New(), "setup.star")
	g, err := s.ExecFile(context.Background(), "setup.star", []byte("l = [1]\nd = {'l': l}\nst = struct(items = l)\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := g["l"].(*starlark.List).Append(starlark.None); err == nil {
		t.Error("the script's globals are not frozen")
	}
	exec(t, s, "l.append(2)\nd['n'] = 1\nst.items.append(3)\n")
	// Shared structure stays shared: st.items and d["l"] are the list l.
	if got := exec(t, s, "[l, d, st.items]"); got != `[[1, 2, 3], {"l": [1, 2, 3], "n": 1}, [1, 2, 3]]` {
		t.Errorf("after changes: %s", got)
	}
	if g["l"].(*starlark.List).Len() != 1 {
		t.Error("the script's own list changed")
	}

	// A failing script keeps what it set before the failure.
	_, err = s.ExecFile(context.Background(), "bad.star", []byte("kept = 1\nfail('bad')\nlost = 2\n"))
	if err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("err = %v", err)
	}
	if got := exec(t, s, "kept"); got != "1" || s.Globals().Has("lost") {
		t.Errorf("after a failed script: kept = %s, lost: %v", got, s.Globals().Has("lost"))
	}
}

func TestSessionContexts(t *testing.T) {
	type ctxs struct{ run, session context.Context }
	var got []ctxs
	grab := starlark.NewBuiltin("grab", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		got = append(got, ctxs{threadctx.From(thread), threadctx.Session(thread)})
		return starlark.None, nil
	})
	rt := lxdstar.New(lxdstar.WithPredeclared(starlark.StringDict{"grab": grab}))
	s := rt.NewSession(context.Background(), "")
	exec(t, s, "grab()")
	exec(t, s, "grab()")
	if got[0].run.Err() == nil || got[1].run.Err() == nil {
		t.Error("a statement's context outlives it")
	}
	if got[0].session != got[1].session || got[0].session.Err() != nil {
		t.Error("statements do not share a live session context")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got[0].session.Err() == nil {
		t.Error("the session context outlives Close")
	}

	// A script run alone ends its session with it.
	got = nil
	if _, err := rt.Run(context.Background(), "x.star", []byte("grab()")); err != nil {
		t.Fatal(err)
	}
	if got[0].session.Err() == nil {
		t.Error("Run left its session context alive")
	}
}

func TestSessionThread(t *testing.T) {
	var s *lxdstar.Session
	same := starlark.NewBuiltin("same", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		return starlark.Bool(s.Thread() == thread), nil
	})
	s = newSession(t, lxdstar.New(lxdstar.WithPredeclared(starlark.StringDict{"same": same})), "")
	if s.Thread() != nil {
		t.Error("a thread before any statement")
	}
	if got := exec(t, s, "same()"); got != "True" {
		t.Errorf("Thread() inside a statement: %s", got)
	}
	if s.Thread() != nil {
		t.Error("a thread after the statement")
	}
}

func TestSessionLoadBindsGlobalsAndCaches(t *testing.T) {
	reads := 0
	rt := lxdstar.New(lxdstar.WithReadFile(func(path string) ([]byte, error) {
		reads++
		return []byte("items = [1]\ndef add(x):\n    return items + [x]\n"), nil
	}), lxdstar.WithMaxSteps(100000))
	s := newSession(t, rt, "")
	exec(t, s, `load("lib.star", "add")`)
	exec(t, s, `load("lib.star", "items")`)
	if got := exec(t, s, "[items, add(2)]"); got != "[[1], [1, 2]]" {
		t.Errorf("loaded names: %s", got)
	}
	if reads != 1 {
		t.Errorf("lib.star read %d times, want once for the session", reads)
	}
	// The step limit holds per statement, not for the whole session.
	for i := 0; i < 3; i++ {
		exec(t, s, "x = [i for i in range(10000)]")
	}
	if _, err := s.Exec(context.Background(), "<test>", "while True: pass"); !errors.Is(err, lxdstar.ErrMaxSteps) {
		t.Errorf("err = %v, want ErrMaxSteps", err)
	}
}

func TestSessionReadStmt(t *testing.T) {
	s := newSession(t, lxdstar.New(), "")
	lines := []string{"for i in range(2):", "    n = i", "", "after = 1"}
	read := func() ([]byte, error) {
		l := lines[0]
		lines = lines[1:]
		return []byte(l + "\n"), nil
	}
	f, err := s.ReadStmt("<stdin>", read)
	if err != nil || len(f.Stmts) != 1 || len(lines) != 1 {
		t.Fatalf("ReadStmt: %v, %d statements, %d lines left", err, len(f.Stmts), len(lines))
	}
	if v, err := s.ExecStmt(context.Background(), f); err != nil || v != starlark.None {
		t.Fatalf("ExecStmt: %v, %v", v, err)
	}
	if got := exec(t, s, "n"); got != "1" {
		t.Errorf("n = %s", got)
	}
}

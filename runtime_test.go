package lxdstar_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/lxdmod"
)

// fakeErr stands for the LXD client's errors: found by its Kinds method.
type fakeErr struct{ status int }

func (e *fakeErr) Error() string   { return "NotFound: Instance not found" }
func (e *fakeErr) Kinds() []string { return []string{"NotFound", "LXDAPIException"} }
func (e *fakeErr) HTTPStatus() int { return e.status }

func failing() starlark.StringDict {
	return starlark.StringDict{
		"get": starlark.NewBuiltin("get", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return nil, &fakeErr{404}
		}),
	}
}

func TestRunReturnsFrozenGlobals(t *testing.T) {
	g, err := lxdstar.New().Run(context.Background(), "main.star", []byte(`
x = 1 + 2
items = [x]
def f(): return x
`))
	if err != nil {
		t.Fatal(err)
	}
	if g["x"] != starlark.MakeInt(3) || g["f"] == nil {
		t.Fatalf("globals = %v", g)
	}
	if err := g["items"].(*starlark.List).Append(starlark.None); err == nil {
		t.Error("globals are not frozen")
	}
	for _, name := range []string{"lxd", "catch", "sys", "json"} {
		if g.Has(name) {
			t.Errorf("globals include predeclared %s", name)
		}
	}
}

func TestPrintSinks(t *testing.T) {
	var got []string
	rt := lxdstar.New(lxdstar.WithPrint(func(msg string) { got = append(got, msg) }))
	if _, err := rt.Run(context.Background(), "p.star", []byte(`print("a", 1); print("b")`)); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "a 1|b" {
		t.Errorf("print got %q", got)
	}

	var buf bytes.Buffer
	rt = lxdstar.New(lxdstar.WithStdout(&buf))
	if _, err := rt.Run(context.Background(), "p.star", []byte(`print("x")`)); err != nil {
		t.Fatal(err)
	}
	if buf.String() != "x\n" {
		t.Errorf("stdout = %q", buf.String())
	}
}

func TestPredeclaredArgsEnv(t *testing.T) {
	rt := lxdstar.New(
		lxdstar.WithPredeclared(starlark.StringDict{"greeting": starlark.String("hi")}),
		lxdstar.WithPredeclared(starlark.StringDict{"n": starlark.MakeInt(2)}),
		lxdstar.WithArgs([]string{"a", "b"}),
		lxdstar.WithEnv(map[string]string{"K": "v"}),
	)
	g, err := rt.Run(context.Background(), "s.star", []byte(`
msg = greeting * n
argv = sys.argv
env = sys.env
has_lxd = type(lxd)
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"msg":     `"hihi"`,
		"argv":    `["s.star", "a", "b"]`,
		"env":     `{"K": "v"}`,
		"has_lxd": `"module"`,
	} {
		if got := g[name].String(); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
}

func TestRunFileFromFS(t *testing.T) {
	fsys := fstest.MapFS{
		"scripts/main.star":       {Data: []byte(`load("lib/util.star", "double")` + "\nr = double(21)\n")},
		"scripts/lib/util.star":   {Data: []byte(`load("consts.star", "two")` + "\ndef double(x): return x * two\n")},
		"scripts/lib/consts.star": {Data: []byte("two = 2\n")},
		"scripts/unrelated.star":  {Data: []byte("fail()\n")},
	}
	g, err := lxdstar.New(lxdstar.WithFS(fsys)).RunFile(context.Background(), "scripts/main.star")
	if err != nil {
		t.Fatal(err)
	}
	if g["r"] != starlark.MakeInt(42) {
		t.Errorf("r = %v", g["r"])
	}
}

func TestRunFileMissing(t *testing.T) {
	_, err := lxdstar.New().RunFile(context.Background(), t.TempDir()+"/absent.star")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
	var se *lxdstar.Error
	if errors.As(err, &se) {
		t.Errorf("a missing file is reported as a script error")
	}
}

// cancelAfter runs src and cancels its context after d; it checks that the
// run ends with context.Canceled soon after the cancel (ten seconds: the
// scripts loop forever, so only the cancel ends them, and a loaded -race run
// must not make this fail).
func cancelAfter(t *testing.T, src string, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(d, cancel)
	start := time.Now()
	_, err := lxdstar.New().Run(ctx, "loop.star", []byte(src))
	if took := time.Since(start) - d; took > 10*time.Second {
		t.Errorf("stopped %v after the cancel", took)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	var se *lxdstar.Error
	if !errors.As(err, &se) {
		t.Errorf("err = %T, want *lxdstar.Error", err)
	}
}

func TestCancelBusyLoop(t *testing.T) {
	cancelAfter(t, "while True: pass", 100*time.Millisecond)
}

func TestCancelSleep(t *testing.T) {
	cancelAfter(t, "time.sleep(30)", 100*time.Millisecond)
}

func TestCancelCaughtSleep(t *testing.T) {
	cancelAfter(t, "while True: catch(time.sleep, 30)", 100*time.Millisecond)
}

func TestAlreadyCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := lxdstar.New().Run(ctx, "x.star", []byte("while True: pass"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := lxdstar.New().Run(ctx, "x.star", []byte("time.sleep(30)"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
}

func TestMaxSteps(t *testing.T) {
	rt := lxdstar.New(lxdstar.WithMaxSteps(10000))
	_, err := rt.Run(context.Background(), "x.star", []byte("while True: pass"))
	if !errors.Is(err, lxdstar.ErrMaxSteps) {
		t.Errorf("err = %v, want ErrMaxSteps", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Errorf("a step limit is reported as a cancelled context")
	}
	if _, err := rt.Run(context.Background(), "x.star", []byte("x = [i for i in range(100)]")); err != nil {
		t.Errorf("small script: %v", err)
	}
	// The limit holds inside loaded modules.
	rt = lxdstar.New(lxdstar.WithMaxSteps(10000), lxdstar.WithFS(fstest.MapFS{
		"spin.star": {Data: []byte("while True: pass\n")},
	}))
	_, err = rt.Run(context.Background(), "main.star", []byte(`load("spin.star", "x")`))
	if !errors.Is(err, lxdstar.ErrMaxSteps) {
		t.Errorf("loaded module: err = %v, want ErrMaxSteps", err)
	}
}

func TestErrorBacktraceAndUnwrap(t *testing.T) {
	rt := lxdstar.New(lxdstar.WithPredeclared(failing()))
	_, err := rt.Run(context.Background(), "deploy.star", []byte(`
def fetch(name):
    return get(name)
x = fetch("nope")
`))
	var se *lxdstar.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %T %v", err, err)
	}
	var fe *fakeErr
	if !errors.As(err, &fe) || fe.status != 404 {
		t.Errorf("errors.As to the builtin's error failed: %v", err)
	}
	if se.Error() != "NotFound: Instance not found" {
		t.Errorf("Error() = %q", se.Error())
	}
	bt := se.Backtrace()
	for _, want := range []string{
		"Traceback (most recent call last):",
		"deploy.star:4:10: in <toplevel>",
		"deploy.star:3:15: in fetch",
		"Error in get: NotFound: Instance not found",
	} {
		if !strings.Contains(bt, want) {
			t.Errorf("backtrace lacks %q:\n%s", want, bt)
		}
	}
	if errors.Is(err, context.Canceled) {
		t.Error("errors.Is(err, context.Canceled) without a cancel")
	}
}

func TestErrorInLoadedModule(t *testing.T) {
	rt := lxdstar.New(lxdstar.WithFS(fstest.MapFS{
		"lib/bad.star": {Data: []byte("x = 1\nfail(\"broken\")\n")},
	}))
	_, err := rt.Run(context.Background(), "main.star", []byte(`load("lib/bad.star", "x")`))
	var se *lxdstar.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %v", err)
	}
	bt := se.Backtrace()
	for _, want := range []string{"main.star:1:1: in <toplevel>", "lib/bad.star:2:5: in <toplevel>", "Error in fail: cannot load lib/bad.star: fail: broken"} {
		if !strings.Contains(bt, want) {
			t.Errorf("backtrace lacks %q:\n%s", want, bt)
		}
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := lxdstar.New().Run(context.Background(), "bad.star", []byte("x = (\n"))
	var se *lxdstar.Error
	if !errors.As(err, &se) {
		t.Fatalf("err = %T %v", err, err)
	}
	if se.CallStack() != nil || !strings.Contains(se.Backtrace(), "bad.star:") {
		t.Errorf("backtrace = %q", se.Backtrace())
	}
	_, err = lxdstar.New().Run(context.Background(), "bad.star", []byte("y = undefined_name\n"))
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "undefined") {
		t.Errorf("err = %v", err)
	}
}

func TestSysExit(t *testing.T) {
	for src, code := range map[string]int{"sys.exit(3)": 3, "sys.exit(0)": 0, "sys.exit()": 0, "catch(sys.exit, 4)": 4} {
		_, err := lxdstar.New().Run(context.Background(), "x.star", []byte(src))
		var exit *lxdstar.ExitError
		if !errors.As(err, &exit) || exit.Code != code {
			t.Errorf("%s: err = %v, want exit %d", src, err, code)
		}
	}
	// From a loaded module too.
	rt := lxdstar.New(lxdstar.WithFS(fstest.MapFS{"quit.star": {Data: []byte("sys.exit(5)\n")}}))
	_, err := rt.Run(context.Background(), "main.star", []byte(`load("quit.star", "x")`))
	var exit *lxdstar.ExitError
	if !errors.As(err, &exit) || exit.Code != 5 {
		t.Errorf("loaded sys.exit: err = %v", err)
	}
}

func TestEval(t *testing.T) {
	rt := lxdstar.New(lxdstar.WithPredeclared(starlark.StringDict{"n": starlark.MakeInt(20)}))
	v, err := rt.Eval(context.Background(), "n * 2 + len(sys.argv)")
	if err != nil {
		t.Fatal(err)
	}
	if v != starlark.MakeInt(41) {
		t.Errorf("v = %v", v)
	}
	if _, err := rt.Eval(context.Background(), "1 // 0"); err == nil {
		t.Error("no error")
	}
}

func TestModule(t *testing.T) {
	v := lxdstar.Module(lxdmod.Config{}).Value()
	if v.Type() != "module" || !strings.Contains(v.String(), "lxd") {
		t.Errorf("Module = %s %s", v.Type(), v)
	}
}

func TestConcurrentRuns(t *testing.T) {
	rt := lxdstar.New(lxdstar.WithPrint(func(string) {}))
	errs := make(chan error)
	for i := 0; i < 4; i++ {
		go func() {
			_, err := rt.Run(context.Background(), "c.star", []byte("x = [i*i for i in range(1000)]\nprint(len(x))"))
			errs <- err
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

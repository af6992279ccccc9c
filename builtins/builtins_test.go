package builtins

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/lxdstar/lxdstar/internal/threadctx"
)

// kindErr mimics the LXD client's errors: a kind hierarchy and a status.
type kindErr struct {
	kinds  []string
	status int
	msg    string
}

func (e *kindErr) Error() string   { return e.kinds[0] + ": " + e.msg }
func (e *kindErr) Kinds() []string { return e.kinds }
func (e *kindErr) HTTPStatus() int { return e.status }
func notFound() *kindErr {
	return &kindErr{[]string{"NotFound", "LXDAPIException"}, 404, "Instance not found"}
}
func newThread(ctx context.Context) *starlark.Thread {
	th := &starlark.Thread{Name: "test"}
	threadctx.Set(th, ctx)
	return th
}

// env is the predeclared environment of the tests: the builtins plus
// helpers to raise a kinded error.
func env() starlark.StringDict {
	d := Predeclared([]string{"script.star", "a", "b"}, map[string]string{"HOME": "/root", "X": "1"})
	d["boom"] = starlark.NewBuiltin("boom", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		return nil, notFound()
	})
	return d
}

// exec runs src as main.star on a new thread with the test environment and
// a loader over files; it returns the globals, the error and what print wrote.
func exec(t *testing.T, ctx context.Context, src string, files map[string]string) (starlark.StringDict, error, string) {
	t.Helper()
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	th := newThread(ctx)
	var out strings.Builder
	th.Print = func(_ *starlark.Thread, msg string) { out.WriteString(msg + "\n") }
	predeclared := env()
	th.Load = NewLoader(predeclared, ReadFS(fsys)).Load
	g, err := starlark.ExecFileOptions(FileOptions(), th, "main.star", src, predeclared)
	return g, err, out.String()
}

func mustExec(t *testing.T, src string) (starlark.StringDict, string) {
	t.Helper()
	g, err, out := exec(t, context.Background(), src, nil)
	if err != nil {
		if ee, ok := err.(*starlark.EvalError); ok {
			t.Fatalf("script failed:\n%s", ee.Backtrace())
		}
		t.Fatalf("script failed: %v", err)
	}
	return g, out
}

func TestDialect(t *testing.T) {
	mustExec(t, `
def fact(n):
    return 1 if n <= 1 else n * fact(n - 1)
x = 0
x = 1                      # global reassignment
s = set([1, 2, 2])
i = 0
while i < 3:               # while at top level
    i += 1
for k in range(2):         # top-level for
    if k: x = fact(5)
if x != 120 or len(s) != 2 or i != 3: fail(x, s, i)
`)
}

func TestPredeclaredDoesNotTouchUniverse(t *testing.T) {
	for _, name := range []string{"catch", "json", "time", "math", "struct", "read_file", "write_file", "sys", "yaml", "table"} {
		if starlark.Universe.Has(name) {
			t.Errorf("starlark.Universe has %s", name)
		}
		if !env().Has(name) {
			t.Errorf("Predeclared lacks %s", name)
		}
	}
}

func TestLibraries(t *testing.T) {
	mustExec(t, `
if json.decode(json.encode({"a": [1]})) != {"a": [1]}: fail("json")
if math.floor(2.5) != 2: fail("math")
if time.second * 2 != time.parse_duration("2s"): fail("time")
if type(time.now()) != "time.time": fail("time.now")
s = struct(a=1, b="x")
if s.a != 1 or s.b != "x": fail("struct")
`)
}

func TestCatchSuccess(t *testing.T) {
	_, out := mustExec(t, `
r = catch(lambda a, b=0: a + b, 1, b=2)
if not r or r.value != 3 or r.error != None: fail(r)
v, err = catch(len, "abc")
if v != 3 or err != None: fail(v, err)
print(r)
`)
	if out != "Result(value=3)\n" {
		t.Errorf("print(result) = %q", out)
	}
}

func TestCatchKindedError(t *testing.T) {
	_, out := mustExec(t, `
def get(name):
    return boom(name)
r = catch(get, "nope")
if r: fail("truthy on error")
e = r.error
if e.kind != "NotFound": fail("kind", e.kind)
if e.kinds != ["NotFound", "LXDAPIException"]: fail("kinds", e.kinds)
if e.status_code != 404: fail("status", e.status_code)
if e.message != "Instance not found": fail("message", e.message)
if not e.is_a("NotFound") or not e.is_a("LXDAPIException") or not e.is_a("Error"): fail("is_a")
if e.is_a("Conflict"): fail("is_a Conflict")
v, err = catch(get, "nope")
if v != None or err.kind != "NotFound": fail(v, err)
print(str(e))
for x in r: print(type(x))
print(len(r), r[1].kind)
`)
	want := "NotFound: Instance not found\nNoneType\nError\n2 NotFound\n"
	if out != want {
		t.Errorf("output = %q, want %q", out, want)
	}
}

func TestCatchPlainErrors(t *testing.T) {
	mustExec(t, `
e = catch(fail, "boom").error
if e.kind != "Error" or e.status_code != None or e.message != "fail: boom": fail(e.kind, e.message)
if str(e) != "Error: fail: boom": fail(str(e))
if not e.is_a("Error") or e.is_a("NotFound"): fail("is_a")
e = catch(len).error   # a bad argument
if e.kind != "Error" or "len" not in e.message: fail(e.message)
e = catch(lambda: {}["k"]).error
if e.kind != "Error" or "key" not in e.message: fail(e.message)
`)
}

func TestCatchValueFailsWithTheError(t *testing.T) {
	_, err, _ := exec(t, context.Background(), `
r = catch(boom)
x = r.value
`, nil)
	var k *kindErr
	if !errors.As(err, &k) {
		t.Fatalf("errors.As(%v, *kindErr) = false", err)
	}
	ee := err.(*starlark.EvalError)
	if ee.Msg != "NotFound: Instance not found" {
		t.Errorf("message = %q", ee.Msg)
	}
	// The backtrace points at the read of .value.
	if got := ee.CallStack.At(0).Pos.Line; got != 3 {
		t.Errorf("error at line %d, want 3:\n%s", got, ee.Backtrace())
	}
}

func TestCatchBadCalls(t *testing.T) {
	for _, src := range []string{"catch()", "catch(1)"} {
		if _, err, _ := exec(t, context.Background(), src, nil); err == nil {
			t.Errorf("%s: no error", src)
		}
	}
}

func TestCatchDoesNotSwallowThreadCancel(t *testing.T) {
	th := newThread(context.Background())
	var out strings.Builder
	th.Print = func(_ *starlark.Thread, msg string) { out.WriteString(msg) }
	time.AfterFunc(50*time.Millisecond, func() { th.Cancel("stop") })
	_, err := starlark.ExecFileOptions(FileOptions(), th, "main.star", `
def spin():
    while True:
        pass
r = catch(spin)
print("swallowed", r)
`, env())
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Fatalf("err = %v, want cancellation", err)
	}
	if out.Len() > 0 {
		t.Errorf("catch swallowed the cancellation: %s", out.String())
	}
}

func TestCatchDoesNotSwallowContextCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err, out := exec(t, ctx, `
r = catch(time.sleep, 30)
print("swallowed", r)
`, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled in chain", err)
	}
	if out != "" {
		t.Errorf("catch swallowed the cancellation: %s", out)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("took %v", d)
	}
}

func TestCatchDoesNotSwallowMaxSteps(t *testing.T) {
	th := newThread(context.Background())
	th.SetMaxExecutionSteps(10000)
	_, err := starlark.ExecFileOptions(FileOptions(), th, "main.star", `
def spin():
    while True:
        pass
r = catch(spin)
r = catch(spin)
fail("swallowed")
`, env())
	if err == nil || !strings.Contains(err.Error(), "too many steps") {
		t.Fatalf("err = %v, want too many steps", err)
	}
}

func TestCatchDoesNotSwallowExit(t *testing.T) {
	_, err, out := exec(t, context.Background(), `
r = catch(sys.exit, 3)
print("swallowed")
`, nil)
	var exit *ExitError
	if !errors.As(err, &exit) || exit.Code != 3 {
		t.Fatalf("err = %v, want ExitError 3", err)
	}
	if out != "" {
		t.Errorf("catch swallowed sys.exit")
	}
}

func TestSleep(t *testing.T) {
	start := time.Now()
	mustExec(t, `
time.sleep(0.05)
time.sleep(0)
time.sleep(time.millisecond)
for bad in [-1, "1", None]:
    if catch(time.sleep, bad): fail("accepted", bad)
`)
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("slept only %v", d)
	}
}

func TestSleepCancelledByContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	th := newThread(ctx)
	sleepFn := env()["time"].(starlark.HasAttrs)
	fn, _ := sleepFn.Attr("sleep")
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	_, err := starlark.Call(th, fn, starlark.Tuple{starlark.MakeInt(30)}, nil)
	if d := time.Since(start); d > 20*time.Millisecond+100*time.Millisecond {
		t.Errorf("sleep returned %v after the cancel", d-20*time.Millisecond)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled in chain", err)
	}
	var k interface{ Kinds() []string }
	if !errors.As(err, &k) || k.Kinds()[0] != "Cancelled" {
		t.Errorf("err = %v, want kind Cancelled", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = starlark.Call(newThread(ctx), fn, starlark.Tuple{starlark.MakeInt(30)}, nil)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "Timeout:") {
		t.Errorf("err = %v, want a Timeout", err)
	}
}

func TestTimeModuleIsACopy(t *testing.T) {
	tm := env()["time"].(starlark.HasAttrs)
	for _, name := range []string{"sleep", "now", "parse_time", "second"} {
		if v, _ := tm.Attr(name); v == nil {
			t.Errorf("time.%s missing", name)
		}
	}
	if starlarktime.Module.Members.Has("sleep") {
		t.Error("lib/time's shared module was modified")
	}
}

func TestReadWriteFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	mustExec(t, `
write_file("new.txt", "hello")
if read_file("new.txt") != b"hello": fail(read_file("new.txt"))
write_file("new.txt", b"\x00bytes")
if read_file("new.txt") != b"\x00bytes": fail("bytes")
if catch(write_file, "x.txt", 1): fail("accepted int data")
if catch(read_file, "absent.txt"): fail("read absent file")
if catch(write_file, "nodir/x.txt", "x"): fail("wrote into a missing dir")
`)
	fi, err := os.Stat("new.txt")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only new.txt (no temp files)", entries)
	}
}

func TestSysEnvDefaultsToTheProcessEnvironment(t *testing.T) {
	t.Setenv("LXDSTAR_TEST_ENV", "from the process")
	env := Predeclared([]string{"s.star"}, nil)["sys"].(*starlarkstruct.Module).Members["env"].(*starlark.Dict)
	v, found, _ := env.Get(starlark.String("LXDSTAR_TEST_ENV"))
	if !found || v != starlark.String("from the process") {
		t.Errorf("sys.env[LXDSTAR_TEST_ENV] = %v (found %v)", v, found)
	}
	if empty := Predeclared(nil, map[string]string{})["sys"].(*starlarkstruct.Module).Members["env"].(*starlark.Dict); empty.Len() != 0 {
		t.Errorf("an empty env gave %v", empty)
	}
}

func TestSys(t *testing.T) {
	mustExec(t, `
if sys.argv != ["script.star", "a", "b"]: fail(sys.argv)
if sys.env != {"HOME": "/root", "X": "1"}: fail(sys.env)
`)
	for src, code := range map[string]int{
		"sys.exit()":         0,
		"sys.exit(0)":        0,
		"sys.exit(None)":     0,
		"sys.exit(3)":        3,
		"sys.exit(code=250)": 250,
	} {
		_, err, _ := exec(t, context.Background(), src, nil)
		var exit *ExitError
		if !errors.As(err, &exit) || exit.Code != code {
			t.Errorf("%s: err = %v, want exit %d", src, err, code)
		}
	}
	if _, err, _ := exec(t, context.Background(), `sys.exit("x")`, nil); err == nil || errors.As(err, new(*ExitError)) {
		t.Errorf(`sys.exit("x"): err = %v`, err)
	}
}

func TestLoadRelativeToLoadingFile(t *testing.T) {
	files := map[string]string{
		"lib/helpers.star": `
load("util/strings.star", "shout")   # lib/util/strings.star
load("../top.star", "top")           # top.star
print("helpers loaded")
def greet(n): return shout("hi " + n) + top
`,
		"lib/util/strings.star": `
i = 0
while i < 1: i += 1                  # same dialect
def shout(s): return s.upper()
ok = catch(fail, "x")                # same predeclared names
`,
		"top.star": `top = "!"`,
	}
	g, err, out := exec(t, context.Background(), `
load("lib/helpers.star", "greet")
load("lib/helpers.star", g2 = "greet")  # cached: executed once
msg = greet("bob")
`, files)
	if err != nil {
		t.Fatal(err)
	}
	if got := g["msg"]; got != starlark.String("HI BOB!") {
		t.Errorf("msg = %v", got)
	}
	if out != "helpers loaded\n" {
		t.Errorf("module executed %d times", strings.Count(out, "helpers loaded"))
	}
}

func TestLoadOSFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "nested", "lib"), 0o755)
	os.WriteFile(filepath.Join(dir, "nested", "lib", "a.star"), []byte(`load("b.star", "b")`+"\na = b + 1\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "nested", "lib", "b.star"), []byte("b = 1\n"), 0o644)
	main := filepath.Join(dir, "nested", "main.star")
	os.WriteFile(main, []byte(`load("lib/a.star", "a")`+"\nresult = a\n"), 0o644)

	th := newThread(context.Background())
	predeclared := env()
	th.Load = NewLoader(predeclared, nil).Load
	g, err := starlark.ExecFileOptions(FileOptions(), th, main, nil, predeclared)
	if err != nil {
		t.Fatal(err)
	}
	if g["result"] != starlark.MakeInt(2) {
		t.Errorf("result = %v", g["result"])
	}
}

func TestLoadCycle(t *testing.T) {
	files := map[string]string{
		"a.star": `load("b.star", "b")` + "\na = 1\n",
		"b.star": `load("a.star", "a")` + "\nb = 1\n",
	}
	_, err, _ := exec(t, context.Background(), `load("a.star", "a")`, files)
	if err == nil || !strings.Contains(err.Error(), "load cycle: a.star -> b.star -> a.star") {
		t.Errorf("err = %v", err)
	}

	// A cycle through the script itself.
	files = map[string]string{"lib/x.star": `load("../main.star", "y")`}
	_, err, _ = exec(t, context.Background(), `load("lib/x.star", "y")`, files)
	if err == nil || !strings.Contains(err.Error(), "load cycle: main.star -> lib/x.star -> main.star") {
		t.Errorf("err = %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	files := map[string]string{"lib/a.star": `load("missing.star", "m")`}
	_, err, _ := exec(t, context.Background(), `load("lib/a.star", "m")`, files)
	if err == nil || !strings.Contains(err.Error(), "file not found: lib/missing.star") {
		t.Errorf("err = %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) = false for %v", err)
	}
}

func TestLoadRunsOnTheSameThread(t *testing.T) {
	files := map[string]string{"spin.star": "while True: pass\n"}

	// Step limit.
	th := newThread(context.Background())
	th.SetMaxExecutionSteps(10000)
	predeclared := env()
	th.Load = NewLoader(predeclared, ReadFS(fstest.MapFS{"spin.star": {Data: []byte(files["spin.star"])}})).Load
	_, err := starlark.ExecFileOptions(FileOptions(), th, "main.star", `load("spin.star", "x")`, predeclared)
	if err == nil || !strings.Contains(err.Error(), "too many steps") {
		t.Errorf("err = %v, want too many steps", err)
	}

	// Cancellation.
	th = newThread(context.Background())
	th.Load = NewLoader(predeclared, ReadFS(fstest.MapFS{"spin.star": {Data: []byte(files["spin.star"])}})).Load
	time.AfterFunc(50*time.Millisecond, func() { th.Cancel("stop") })
	_, err = starlark.ExecFileOptions(FileOptions(), th, "main.star", `load("spin.star", "x")`, predeclared)
	if err == nil || !strings.Contains(err.Error(), "cancelled") {
		t.Errorf("err = %v, want cancelled", err)
	}
}

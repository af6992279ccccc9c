package repl

import (
	"context"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/internal/syncbuf"
	"github.com/lxdstar/lxdstar/internal/threadctx"
	"github.com/lxdstar/lxdstar/lxdmod"
)

// waitFor polls until buf contains want, failing the test at the deadline.
func waitFor(t *testing.T, buf *syncbuf.Buffer, want string, within time.Duration) {
	t.Helper()
	waitForAfter(t, buf, 0, want, within)
}

// waitForAfter is waitFor for what buf holds past its first from bytes.
func waitForAfter(t *testing.T, buf *syncbuf.Buffer, from int, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(buf.String()[from:], want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %v; got:\n%s", want, within, buf.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testConfig is the Config of a REPL on a session of a runtime whose
// client defaults to endpoint, with extra predeclared names and output
// captured in out and errs.
func testConfig(t *testing.T, endpoint string, extra starlark.StringDict, in io.Reader, out, errs *syncbuf.Buffer) Config {
	t.Helper()
	rt := lxdstar.New(
		lxdstar.WithLXD(lxdmod.Config{Endpoint: endpoint}),
		lxdstar.WithEnv(map[string]string{}),
		lxdstar.WithPredeclared(extra),
		lxdstar.WithStdout(out),
	)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // ends the session's background work
	return Config{Session: rt.NewSession(ctx, ""), In: in, Out: out, Err: errs}
}

// testSession is a session on the standard environment whose client
// defaults to endpoint, with output captured.
func testSession(t *testing.T, endpoint string) (*session, *syncbuf.Buffer, *syncbuf.Buffer) {
	t.Helper()
	var out, errs syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := newSession(ctx, testConfig(t, endpoint, nil, nil, &out, &errs))
	return s, &out, &errs
}

// exec runs src (one chunk) in the session and fails the test on error.
func (s *session) exec(t *testing.T, src string) {
	t.Helper()
	if e := s.execErr(t, src); e != "" {
		t.Fatalf("%s failed:\n%s", src, e)
	}
}

// execErr runs src (one chunk) in the session and returns what it printed
// on stderr.
func (s *session) execErr(t *testing.T, src string) string {
	t.Helper()
	lines := strings.Split(src, "\n")
	f, err := s.sess.ReadStmt("<stdin>", func() ([]byte, error) {
		if len(lines) == 0 {
			return nil, io.EOF
		}
		l := lines[0]
		lines = lines[1:]
		return []byte(l + "\n"), nil
	})
	if err != nil {
		t.Fatalf("parsing %q: %v", src, err)
	}
	var errs syncbuf.Buffer
	w := s.cfg.Err
	s.cfg.Err = &errs
	defer func() { s.cfg.Err = w }()
	if _, exit := s.execute(f, strings.Split(src, "\n")); exit {
		t.Fatalf("%s: the REPL exited", src)
	}
	return errs.String()
}

func TestCompleteNeverMakesRequests(t *testing.T) {
	fake := newFakeLXD(t)
	s, _, _ := testSession(t, fake.Socket)
	s.exec(t, "c = lxd.Client()")
	s.exec(t, "inst = c.instances.all()[0]")
	before := len(fake.Requests())

	for _, tc := range []struct {
		text, word string
		want       []string
	}{
		{"c.inst", "inst", []string{"instances"}},
		{"c.instances.g", "g", []string{"get"}},
		{"c.instances.", "", []string{"all", "create", "create_from_backup", "exists", "get"}},
		{"c.containers.cr", "cr", []string{"create", "create_from_backup"}},
		{"c.virtual_machines.e", "e", []string{"exists"}},
		{"x = c.res", "res", []string{"resources"}},
		{"c.resources.", "", nil}, // reading it would be a request
		{"c.resources.ke", "ke", nil},
		{"print(c.host_", "host_", []string{"host_info"}},
		{"c.host_info.ke", "ke", []string{"keys"}},
		{"c.has_", "has_", []string{"has_api_extension"}},
		{"inst.sta", "sta", []string{"start", "state", "stateful", "status", "status_code"}},
		{"inst.re", "re", []string{"rename", "restart", "restore_snapshot"}},
		{"c.api.instances.g", "g", []string{"get"}},
		// client is not connected: completed from the registry.
		{"client.inst", "inst", []string{"instances"}},
		{"client.instances.g", "g", []string{"get"}},
		{"client.containers.", "", []string{"all", "create", "create_from_backup", "exists", "get"}},
		{"client.resources.", "", nil},
		{"lxd.wa", "wa", []string{"wait_all"}},
		{"time.sl", "sl", []string{"sleep"}},
		{"pri", "pri", []string{"print"}},
		{"cl", "cl", []string{"client"}},
		{"whi", "whi", []string{"while"}},
		{"hel", "hel", []string{"help"}},
		{`print("c.inst`, "", nil},
		{"c.instances.all().", "", nil},
		{"1.", "", nil},
		{"nope.x", "x", nil},
	} {
		word, got := s.complete(tc.text)
		if word != tc.word || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("complete(%q) = %q, %q; want %q, %q", tc.text, word, got, tc.word, tc.want)
		}
	}

	suffixes, n := completer{s}.Do([]rune("x = c.instances.g"), len("x = c.instances.g"))
	if n != 1 || len(suffixes) != 1 || string(suffixes[0]) != "et" {
		t.Errorf("Do: %q, %d", suffixes, n)
	}
	if suffixes, n := (completer{s}).Do([]rune("    "), 4); n != 0 || len(suffixes) != 1 || string(suffixes[0]) != indent {
		t.Errorf("Tab on a blank line: %q, %d", suffixes, n)
	}

	if reqs := fake.Requests(); len(reqs) != before {
		t.Errorf("completion sent requests: %q", reqs[before:])
	}
	if s.lazy[0].loaded() != nil {
		t.Error("completion connected client")
	}
}

func TestReplClientConnectsOnFirstUse(t *testing.T) {
	fake := newFakeLXD(t)
	s, out, _ := testSession(t, fake.Socket)
	// None of these needs the server.
	for _, stmt := range []string{"client", "x = type(client)", "help(client)", "dir(client)"} {
		s.exec(t, stmt)
	}
	if reqs := fake.Requests(); len(reqs) > 0 {
		t.Fatalf("client connected before use: %q", reqs)
	}
	if !strings.Contains(out.String(), "<Client (connects on first use)>") {
		t.Errorf("repr: %q", out.String())
	}

	s.exec(t, "client.trusted")
	if reqs := fake.Requests(); !reflect.DeepEqual(reqs, []string{"GET /1.0"}) {
		t.Errorf("requests: %q", reqs)
	}
	if !strings.HasSuffix(out.String(), "True\n") {
		t.Errorf("client.trusted printed %q", out.String())
	}
	// The placeholder gave way to the Client itself, so that it can be
	// passed where a Client is expected.
	client := s.sess.Globals()["client"]
	if _, ok := client.(*lazyValue); ok || client.Type() != "Client" {
		t.Errorf("client is %T %s after connecting", client, client.Type())
	}
	s.exec(t, "client.instances.all()")
	if reqs := fake.Requests(); len(reqs) != 2 {
		t.Errorf("requests: %q (connected twice?)", reqs)
	}
}

func TestReplClientConnectionFailureIsAnError(t *testing.T) {
	s, _, _ := testSession(t, "/nonexistent/lxd.socket")
	e := s.execErr(t, "client.trusted")
	if !strings.Contains(e, "Traceback") || !strings.Contains(e, "/nonexistent/lxd.socket") {
		t.Errorf("error: %q", e)
	}
	if s.lazy[0].loaded() != nil {
		t.Error("a failed connection was kept")
	}
}

func TestReplRunPlainInput(t *testing.T) {
	var out, errs syncbuf.Buffer
	src := `x = 6 * 7
x
_ + 1
def f(n):
    "Doubles n."
    return n * 2

f(x)
1 // 0
x
"s"
None
[_, 1]
for i in range(2):
    print("i", i)

exit(3)
print("not reached")
`
	code := Run(context.Background(), testConfig(t, "/nonexistent.socket", nil, strings.NewReader(src), &out, &errs))
	if code != 3 {
		t.Errorf("exit %d", code)
	}
	if want := "42\n43\n84\n42\n\"s\"\n[\"s\", 1]\ni 0\ni 1\n"; out.String() != want {
		t.Errorf("stdout %q, want %q", out.String(), want)
	}
	if e := errs.String(); !strings.Contains(e, "Traceback (most recent call last):\n  <stdin>:1:3: in <expr>\nError: floored division by zero") {
		t.Errorf("stderr %q", e)
	}
}

func TestReplSyntaxErrorShowsCaret(t *testing.T) {
	var out, errs syncbuf.Buffer
	code := Run(context.Background(), testConfig(t, "", nil, strings.NewReader("x = 1 +\ny = 2\ny\n"), &out, &errs))
	if code != 0 || out.String() != "2\n" {
		t.Errorf("exit %d, stdout %q", code, out.String())
	}
	if !strings.Contains(errs.String(), "<stdin>:") || !strings.Contains(errs.String(), "^") {
		t.Errorf("stderr %q", errs.String())
	}
}

func TestReplEndOfInputExitsZero(t *testing.T) {
	var out, errs syncbuf.Buffer
	if code := Run(context.Background(), testConfig(t, "", nil, strings.NewReader("1\n"), &out, &errs)); code != 0 || out.String() != "1\n" {
		t.Errorf("exit %d, out %q, err %q", code, out.String(), errs.String())
	}
	if code := Run(context.Background(), testConfig(t, "", nil, strings.NewReader("sys.exit(4)\n"), &out, &errs)); code != 4 {
		t.Errorf("sys.exit(4): exit %d", code)
	}
}

// interactive runs the REPL on a pipe, with extra predeclared names, and
// returns a function that types a line, the outputs and the interrupt
// channel.
func interactive(t *testing.T, extra starlark.StringDict) (typeLine func(string), out, errs *syncbuf.Buffer, intr chan os.Signal, done chan int) {
	t.Helper()
	r, w := io.Pipe()
	out, errs = &syncbuf.Buffer{}, &syncbuf.Buffer{}
	intr = make(chan os.Signal, 1)
	done = make(chan int, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cfg := testConfig(t, "", extra, r, out, errs)
	cfg.Interrupts = intr
	go func() { done <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		w.Close()
	})
	return func(line string) { _, _ = io.WriteString(w, line+"\n") }, out, errs, intr, done
}

func TestReplInterruptStopsStatementKeepsGlobals(t *testing.T) {
	typeLine, out, errs, intr, _ := interactive(t, nil)
	typeLine("x = 41")
	for _, stmt := range []string{"while True: pass", "time.sleep(60)"} {
		t.Run(stmt, func(t *testing.T) {
			// One chunk, so the interrupt cannot land between statements.
			typeLine("for _ in [1]:")
			typeLine("    print('started')")
			typeLine("    " + stmt)
			typeLine("")
			waitFor(t, out, "started", 5*time.Second)
			time.Sleep(50 * time.Millisecond)
			errsBefore := len(errs.String())
			start := time.Now()
			intr <- os.Interrupt
			waitForAfter(t, errs, errsBefore, "Traceback", time.Second)
			if d := time.Since(start); d > time.Second {
				t.Errorf("interrupt took %v", d)
			}
			if e := errs.String()[errsBefore:]; !strings.Contains(e, "cancel") {
				t.Errorf("error: %q", e)
			}
			typeLine("print('x is', x + 1)")
			waitFor(t, out, "x is 42", 5*time.Second)
			out.Reset()
		})
	}
}

func TestReplSecondInterruptLeaves(t *testing.T) {
	// A builtin that ignores cancellation for a while.
	release := make(chan struct{})
	defer close(release)
	stuck := starlark.NewBuiltin("stuck", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		print := thread.Print
		print(thread, "stuck")
		<-release
		return starlark.None, nil
	})
	typeLine, out, _, intr, done := interactive(t, starlark.StringDict{"stuck": stuck})
	typeLine("stuck()")
	waitFor(t, out, "stuck", 5*time.Second)
	intr <- os.Interrupt
	time.Sleep(50 * time.Millisecond)
	select {
	case code := <-done:
		t.Fatalf("left after one interrupt (exit %d)", code)
	default:
	}
	intr <- os.Interrupt
	select {
	case code := <-done:
		if code != ExitInterrupted {
			t.Errorf("exit %d", code)
		}
	case <-time.After(time.Second):
		t.Fatal("still running after a second interrupt")
	}
}

func TestReplInterruptCancelsStatementContextNotSession(t *testing.T) {
	type ctxs struct{ stmt, session context.Context }
	got := make(chan ctxs, 1)
	grab := starlark.NewBuiltin("grab", func(thread *starlark.Thread, _ *starlark.Builtin, _ starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
		ctx := threadctx.From(thread)
		got <- ctxs{ctx, threadctx.Session(thread)}
		<-ctx.Done()
		return nil, context.Cause(ctx)
	})
	typeLine, _, errs, intr, _ := interactive(t, starlark.StringDict{"grab": grab})
	typeLine("grab()")
	var c ctxs
	select {
	case c = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("grab did not run")
	}
	intr <- os.Interrupt
	waitFor(t, errs, "interrupted", time.Second)
	if c.stmt.Err() == nil {
		t.Error("statement context not cancelled")
	}
	if c.session.Err() != nil {
		t.Error("session context cancelled by an interrupt")
	}
}

func TestReplInspectGlobalsAreThawed(t *testing.T) {
	var out, errs syncbuf.Buffer
	src := "l.append(2)\nd['n'] = 1\ns.items.append(3)\nprint(l, d, s.items)\n"
	cfg := testConfig(t, "", nil, strings.NewReader(src), &out, &errs)
	globals, err := cfg.Session.ExecFile(context.Background(), "setup.star", []byte("l = [1]\nd = {'l': l}\ns = struct(items = l)\n"))
	if err != nil {
		t.Fatal(err)
	}
	if code := Run(context.Background(), cfg); code != 0 || errs.String() != "" {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	// Shared structure stays shared: s.items is the list l.
	if want := `[1, 2, 3] {"l": [1, 2, 3], "n": 1} [1, 2, 3]` + "\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
	if globals["l"].(*starlark.List).Len() != 1 {
		t.Error("the script's own value changed")
	}
}

func TestReplHelp(t *testing.T) {
	fake := newFakeLXD(t)
	s, out, _ := testSession(t, fake.Socket)
	s.exec(t, "c = lxd.Client()")
	s.exec(t, "inst = c.instances.all()[0]")
	s.exec(t, "def deploy(name, n=2, *args, wait=False, **kw):\n    \"Deploys name.\"\n    pass\n")
	for _, tc := range []struct{ expr, want string }{
		{"help(c.instances.create)", "instances.create(config, wait=False, target=None) -> Instance\n\n    Create an instance"},
		{"help(c.containers.get)", "instances.get(name) -> Instance"},
		{"help(c.containers)", "instances (manager)"},
		{"help(c.instances)", "  create(config, wait=False, target=None) -> Instance\n"},
		{"help(c.has_api_extension)", "Client.has_api_extension(name) -> bool"},
		{"help(c)", "Client (type)"},
		{"help(c)", "  instances: instances manager\n"},
		{"help(inst)", "Instance (type)"},
		{"help(inst)", "  start(timeout=30, force=True, wait=False)\n"},
		{"help(inst)", "Fields:\n  architecture, config, created_at, description, devices, ephemeral,\n" +
			"  expanded_config, expanded_devices, last_used_at, location, name, profiles,\n" +
			"  project, stateful, status, status_code, type\n"},
		{"help(inst.start)", "Instance.start(timeout=30, force=True, wait=False)"},
		{"help(inst.execute)", "Instance.execute(commands, environment=None"},
		{"help(lxd)", "lxd (module)"},
		{"help(lxd.Client)", "lxd.Client(endpoint=None, version=\"1.0\""},
		{"help(lxd.wait_all)", "lxd.wait_all(*ops, timeout=None) -> list"},
		{"help(lxd.EventType)", "lxd.EventType: struct"},
		{"help(catch)", "catch(fn, *args, **kwargs) -> Result"},
		{"help(catch(fail).error.is_a)", "Error.is_a(kind) -> bool"},
		{"help(time.sleep)", "time.sleep(seconds)"},
		{"help(time.now)", "time.now() -> time"},
		{"help(sys.exit)", "sys.exit(code=0)"},
		{"help(exit)", "exit(code=0)"},
		{"help(sys)", "sys (module)"},
		{"help(json)", "json (module)"},
		{"help(json.encode)", "json.encode(x) -> str"},
		{"help(math.floor)", "math.floor(x) -> int"},
		{"help(len)", "len(x) -> int"},
		{"help(client)", "Client (type)"},
		{"help('Snapshot.restore')", "Snapshot.restore(wait=False)"},
		{"help('files.put')", "files.put(filepath, data, mode=None, uid=None, gid=None, *, append=False)"},
		{"help('virtual_machines.create')", "instances.create(config, wait=False, target=None)"},
		{"help(deploy)", "deploy(name, n=2, *args, wait=False, **kw)\n\n    Deploys name.\n"},
		{"help(1)", "1: a int value, no documentation"},
		{"help('nope')", "No documentation for \"nope\""},
	} {
		out.Reset()
		s.exec(t, tc.expr)
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("%s printed:\n%s\nwant it to contain:\n%s", tc.expr, out.String(), tc.want)
		}
	}

	out.Reset()
	s.exec(t, "help()")
	for _, want := range []string{"  catch ", "  client ", "  lxd ", "  help ", "  exit ", "  sys ", "Starlark builtins:", "Ctrl-C"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help() lacks %q:\n%s", want, out.String())
		}
	}
}

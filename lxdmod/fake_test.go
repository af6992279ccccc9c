package lxdmod_test

// The harness of lxdmod's unit tests: Starlark scripts run against the fake
// LXD of internal/fakelxd, so the model's semantics (dirty tracking,
// save/sync/rollback, waits, exec's handler pump, managers) are checked in
// milliseconds and without a test bed. The integration tests in tests/ run
// the same API against real daemons and stay the ground truth.

import (
	"context"
	gojson "encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/builtins"
	"github.com/lxdstar/lxdstar/internal/fakelxd"
	"github.com/lxdstar/lxdstar/internal/threadctx"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// script runs Starlark against one fake LXD. Every script starts with a
// client, c = lxd.Client(), connected to the fake.
type script struct {
	t *testing.T
	f *fakelxd.Server
	// globals carries values from one run to the next (frozen, as a
	// finished module's globals are).
	globals starlark.StringDict
	ctx     context.Context
	// lxd is the module every run of the script uses, as a REPL
	// session's statements share one.
	lxd *lxdmod.Module
	// print receives what the script prints (nil: the test's log).
	print func(msg string)
}

// withInstances is a script whose fake server holds the given (stopped,
// empty) instances.
func withInstances(t *testing.T, names ...string) *script {
	t.Helper()
	s := newScript(t, fakelxd.Config{})
	for _, name := range names {
		s.f.AddInstance(name, nil)
	}
	return s
}

// withInstance is a script whose server holds a stopped instance c1 with
// one user key, and the profile web.
func withInstance(t *testing.T) *script {
	s := newScript(t, fakelxd.Config{})
	s.f.AddProfile("web", nil)
	s.f.AddInstance("c1", fakelxd.Object{"config": fakelxd.Object{"user.a": "1"}, "description": "first"})
	return s
}

// running is a script whose server holds a running instance c1, bound to
// the global i.
func running(t *testing.T) *script {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", fakelxd.Object{"status": "Running"})
	s.run(`i = c.instances.get("c1")`)
	return s
}

func newScript(t *testing.T, cfg fakelxd.Config) *script {
	t.Helper()
	f := fakelxd.New(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &script{t: t, f: f, ctx: ctx, lxd: lxdmod.New(lxdmod.Config{Endpoint: f.Endpoint()})}
}

// predeclared is what scripts see: the lxd module, lxdstar's builtins,
// assert_eq(got, want) for checks inside a script, and hooks into the fake
// server (see serverHooks).
func (s *script) predeclared() starlark.StringDict {
	env := builtins.Predeclared([]string{"test.star"}, map[string]string{})
	d := starlark.StringDict{
		"lxd":       s.lxd.Value(),
		"assert_eq": starlark.NewBuiltin("assert_eq", assertEq),
	}
	for k, v := range s.serverHooks() {
		d[k] = v
	}
	for k, v := range env {
		d[k] = v
	}
	for k, v := range s.globals {
		d[k] = v
	}
	return d
}

// serverHooks let a script act as another client of the server, or steer
// it, between two of its own statements:
//
//	server_set(path, fields)   another writer changes an object (fakelxd.Server.Set)
//	server_get(path)           the object as the server holds it, or None
//	hold(pattern)              operations of matching requests wait; returns release()
//	fail_next(pattern, msg)    the next matching operation fails with msg
//	request_count()            how many requests the server has received
func (s *script) serverHooks() starlark.StringDict {
	toGo := func(v starlark.Value) (map[string]any, error) {
		data, err := starlark.Call(&starlark.Thread{}, json.Module.Members["encode"], starlark.Tuple{v}, nil)
		if err != nil {
			return nil, err
		}
		var out map[string]any
		err = gojson.Unmarshal([]byte(data.(starlark.String)), &out)
		return out, err
	}
	fromGo := func(v any) (starlark.Value, error) {
		data, err := gojson.Marshal(v)
		if err != nil {
			return nil, err
		}
		return starlark.Call(&starlark.Thread{}, json.Module.Members["decode"], starlark.Tuple{starlark.String(data)}, nil)
	}
	return starlark.StringDict{
		"server_set": starlark.NewBuiltin("server_set", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path string
			var fields *starlark.Dict
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "fields", &fields); err != nil {
				return nil, err
			}
			g, err := toGo(fields)
			if err != nil {
				return nil, err
			}
			if !s.f.Set(path, g) {
				return nil, fmt.Errorf("server_set: no object at %s", path)
			}
			return starlark.None, nil
		}),
		"server_get": starlark.NewBuiltin("server_get", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var path string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
				return nil, err
			}
			obj, ok := s.f.Get(path)
			if !ok {
				return starlark.None, nil
			}
			return fromGo(obj)
		}),
		"hold": starlark.NewBuiltin("hold", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern); err != nil {
				return nil, err
			}
			release := s.f.Hold(pattern)
			return starlark.NewBuiltin("release", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
				release()
				return starlark.None, nil
			}), nil
		}),
		"fail_next": starlark.NewBuiltin("fail_next", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var pattern, msg string
			if err := starlark.UnpackArgs(b.Name(), args, kwargs, "pattern", &pattern, "msg", &msg); err != nil {
				return nil, err
			}
			s.f.FailNext(pattern, msg)
			return starlark.None, nil
		}),
		"request_count": starlark.NewBuiltin("request_count", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
			return starlark.MakeInt(len(s.f.Requests())), nil
		}),
	}
}

func assertEq(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var got, want starlark.Value
	msg := ""
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "got", &got, "want", &want, "msg?", &msg); err != nil {
		return nil, err
	}
	eq, err := starlark.Equal(got, want)
	if err != nil {
		return nil, err
	}
	if !eq {
		return nil, fmt.Errorf("assert_eq: got %s, want %s %s", got, want, msg)
	}
	return starlark.None, nil
}

// exec runs src (after c = lxd.Client()) and returns its globals, or the
// error it failed with.
func (s *script) exec(src string) (starlark.StringDict, error) {
	thread := &starlark.Thread{Name: s.t.Name(), Print: func(_ *starlark.Thread, msg string) { s.t.Log(msg) }}
	if s.print != nil {
		thread.Print = func(_ *starlark.Thread, msg string) { s.print(msg) }
	}
	threadctx.Set(thread, s.ctx)
	threadctx.SetSession(thread, s.ctx)
	src = dedent(src)
	if _, ok := s.globals["c"]; !ok {
		src = "c = lxd.Client()\n" + src
	}
	g, err := starlark.ExecFileOptions(builtins.FileOptions(), thread, "test.star", src, s.predeclared())
	if err == nil {
		if s.globals == nil {
			s.globals = starlark.StringDict{}
		}
		for k, v := range g {
			s.globals[k] = v
		}
	}
	return g, err
}

// run runs src and fails the test if it fails.
func (s *script) run(src string) starlark.StringDict {
	s.t.Helper()
	g, err := s.exec(src)
	if err != nil {
		var ee *starlark.EvalError
		if errors.As(err, &ee) {
			s.t.Fatalf("script failed: %s", ee.Backtrace())
		}
		s.t.Fatalf("script failed: %v", err)
	}
	return g
}

// fail runs src, which must fail, and returns its error.
func (s *script) fail(src string) error {
	s.t.Helper()
	_, err := s.exec(src)
	require.Error(s.t, err, "the script should have failed:\n%s", src)
	return err
}

// value evaluates a Starlark expression over the globals so far.
func (s *script) value(expr string) starlark.Value {
	s.t.Helper()
	thread := &starlark.Thread{Name: s.t.Name()}
	threadctx.Set(thread, s.ctx)
	v, err := starlark.EvalOptions(builtins.FileOptions(), thread, "expr", expr, s.predeclared())
	require.NoError(s.t, err, "evaluating %s", expr)
	return v
}

// str is value for expressions whose value is a string.
func (s *script) str(expr string) string {
	s.t.Helper()
	v := s.value(expr)
	str, ok := starlark.AsString(v)
	require.True(s.t, ok, "%s = %s, not a string", expr, v)
	return str
}

// requests returns "METHOD /path?query" of the requests since the n-th.
func (s *script) requests(since int) []string {
	var out []string
	for i, r := range s.f.Requests() {
		if i >= since {
			out = append(out, r.String())
		}
	}
	return out
}

// mark returns how many requests the fake has received: pass it to
// requests to see what came after.
func (s *script) mark() int { return len(s.f.Requests()) }

// lastBody returns the JSON body of the last request matching method and
// path (exactly, without the query).
func (s *script) lastBody(method, path string) map[string]any {
	s.t.Helper()
	reqs := s.f.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method && reqs[i].URL.Path == path {
			body, ok := reqs[i].JSON().(map[string]any)
			require.True(s.t, ok, "%s %s has no JSON object body", method, path)
			return body
		}
	}
	s.t.Fatalf("no %s %s among %q", method, path, s.requests(0))
	return nil
}

// kinds returns the LXD error kinds err carries, most specific first
// (e.g. ["NotFound", "LXDAPIException"]), or nil.
func kinds(err error) []string {
	var e *rest.Error
	if errors.As(err, &e) {
		return e.Kinds()
	}
	return nil
}

// kindIs reports whether err is of kind (or a kind below it).
func kindIs(err error, kind string) bool {
	for _, k := range kinds(err) {
		if k == kind {
			return true
		}
	}
	return false
}

// requireKind checks err's kind and that LXD's own text is in its message
// (the exact wording around it is the binding's business).
func requireKind(t *testing.T, err error, kind, text string) {
	t.Helper()
	require.Error(t, err)
	require.True(t, kindIs(err, kind), "want a %s, got %v (kinds %v)", kind, err, kinds(err))
	require.Contains(t, err.Error(), text)
}

// dedent lets scripts be indented like the Go code around them.
func dedent(src string) string {
	lines := strings.Split(strings.Trim(src, "\n"), "\n")
	indent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, "\t "))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range lines {
		if indent > 0 && len(l) >= indent {
			lines[i] = l[indent:]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func starlarkString(s string) starlark.Value { return starlark.String(s) }

func starlarkInt(v starlark.Value) (int, error) { return starlark.AsInt32(v) }

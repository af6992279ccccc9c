package apidoc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/internal/apidoc"
	"github.com/lxdstar/lxdstar/internal/fakelxd"
	"github.com/lxdstar/lxdstar/internal/threadctx"
	"github.com/lxdstar/lxdstar/lxdmod"
)

// genericLXD is a fake LXD (internal/fakelxd) holding an object of each
// kind it models, so that managers' all() and get() return models whose
// methods can be listed. Collections it has no model for (or that are
// empty) answer one generic object, so that managers added later are
// walked too.
func genericLXD(t *testing.T) string {
	t.Helper()
	f := fakelxd.New(t, fakelxd.Config{})
	f.AddInstance("c1", fakelxd.Object{"status": "Running"})
	f.AddSnapshot("c1", "snap0", nil)
	f.AddNetwork("br0", nil)
	f.AddVolume("default", "custom", "v1", nil)
	f.Add("/1.0/storage-pools/default/volumes/custom/v1/snapshots/s1", fakelxd.Object{"name": "s1", "config": fakelxd.Object{}})
	f.StartOperation("Walking", func(ctx context.Context) (fakelxd.Object, error) {
		<-ctx.Done() // running until the test ends
		return nil, nil
	})
	object := map[string]any{
		"name": "x", "fingerprint": "abc", "id": "op1", "server_name": "m1", "type": "container",
		"status": "Running", "status_code": 103, "description": "", "config": map[string]any{},
		"devices": map[string]any{}, "profiles": []any{}, "aliases": []any{}, "used_by": []any{},
		"properties": map[string]any{}, "metadata": map[string]any{}, "resources": map[string]any{},
	}
	f.Intercept("GET /1.0/**", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		f.Backend().ServeHTTP(rec, r)
		var env struct{ Metadata any }
		_ = json.Unmarshal(rec.Body.Bytes(), &env)
		if list, isList := env.Metadata.([]any); rec.Code != http.StatusNotFound && (!isList || len(list) > 0) {
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
			return
		}
		var meta any = object
		if r.URL.Query().Get("recursion") != "" {
			meta = []any{object}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": meta})
	}))
	return f.Endpoint()
}

// walker visits the values reachable from the environment without calling
// anything but managers' all(), and records each callable that help()
// could not document.
type walker struct {
	t       *testing.T
	thread  *starlark.Thread
	ix      *apidoc.Index
	seen    map[string]bool
	missing map[string]string // what help() would look up → where it was found
	checked int
}

func (w *walker) callable(path string, v starlark.Value) {
	w.checked++
	key, ok := w.ix.KeyOf(v)
	if ok {
		if e, found := apidoc.Lookup(key); found && e.Callable() {
			return
		}
	}
	name := v.(starlark.Callable).Name()
	if b, isBuiltin := v.(*starlark.Builtin); isBuiltin && b.Receiver() != nil && !strings.Contains(name, ".") {
		name = b.Receiver().Type() + "." + name
	}
	w.missing[apidoc.Canonical(name)] = path
}

// visit walks v, found at path (e.g. "client.instances").
func (w *walker) visit(path string, v starlark.Value, depth int) {
	if _, ok := v.(starlark.Callable); ok {
		w.callable(path, v)
		return
	}
	if depth > 5 || v == nil {
		return
	}
	// The values of Starlark itself (dicts, lists, strings) are
	// documented by the language, not by the registry.
	if t := reflect.TypeOf(v); t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "go.starlark.net/starlark" ||
		t.PkgPath() == "go.starlark.net/starlark" {
		return
	}
	// Objects of one model type have the same methods, but managers and
	// modules differ one from another.
	id := v.Type()
	if m, ok := v.(*starlarkstruct.Module); ok {
		id = "module " + m.Name
	} else if id == "Manager" {
		id = v.String()
	}
	if w.seen[id] {
		return
	}
	w.seen[id] = true

	if m, ok := v.(*starlarkstruct.Module); ok {
		for name, member := range m.Members {
			w.visit(path+"."+name, member, depth+1)
		}
		return
	}
	ha, ok := v.(starlark.HasAttrs)
	if !ok {
		return
	}
	typeKey, _ := w.ix.KeyOf(v)
	for _, name := range ha.AttrNames() {
		if e, ok := apidoc.Lookup(typeKey + "." + name); ok && e.IO {
			continue // client.resources: reading it is a request
		}
		a, err := ha.Attr(name)
		if err != nil || a == nil {
			continue
		}
		w.visit(path+"."+name, a, depth+1)
	}
	// A manager's objects: those all() returns, or what get() without
	// arguments returns (client.cluster.get()).
	if v.Type() == "Manager" {
		if fn, _ := ha.Attr("all"); fn != nil {
			w.models(path+".all", fn, true)
		} else if fn, _ := ha.Attr("get"); fn != nil {
			w.models(path+".get", fn, false) // most get()s need an argument
		}
	}
}

// models visits the first object fn (a manager's all or get) returns when
// called without arguments.
func (w *walker) models(path string, fn starlark.Value, logErr bool) {
	res, err := starlark.Call(w.thread, fn, nil, nil)
	if err != nil {
		if logErr {
			w.t.Logf("%s(): %v (its objects are not checked)", path, err)
		}
		return
	}
	if l, ok := res.(*starlark.List); ok {
		if l.Len() > 0 {
			w.visit(path+"()[0]", l.Index(0), 1)
		}
		return
	}
	w.visit(path+"()", res, 1)
}

// TestReferenceCoversEveryCallable walks what a script can reach — the
// predeclared names, the lxd module, a Client, its managers and their
// models — and fails for any callable help() finds no entry for. Values
// the other parts of lxdmod add later are covered as they appear.
func TestReferenceCoversEveryCallable(t *testing.T) {
	if os.Getenv(walkEnv) == "" {
		runWalkInChild(t)
		return
	}
	sock := genericLXD(t)
	rt := lxdstar.New(lxdstar.WithLXD(lxdmod.Config{Endpoint: sock}), lxdstar.WithEnv(map[string]string{}))
	sess := rt.NewSession(context.Background(), "")
	defer sess.Close(context.Background())
	env := sess.Predeclared()
	thread := &starlark.Thread{Name: "coverage"}
	threadctx.Set(thread, context.Background())
	client, err := starlark.Call(thread, env["lxd"].(*starlarkstruct.Module).Members["Client"], nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &walker{t: t, thread: thread, ix: apidoc.NewIndex(env), seen: map[string]bool{}, missing: map[string]string{}}
	names := make([]string, 0, len(env))
	for name := range env {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		w.visit(name, env[name], 0)
	}
	w.visit("client", client, 0)
	// catch's Result and Error.
	caught, err := starlark.Call(thread, env["catch"], starlark.Tuple{starlark.Universe["fail"]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.visit("catch(fail)", caught, 0)
	if e, _ := caught.(starlark.HasAttrs).Attr("error"); e != nil {
		w.visit("catch(fail).error", e, 0)
	}
	for name := range starlark.Universe {
		w.visit(name, starlark.Universe[name], 0)
	}

	if w.checked < 50 {
		t.Errorf("only %d callables checked: the walk is broken", w.checked)
	}
	var report []string
	for key, path := range w.missing {
		report = append(report, fmt.Sprintf("%s (found at %s)", key, path))
	}
	sort.Strings(report)
	if len(report) > 0 {
		t.Errorf("no registry entry (internal/apidoc/registry.go) for:\n  %s", strings.Join(report, "\n  "))
	}
	visited := make([]string, 0, len(w.seen))
	for id := range w.seen {
		visited = append(visited, id)
	}
	sort.Strings(visited)
	t.Logf("%d callables checked on %s", w.checked, strings.Join(visited, ", "))
}

// walkEnv is set in the child process that does the walk.
const walkEnv = "APIDOC_COVERAGE_WALK"

// runWalkInChild runs the walk in a child test process, so that a value
// that crashes the process (a getter recursing forever in lxdmod) fails
// this test with a readable message instead of killing the package's run.
func runWalkInChild(t *testing.T) {
	// The timeout turns a deadlock into a goroutine dump.
	cmd := exec.Command(os.Args[0], "-test.run=^TestReferenceCoversEveryCallable$", "-test.v", "-test.count=1", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), walkEnv+"=1")
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err == nil {
		t.Log(strings.TrimSpace(text))
		return
	}
	i := strings.Index(text, "fatal error:")
	if i < 0 {
		i = strings.Index(text, "panic: ")
	}
	if i >= 0 {
		// A crash or a hang: show the message and the frames of lxdmod
		// and of the walk.
		lines := strings.Split(text[i:], "\n")
		var keep []string
		seen := map[string]bool{}
		for _, l := range lines {
			if !strings.Contains(l, "lxdmod.") && !strings.Contains(l, "apidoc_test.") && !strings.HasPrefix(l, "fatal error") && !strings.HasPrefix(l, "panic: ") {
				continue
			}
			if i := strings.Index(l, "(0x"); i >= 0 {
				l = l[:i] + "(…)" // frames of one recursion differ only in their arguments
			}
			if !seen[l] {
				seen[l] = true
				keep = append(keep, l)
			}
		}
		if len(keep) > 12 {
			keep = keep[:12]
		}
		t.Fatalf("walking the values crashed or hung:\n%s", strings.Join(keep, "\n"))
	}
	t.Fatalf("%v:\n%s", err, text)
}

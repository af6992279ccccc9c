package lxdmod

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/lxdstar/lxdstar/internal/threadctx"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// oldServer is a clustered LXD with no API extensions at all: it answers
// GET /1.0 and GET of a cluster member, and records any other request.
func oldServer(t *testing.T) (socket string, others func() []string) {
	t.Helper()
	socket = filepath.Join(t.TempDir(), "old.socket")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var meta any
		switch {
		case r.Method == "GET" && r.URL.Path == "/1.0":
			meta = map[string]any{"api_extensions": []string{"clustering"}, "auth": "trusted",
				"environment": map[string]any{"server_clustered": true}}
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/1.0/cluster/members/"):
			meta = map[string]any{"server_name": "node2", "status": "Online", "description": "", "config": map[string]any{}}
		default:
			mu.Lock()
			seen = append(seen, r.Method+" "+r.URL.Path)
			mu.Unlock()
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": "not found", "error_code": 404})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": meta})
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return socket, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

// On a server without the extension, each call fails with
// LXDAPIExtensionNotAvailable naming the method and the extension, and
// sends nothing; a bad argument is still reported as such first.
func TestClusterWarningsMetricsNeedTheirExtensions(t *testing.T) {
	socket, others := oldServer(t)
	thread := &starlark.Thread{Name: "old"}
	threadctx.Set(thread, context.Background())
	env := starlark.StringDict{"lxd": New(Config{Endpoint: socket}).Value()}
	globals, err := starlark.ExecFile(thread, "setup.star", `
c = lxd.Client()
m = c.cluster.members.get("node2")
`, env)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range globals {
		env[k] = v
	}
	for _, tc := range []struct{ call, fn, ext string }{
		{`c.cluster.groups.all()`, "cluster.groups.all", "clustering_groups"},
		{`c.cluster.groups.get("g1")`, "cluster.groups.get", "clustering_groups"},
		{`c.cluster.groups.exists("g1")`, "cluster.groups.exists", "clustering_groups"},
		{`c.cluster.groups.create("g1", members=["node2"])`, "cluster.groups.create", "clustering_groups"},
		{`m.evacuate()`, "ClusterMember.evacuate", "clustering_evacuation"},
		{`m.restore(wait=True)`, "ClusterMember.restore", "clustering_evacuation"},
		{`m.state()`, "ClusterMember.state", "cluster_member_state"},
		{`c.warnings.all()`, "warnings.all", "warnings"},
		{`c.warnings.get("0b6aaf46-d6b2-4013-a93c-fd22b616297c")`, "warnings.get", "warnings"},
		{`c.warnings.exists("0b6aaf46")`, "warnings.exists", "warnings"},
		{`c.metrics()`, "Client.metrics", "metrics"},
	} {
		_, err := starlark.Eval(thread, "call.star", tc.call, env)
		var e *rest.Error
		if !errors.As(err, &e) || e.Kind != rest.KindExtension {
			t.Errorf("%s: got %v, want LXDAPIExtensionNotAvailable", tc.call, err)
			continue
		}
		if want := "LXDAPIExtensionNotAvailable: " + tc.fn + ": "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), `"`+tc.ext+`"`) {
			t.Errorf("%s: %q does not start with %q and name %q", tc.call, err, want, tc.ext)
		}
	}
	// Methods of objects the server does have check their arguments first;
	// a whole collection the server lacks is refused outright.
	for call, want := range map[string]string{
		`c.cluster.groups.get(1)`: "LXDAPIExtensionNotAvailable: cluster.groups.get",
		`m.evacuate(wait=1)`:      "ClusterMember.evacuate: for parameter \"wait\": got int, want bool",
		`c.metrics(1)`:            "Client.metrics: got 1 arguments, want at most 0",
	} {
		_, err := starlark.Eval(thread, "call.star", call, env)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", call, err, want)
		}
	}
	if sent := others(); len(sent) > 0 {
		t.Errorf("requests sent: %v", sent)
	}
}

func TestMetricsAsStructs(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "metrics.socket")
	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/1.0" {
			_ = json.NewEncoder(w).Encode(map[string]any{"type": "sync", "metadata": map[string]any{"api_extensions": []string{"metrics"}, "auth": "trusted"}})
			return
		}
		_, _ = w.Write([]byte("# HELP x X.\n# TYPE x gauge\nx{name=\"c1\",project=\"default\"} +Inf\ny 3\n# EOF\n"))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	thread := &starlark.Thread{Name: "metrics"}
	v, err := starlark.Eval(thread, "m.star", `[(m.name, m.labels, m.value, type(m.value)) for m in lxd.Client().metrics()]`,
		starlark.StringDict{"lxd": New(Config{Endpoint: socket}).Value(), "struct": starlark.NewBuiltin("struct", starlarkstruct.Make)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.String(), `[("x", {"name": "c1", "project": "default"}, +inf, "float"), ("y", {}, 3.0, "float")]`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

package repl

import (
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
)

// fakeLXD is a unix-socket LXD that answers GET /1.0 (what connecting
// needs) and GET /1.0/instances?recursion=1 (one instance, for tests that
// need a model) and fails anything else with 404. It records every
// request: completion must make none.
type fakeLXD struct {
	Socket string
	mu     sync.Mutex
	reqs   []string
}

func newFakeLXD(t *testing.T) *fakeLXD {
	t.Helper()
	f := &fakeLXD{Socket: filepath.Join(t.TempDir(), "lxd.socket")}
	ln, err := net.Listen("unix", f.Socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: f}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return f
}

func (f *fakeLXD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r.Method+" "+r.URL.String())
	f.mu.Unlock()
	sync := func(meta any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": meta})
	}
	switch {
	case r.Method == "GET" && r.URL.Path == "/1.0":
		sync(map[string]any{"api_extensions": []string{"instances"}, "api_version": "1.0", "auth": "trusted",
			"environment": map[string]any{"server_clustered": false, "server_version": "5.0.2"}})
		return
	case r.Method == "GET" && r.URL.Path == "/1.0/instances" && r.URL.Query().Get("recursion") == "1":
		sync([]any{map[string]any{"name": "c1", "status": "Running", "type": "container", "config": map[string]any{},
			"devices": map[string]any{}, "profiles": []string{"default"}, "description": ""}})
		return
	}
	w.WriteHeader(http.StatusNotFound)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": "not found", "error_code": 404})
}

// Requests returns the requests received so far.
func (f *fakeLXD) Requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs...)
}

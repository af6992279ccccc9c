package lxdmod

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/threadctx"
)

// extensionLXD is a unix-socket server announcing the API extensions exts.
// It answers GET /1.0 and GETs of the objects in objects (path → metadata,
// a string being sent as a raw file), and records every request.
type extensionLXD struct {
	mu       sync.Mutex
	requests []string
}

func newExtensionLXD(t *testing.T, exts []string, objects map[string]any) (string, *extensionLXD) {
	t.Helper()
	f := &extensionLXD{}
	sock := filepath.Join(t.TempDir(), "lxd.socket")
	ln, err := net.Listen("unix", sock)
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		f.mu.Unlock()
		meta, ok := objects[r.URL.Path]
		if r.URL.Path == "/1.0" {
			meta, ok = map[string]any{"api_extensions": exts, "auth": "trusted", "environment": map[string]any{}}, true
		}
		if raw, isFile := meta.(string); ok && isFile && r.Method == "GET" {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte(raw))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if !ok || r.Method != "GET" {
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": "unexpected request", "error_code": 500})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "sync", "status_code": 200, "metadata": meta})
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return sock, f
}

func (f *extensionLXD) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := f.requests
	f.requests = nil
	return r
}

// evalOn runs setup with c bound to a Client of the server at sock, then
// evaluates expr and returns its value and the requests expr sent.
func (f *extensionLXD) evalOn(t *testing.T, sock, setup, expr string) (starlark.Value, []string, error) {
	t.Helper()
	thread := &starlark.Thread{Name: t.Name()}
	threadctx.Set(thread, context.Background())
	threadctx.SetSession(thread, context.Background())
	env := starlark.StringDict{"lxd": New(Config{}).Value(), "SOCK": starlark.String(sock)}
	globals, err := starlark.ExecFile(thread, "setup.star", "c = lxd.Client(SOCK)\n"+setup, env)
	require.NoError(t, err)
	for k, v := range globals {
		env[k] = v
	}
	f.take()
	v, err := starlark.Eval(thread, "expr.star", expr, env)
	return v, f.take(), err
}

// Every network manager refuses to work on a server without its API
// extension: LXDAPIExtensionNotAvailable naming the method and the
// extension, and nothing sent.
func TestNetworkModelsNeedTheirExtensions(t *testing.T) {
	all := []string{"network_acl", "network_acl_log", "network_forward", "network_peer", "network_dns", "network_dns_records"}
	without := func(ext string) []string {
		var out []string
		for _, e := range all {
			if e != ext {
				out = append(out, e)
			}
		}
		return out
	}
	objects := map[string]any{
		"/1.0/networks/br0":         map[string]any{"name": "br0", "type": "bridge", "config": map[string]any{}},
		"/1.0/network-acls/a":       map[string]any{"name": "a", "ingress": []any{}, "egress": []any{}, "config": map[string]any{}},
		"/1.0/network-zones/z.test": map[string]any{"name": "z.test", "config": map[string]any{}},
		"/1.0/network-acls/a/log":   "{\"action\":\"drop\"}\n",
	}
	cases := []struct {
		ext, setup string
		calls      []string
	}{
		{"network_acl", "", []string{
			"c.network_acls.all()", `c.network_acls.get("a")`, `c.network_acls.exists("a")`, `c.network_acls.create("b")`}},
		{"network_acl_log", `acl = c.network_acls.get("a")`, []string{"acl.log()"}},
		{"network_forward", `n = c.networks.get("br0")`, []string{
			"n.forwards.all()", `n.forwards.get("198.18.7.10")`, `n.forwards.exists("198.18.7.10")`, `n.forwards.create("198.18.7.10")`}},
		{"network_peer", `n = c.networks.get("br0")`, []string{
			"n.peers.all()", `n.peers.get("p")`, `n.peers.exists("p")`, `n.peers.create("p", target_project="default", target_network="x")`}},
		{"network_dns", "", []string{
			"c.network_zones.all()", `c.network_zones.get("z.test")`, `c.network_zones.exists("z.test")`, `c.network_zones.create("y.test")`}},
		{"network_dns_records", `z = c.network_zones.get("z.test")`, []string{
			"z.records.all()", `z.records.get("www")`, `z.records.exists("www")`, `z.records.create("www")`}},
	}
	for _, tc := range cases {
		t.Run(tc.ext, func(t *testing.T) {
			sock, fake := newExtensionLXD(t, without(tc.ext), objects)
			for _, call := range tc.calls {
				_, sent, err := fake.evalOn(t, sock, tc.setup, call)
				require.Error(t, err, call)
				assert.Empty(t, sent, "%s was refused but sent requests", call)
				method := call[:strings.IndexByte(call, '(')]
				msg := err.Error()
				assert.True(t, strings.HasPrefix(msg, "LXDAPIExtensionNotAvailable: "), "%s: %s", call, msg)
				assert.Contains(t, msg, `lacks the API extension "`+tc.ext+`"`, call)
				assert.Contains(t, msg, method[strings.IndexByte(method, '.')+1:]+":", "%s: the error names the method", call)
				var kinds interface{ Kinds() []string }
				if assert.ErrorAs(t, err, &kinds, call) {
					assert.Equal(t, []string{"LXDAPIExtensionNotAvailable"}, kinds.Kinds())
				}
			}
		})
	}

	// With the extension, log() returns LXD's file as it came.
	sock, fake := newExtensionLXD(t, all, objects)
	v, sent, err := fake.evalOn(t, sock, `acl = c.network_acls.get("a")`, "acl.log()")
	require.NoError(t, err)
	assert.Equal(t, []string{"GET /1.0/network-acls/a/log"}, sent)
	assert.Equal(t, starlark.String("{\"action\":\"drop\"}\n"), v)
}

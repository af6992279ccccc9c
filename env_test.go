package lxdstar_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxdstar/lxdstar"
)

// fakeSocket serves GET /1.0 on a unix socket and counts the requests.
func fakeSocket(t *testing.T) (string, *int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake.socket")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	n := new(int)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*n++ // one request at a time in these tests
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"type":"sync","status":"Success","status_code":200,"metadata":{"auth":"trusted","api_extensions":[]}}`))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return path, n
}

// WithEnv is the whole environment of a run: lxd.Client() discovers its
// socket and reads the lxc and incus configuration through it, never
// through the process environment (which here points elsewhere).
func TestWithEnvIsolatesLXDClient(t *testing.T) {
	t.Setenv("LXD_SOCKET", "/nonexistent/process.socket")
	t.Setenv("LXD_CONF", "/nonexistent/process-conf")
	sock, requests := fakeSocket(t)
	conf := filepath.Join(t.TempDir(), "incus")
	if err := os.MkdirAll(conf, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "config.yml"), []byte("remotes:\n  fake:\n    addr: unix://"+sock+"\n    protocol: incus\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out []string
	rt := lxdstar.New(
		lxdstar.WithEnv(map[string]string{"INCUS_SOCKET": sock, "INCUS_CONF": conf, "HOME": t.TempDir()}),
		lxdstar.WithPrint(func(msg string) { out = append(out, msg) }))
	_, err := rt.Run(context.Background(), "env.star", []byte(`
print(repr(lxd.Client()))
print(repr(lxd.Client(remote="fake")))
print(catch(lxd.Client, remote="nope").error.message)
print("LXD_SOCKET" in sys.env)
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 4 || out[0] != "<Client "+sock+">" || out[1] != "<Client "+sock+">" || out[3] != "False" {
		t.Fatalf("output: %q", out)
	}
	if !strings.Contains(out[2], "incus configuration "+filepath.Join(conf, "config.yml")+", known remotes: fake, local") ||
		strings.Contains(out[2], "process-conf") {
		t.Fatalf("unknown remote: %s", out[2])
	}
	if *requests != 2 {
		t.Fatalf("%d requests reached the fake server, want 2", *requests)
	}
}

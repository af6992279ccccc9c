package tests

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// lxcConfDir builds an lxc configuration directory as `lxc remote add`
// leaves it: config.yml, a trusted client.crt/client.key, and the pinned
// server certificates. "main" pins the daemon's real certificate, "forged"
// the same address with another certificate.
func lxcConfDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	client := newTestCert(t, dir, "client")
	client.trust(t)
	if err := os.MkdirAll(filepath.Join(dir, "servercerts"), 0o700); err != nil {
		t.Fatal(err)
	}
	server, err := os.ReadFile("/var/lib/lxd/server.crt")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "servercerts", "main.crt"), server, 0o600); err != nil {
		t.Fatal(err)
	}
	forged := newTestCert(t, t.TempDir(), "forged")
	if err := os.WriteFile(filepath.Join(dir, "servercerts", "forged.crt"), forged.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	config := `# written by lxc, then edited by hand
default-remote: main
remotes:
  images:
    addr: https://images.linuxcontainers.org
    protocol: simplestreams
    public: true
  main:
    addr: "https://127.0.0.1:8443"   # the test bed's main daemon
    auth_type: tls
    protocol: lxd
    public: false
  forged:
    addr: 'https://127.0.0.1:8443/'
    protocol: lxd
    public: false
  sock:
    addr: unix:///var/lib/lxd/unix.socket
    public: false
    project: default
aliases: {}
`
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRemoteFromLXCConfig(t *testing.T) {
	// t.Setenv: not parallel.
	needSocket(t, mainSocket)
	t.Setenv("LXD_CONF", lxcConfDir(t))
	newScript(t, "").mustRun(`
c = lxd.Client(remote="main")
if repr(c) != "<Client https://127.0.0.1:8443>" or not c.trusted:
    fail("main: %s trusted=%s" % (repr(c), c.trusted))
if type(c.instances.all()) != "list":
    fail("cannot list")

r = catch(lxd.Client, remote="forged")
if not r.error or not r.error.is_a("ClientConnectionFailed"):
    fail("a wrong pinned certificate was accepted: %s" % r)

r = catch(lxd.Client, remote="nope")
if not r.error or not r.error.is_a("ClientConnectionFailed") or "known remotes: forged, images, local, main, sock" not in r.error.message:
    fail("unknown remote: %s" % r)

r = catch(lxd.Client, remote="images")
if not r.error or "simplestreams" not in r.error.message:
    fail("image server remote: %s" % r)

for name in ["local", "sock"]:
    s = lxd.Client(remote=name)
    if "unix.socket" not in repr(s) or not s.trusted:
        fail("%s: %s" % (name, repr(s)))
if lxd.Client(remote="sock").project != "default":
    fail("the remote's project was not used")
r = catch(lxd.Client, remote="sock", project="no-such-project-x")
if not r.error or not r.error.is_a("NotFound") or 'project "no-such-project-x"' not in r.error.message:
    fail("project= does not beat the remote's: %s" % r)

# verify=False drops the pinned certificate, as lxc --insecure would.
if not lxd.Client(remote="forged", verify=False).trusted:
    fail("verify=False")

r = catch(lxd.Client, endpoint="/var/lib/lxd/unix.socket", remote="main")
if not r.error or "not both" not in r.error.message:
    fail("endpoint and remote: %s" % r)
r = catch(lxd.Client, remote=1)
if not r.error or "for parameter remote" not in r.error.message:
    fail("remote=1: %s" % r)
`)
}

// The CLI's --remote reaches lxd.Client() through lxdmod.Config.Remote.
func TestRemoteAsHostDefault(t *testing.T) {
	needSocket(t, mainSocket)
	t.Setenv("LXD_CONF", lxcConfDir(t))
	s := newScript(t, "")
	s.cfg = lxdmod.Config{Remote: "main"}
	s.mustRun(`
c = lxd.Client()
if repr(c) != "<Client https://127.0.0.1:8443>" or not c.trusted:
    fail("default remote: %s" % repr(c))
e = lxd.Client(endpoint="/var/lib/lxd/unix.socket")
if "unix.socket" not in repr(e):
    fail("endpoint= does not beat the default remote: %s" % repr(e))
`)
	s.cfg = lxdmod.Config{Remote: "forged"}
	_, err := s.run(`lxd.Client()`)
	var e *rest.Error
	if !errors.As(err, &e) || e.Kind != rest.KindConnection || !strings.Contains(err.Error(), "ClientConnectionFailed") {
		t.Fatalf("forged default remote: %v", err)
	}
	// The cause names the pin (the message itself only names the URL).
	if e.Err == nil || !strings.Contains(e.Err.Error(), "pinned certificate") {
		t.Fatalf("cause of the refusal: %v", e.Err)
	}
}

// Without LXD_CONF the lxc configuration is looked up under $HOME.
func TestRemoteConfigUnderHome(t *testing.T) {
	needSocket(t, mainSocket)
	home := t.TempDir()
	conf := filepath.Join(home, ".config", "lxc")
	if err := os.MkdirAll(conf, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "config.yml"), []byte("remotes:\n  here: {addr: \"unix:///var/lib/lxd/unix.socket\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LXD_CONF", "")
	t.Setenv("HOME", home)
	newScript(t, "").mustRun(`
if not lxd.Client(remote="here").trusted:
    fail("remote from ~/.config/lxc")
`)
}

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

// cliConfDir builds a command-line client's configuration directory as
// `lxc remote add` or `incus remote add` leave it: config.yml, a
// client.crt/client.key trusted by the daemons at trustSockets, and
// servercerts/<name>.crt for each pinned certificate.
func cliConfDir(t *testing.T, config string, pins map[string][]byte, trustSockets ...string) string {
	t.Helper()
	dir := t.TempDir()
	client := newTestCert(t, dir, "client")
	for _, sock := range trustSockets {
		client.trustAt(t, sock)
	}
	if err := os.MkdirAll(filepath.Join(dir, "servercerts"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, pem := range pins {
		if err := os.WriteFile(filepath.Join(dir, "servercerts", name+".crt"), pem, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// serverCert reads a daemon's own certificate, to pin it.
func serverCert(t *testing.T, daemonDir string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(daemonDir, "server.crt"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// lxcConfDir builds an lxc configuration directory whose "main" pins the
// main daemon's real certificate and "forged" the same address with
// another certificate.
func lxcConfDir(t *testing.T) string {
	t.Helper()
	forged := newTestCert(t, t.TempDir(), "forged")
	pins := map[string][]byte{"main": serverCert(t, "/var/lib/lxd"), "forged": forged.certPEM}
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
	return cliConfDir(t, config, pins, mainSocket)
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
if not r.error or 'for parameter "remote"' not in r.error.message:
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

// remote= falls back on Incus's configuration: an incus-style directory
// (INCUS_CONF, or ~/.config/incus under HOME) reaches the main LXD daemon
// over HTTPS, and the Incus daemon when the test bed has one. The
// environment is injected (lxdmod.Config.Getenv), never the process's.
func TestRemoteFromIncusConfig(t *testing.T) {
	t.Parallel()
	needSocket(t, mainSocket)
	const incusSocket, incusHTTPS = "/var/lib/incus/unix.socket", "https://127.0.0.1:8446"
	fi, err := os.Stat(incusSocket)
	haveIncus := err == nil && fi.Mode()&os.ModeSocket != 0
	pins := map[string][]byte{"lxdmain": serverCert(t, "/var/lib/lxd")}
	trusted := []string{mainSocket}
	config := `default-remote: local
remotes:
  images:
    addr: https://images.linuxcontainers.org
    protocol: simplestreams
    public: true
  local:
    addr: unix://
    protocol: incus
    public: false
  lxdmain:
    addr: https://127.0.0.1:8443
    auth_type: tls
    protocol: incus
    public: false
`
	if haveIncus {
		pins["incusd"] = serverCert(t, "/var/lib/incus")
		trusted = append(trusted, incusSocket)
		config += "  incusd:\n    addr: " + incusHTTPS + "\n    auth_type: tls\n    protocol: incus\n    public: false\n"
	}
	incus := cliConfDir(t, config+"aliases: {}\n", pins, trusted...)
	// lxc's configuration exists but knows none of these remotes, and holds
	// no client certificate.
	lxc := t.TempDir()
	if err := os.WriteFile(filepath.Join(lxc, "config.yml"), []byte("remotes:\n  elsewhere: {addr: \"unix:///nonexistent.socket\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	home := t.TempDir() // nothing under ~/.config: only the variables count
	run := func(t *testing.T, env map[string]string, src string) {
		s := newScript(t, "")
		s.cfg = lxdmod.Config{Getenv: func(k string) string { return env[k] }}
		s.mustRun(src)
	}

	t.Run("lxd", func(t *testing.T) {
		run(t, map[string]string{"LXD_CONF": lxc, "INCUS_CONF": incus, "HOME": home}, `
c = lxd.Client(remote="lxdmain")
if repr(c) != "<Client https://127.0.0.1:8443>" or not c.trusted:
    fail("lxdmain: %s trusted=%s" % (repr(c), c.trusted))
if c.host_info["environment"]["server"] != "lxd":
    fail("not LXD: %s" % c.host_info["environment"]["server"])
if type(c.instances.all()) != "list":
    fail("cannot list")

# An https endpoint without cert= takes incus's client certificate when
# lxc has none.
if not lxd.Client(endpoint="https://127.0.0.1:8443", verify=False).trusted:
    fail("incus's client certificate was not used")

r = catch(lxd.Client, remote="nope")
msg = r.error.message if r.error else ""
if not r.error.is_a("ClientConnectionFailed") or "known remotes: elsewhere, local; incus configuration" not in msg or "known remotes: images, incusd, local, lxdmain)" not in msg and "known remotes: images, local, lxdmain)" not in msg:
    fail("unknown remote: %s" % r)
r = catch(lxd.Client, remote="images")
if not r.error or "simplestreams" not in r.error.message:
    fail("image server remote: %s" % r)
`)
		// The same directory found as ~/.config/incus.
		h := t.TempDir()
		if err := os.MkdirAll(filepath.Join(h, ".config"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(incus, filepath.Join(h, ".config", "incus")); err != nil {
			t.Fatal(err)
		}
		run(t, map[string]string{"HOME": h}, `
c = lxd.Client(remote="lxdmain")
if not c.trusted:
    fail("lxdmain from ~/.config/incus: %s" % c.trusted)
`)
	})

	t.Run("incus", func(t *testing.T) {
		if !haveIncus {
			t.Skipf("no Incus daemon at %s", incusSocket)
		}
		run(t, map[string]string{"LXD_CONF": lxc, "INCUS_CONF": incus, "HOME": home}, `
c = lxd.Client(remote="incusd")
if repr(c) != "<Client https://127.0.0.1:8446>" or not c.trusted:
    fail("incusd: %s trusted=%s" % (repr(c), c.trusted))
if c.host_info["environment"]["server"] != "incus":
    fail("not Incus: %s" % c.host_info["environment"]["server"])
if type(c.instances.all()) != "list":
    fail("cannot list")
`)
		// Socket discovery through INCUS_DIR reaches the Incus daemon.
		run(t, map[string]string{"INCUS_DIR": "/var/lib/incus", "LXD_DIR": "/nonexistent"}, `
c = lxd.Client()
if repr(c) != "<Client /var/lib/incus/unix.socket>" or c.host_info["environment"]["server"] != "incus":
    fail("INCUS_DIR: %s" % repr(c))
`)
	})
}

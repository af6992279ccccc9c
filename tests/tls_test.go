package tests

// TLS: verification is on by default and refuses LXD's self-signed
// certificate; verify=<path> pins a certificate; a wrong pin is refused.
// Client keys and the trust password never show in any output: trace,
// errors, repr, the command's stdout and stderr.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

const (
	mainServerCert   = "/var/lib/lxd/server.crt"
	secondServerCert = "/var/lib/lxd2/server.crt"
)

func TestTLSVerification(t *testing.T) {
	t.Parallel()
	out := newScript(t, "").with("URL", starlark.String(mainHTTPS)).mustRun(`
def kind_and_message(r):
    return "%s|%s" % (r.error.kind, r.error.message) if r.error else "ok trusted=%s" % r.value.trusted

print(kind_and_message(catch(lxd.Client, URL)))
print(kind_and_message(catch(lxd.Client, URL, verify=True)))
print(kind_and_message(catch(lxd.Client, URL, verify="` + mainServerCert + `")))
print(kind_and_message(catch(lxd.Client, URL, verify="` + secondServerCert + `")))
print(kind_and_message(catch(lxd.Client, URL, verify=False)))
print(kind_and_message(catch(lxd.Client, URL, verify="/nonexistent.crt")))
print(kind_and_message(catch(lxd.Client, URL, verify=42)))
`)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 7, out)
	for i, want := range []string{
		"ClientConnectionFailed|cannot talk to LXD at " + mainHTTPS + ": ", // default: self-signed refused
		"ClientConnectionFailed|cannot talk to LXD at " + mainHTTPS + ": ",
		"ok trusted=False", // pinned: works (no client certificate: untrusted)
		"ClientConnectionFailed|cannot talk to LXD at " + mainHTTPS + ": ",
		"ok trusted=False",
		"ClientConnectionFailed|cannot read server certificate /nonexistent.crt",
		"ClientConnectionFailed|lxd.Client: for parameter \"verify\": got int, want bool or path string",
	} {
		if i == 6 {
			// Not a connection error: a plain argument error.
			assert.Contains(t, lines[i], "lxd.Client: for parameter \"verify\": got int, want bool or path string")
			continue
		}
		assert.True(t, strings.HasPrefix(lines[i], want), "line %d: %q, want prefix %q", i, lines[i], want)
	}
	assert.Contains(t, lines[0], "certificate signed by unknown authority")
	assert.Contains(t, lines[3], "does not match the pinned certificate "+secondServerCert)
}

// TestTLSPinnedTrustedClientWorks: a trusted client certificate over a
// pinned connection does everything, websockets (exec) included.
func TestTLSPinnedTrustedClientWorks(t *testing.T) {
	t.Parallel()
	name := uniqueName("tlspin")
	createInstance(t, mainSocket, name, true)
	crt, key := trustedClientCert(t, lxdServer())
	out := newScript(t, "").with("URL", starlark.String(mainHTTPS)).with("crt", starlark.String(crt)).
		with("key", starlark.String(key)).with("name", starlark.String(name)).mustRun(`
c = lxd.Client(URL, cert=(crt, key), verify="` + mainServerCert + `")
print(c.trusted, c.instances.get(name).execute(["echo", "pinned"]).stdout.strip())
`)
	assert.Equal(t, "True pinned\n", out)
}

// secretWatch collects everything a run shows (trace, prints, errors) and
// checks that none of the secrets appear in it.
type secretWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	secrets map[string]string // description -> secret text
}

func (w *secretWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (w *secretWatch) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	text := w.buf.String()
	for what, secret := range w.secrets {
		if secret != "" && strings.Contains(text, secret) {
			t.Errorf("the %s appears in the output:\n%s", what, text)
		}
	}
}

// keySecrets are the parts of a PEM key file that must never be shown:
// the whole file and each of its base64 lines.
func keySecrets(t *testing.T, keyPath string) map[string]string {
	data, err := os.ReadFile(keyPath)
	require.NoError(t, err)
	out := map[string]string{"key file": string(data)}
	for i, line := range strings.Split(string(data), "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") {
			out[fmt.Sprintf("key line %d", i)] = line
		}
	}
	return out
}

// TestTLSSecretsNeverShown trusts a fresh client certificate with the trust
// password through lxdstar itself (client.authenticate), uses it, fails in
// many ways, and checks the trace, the prints and the errors.
func TestTLSSecretsNeverShown(t *testing.T) {
	t.Parallel()
	name := uniqueName("tlssec")
	createInstance(t, mainSocket, name, true)
	crt, key, der := newClientCert(t)
	crt2, key2, _ := newClientCert(t) // never trusted
	fingerprint := sha256Hex(der)
	t.Cleanup(func() {
		_, err := restClient(t, mainSocket).Do(context.Background(), &rest.Request{Method: "DELETE", Path: rest.Path("certificates", fingerprint)})
		if err != nil && !errors.Is(err, rest.ErrNotFound) {
			t.Errorf("removing the test certificate: %v", err)
		}
	})
	keyPEM, err := os.ReadFile(key)
	require.NoError(t, err)
	crtPEM, err := os.ReadFile(crt)
	require.NoError(t, err)

	w := &secretWatch{secrets: keySecrets(t, key)}
	for k, v := range keySecrets(t, key2) {
		w.secrets["second "+k] = v
	}
	w.secrets["trust password"] = trustPassword()

	s := newScript(t, mainHTTPS)
	s.cfg.Trace = w
	s.with("PASSWORD", starlark.String(trustPassword())).with("crt", starlark.String(crt)).with("key", starlark.String(key)).
		with("crt2", starlark.String(crt2)).with("key2", starlark.String(key2)).with("name", starlark.String(name)).
		with("KEY_PEM", starlark.String(keyPEM)).with("CRT_PEM", starlark.String(crtPEM))
	src := `
PIN = "` + mainServerCert + `"
URL = "` + mainHTTPS + `"
def show(r):
    print(r)
    if r.error:
        print(r.error.kind, r.error.message)

c = lxd.Client(URL, cert=(crt, key), verify=PIN)
print(c, c.trusted)
show(catch(c.authenticate, "wrong-" + PASSWORD))
c.authenticate(PASSWORD)
print(c, c.trusted)
inst = c.instances.get(name)
print(inst, inst.execute(["echo", "hi"]))
show(catch(c.instances.get, "absent-" + name))
show(catch(c.certificates.create, PASSWORD + "x", CRT_PEM))
show(catch(c.certificates.create, PASSWORD, KEY_PEM))

untrusted = lxd.Client(URL, cert=(crt2, key2), verify=PIN)
show(catch(untrusted.authenticate, "wrong-" + PASSWORD))
show(catch(untrusted.instances.all))
show(catch(lxd.Client, URL, cert=(crt, key2), verify=PIN))
show(catch(lxd.Client, URL, cert=(key, crt), verify=PIN))
show(catch(lxd.Client, URL, cert=(CRT_PEM, KEY_PEM), verify=PIN))
show(catch(lxd.Client, URL, cert=(crt, KEY_PEM), verify=PIN))
show(catch(lxd.Client, URL, cert=(crt, key), verify=KEY_PEM))
show(catch(lxd.Client, URL, cert=(crt, key), verify=key))
show(catch(lxd.Client, URL, cert=(crt, "/nonexistent/" + KEY_PEM)))
`
	out, err := s.run(src)
	require.NoError(t, err, out)
	w.Write([]byte(out))
	t.Logf("script output:\n%s", out)
	assert.Contains(t, out, "True\n", "sanity: authenticate worked")
	w.check(t)

	// A failing script: the error (with its backtrace) is output too.
	_, err = newScript(t, mainHTTPS).with("PASSWORD", starlark.String(trustPassword())).with("crt", starlark.String(crt2)).
		with("key", starlark.String(key2)).run(`lxd.Client("` + mainHTTPS + `", cert=(crt, key), verify=False).authenticate("x" + PASSWORD)`)
	require.Error(t, err)
	w.Write([]byte(err.Error()))
	w.check(t)

	// The command, with LXDSTAR_TRACE=1 and --cert/--key flags.
	cmd := exec.Command(lxdstarBinary(t), "--endpoint", mainHTTPS, "--cert", crt, "--key", key, "-c", `
c = lxd.Client(verify="`+mainServerCert+`")
print(c, c.trusted, c.instances.get(sys.argv[1]).execute(["true"]))
c.authenticate(sys.env["PW"])
catch(lxd.Client(cert=(sys.argv[2], sys.argv[3]), verify=False).authenticate, sys.env["PW"] + "!")
lxd.Client(cert=(sys.argv[2], sys.argv[3]), verify=False).authenticate("wrong" + sys.env["PW"])
`, name, crt2, key2)
	cmd.Env = append(os.Environ(), "LXDSTAR_TRACE=1", "PW="+trustPassword())
	var both bytes.Buffer
	cmd.Stdout, cmd.Stderr = &both, &both
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() { <-ctx.Done(); _ = cmd.Process.Kill() }()
	err = cmd.Run()
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee) && ee.ExitCode() == 1, "want exit 1 from the failed authenticate: %v\n%s", err, both.String())
	assert.Contains(t, both.String(), "lxdstar: POST /1.0/certificates", "the trace is on")
	w.Write(both.Bytes())
	w.check(t)
}

package tests

// Trust between client and server: TLS verification, client certificates
// (client.certificates, trust passwords) and remotes read from lxc's and
// Incus's configuration.
//
// TLS: verification is on by default and refuses LXD's self-signed
// certificate; verify=<path> pins a certificate; a wrong pin is refused.
// Client keys and the trust password never show in any output: trace,
// errors, repr, the command's stdout and stderr.

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/syncbuf"
	"github.com/lxdstar/lxdstar/lxdmod"
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
	name := newInstance(t, mainSocket, "tlspin", true)
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
	name := newInstance(t, mainSocket, "tlssec", true)
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

// trustedClientCert makes a client certificate in t.TempDir(), has the
// server trust it and removes the trust when the test ends. LXD is given its
// trust password over HTTPS with that very certificate; Incus, which has no
// trust passwords, is handed the certificate over its unix socket.
func trustedClientCert(t *testing.T, srv server) (crtPath, keyPath string) {
	t.Helper()
	crtPath, keyPath, der := newClientCert(t)
	body := map[string]any{"type": "client", "name": "lxdstar-test-" + strings.ReplaceAll(t.Name(), "/", "-"),
		"certificate": base64.StdEncoding.EncodeToString(der)}
	hc := restClient(t, srv.Socket)
	if srv.Name == "lxd" {
		var err error
		hc, err = rest.New(rest.Config{Endpoint: srv.HTTPS, CertFile: crtPath, KeyFile: keyPath, Insecure: true})
		require.NoError(t, err)
		body["password"] = trustPassword()
	}
	_, err := hc.Do(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("certificates"), Body: body})
	require.NoError(t, err, "trusting the test certificate")
	sum := sha256.Sum256(der)
	fingerprint := hex.EncodeToString(sum[:])
	t.Cleanup(func() {
		_, err := restClient(t, srv.Socket).Do(context.Background(), &rest.Request{Method: "DELETE", Path: rest.Path("certificates", fingerprint)})
		if err != nil && !errors.Is(err, rest.ErrNotFound) {
			t.Errorf("removing the test certificate: %v", err)
		}
	})
	return crtPath, keyPath
}

// newClientCert writes a fresh self-signed client certificate and its key
// (PEM) to t.TempDir() and returns their paths and the certificate (DER).
func newClientCert(t *testing.T) (crtPath, keyPath string, der []byte) {
	t.Helper()
	c := newTestCert(t, t.TempDir(), "client")
	return c.crtFile, c.keyFile, c.der
}

// testCert is a freshly generated self-signed client certificate.
type testCert struct {
	der             []byte
	certPEM, keyPEM []byte
	fingerprint     string
	crtFile         string
	keyFile         string
}

// newTestCert generates a certificate and writes it to dir as name.crt
// and name.key.
func newTestCert(t testing.TB, dir, name string) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "lxdstar-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	c := &testCert{
		der:         der,
		certPEM:     pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:      pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}),
		fingerprint: hex.EncodeToString(sum[:]),
		crtFile:     filepath.Join(dir, name+".crt"),
		keyFile:     filepath.Join(dir, name+".key"),
	}
	if err := os.WriteFile(c.crtFile, c.certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.keyFile, c.keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return c
}

// untrustLater removes the certificate from the trust store of the server at
// socket when the test ends, whoever added it.
func (tc *testCert) untrustLater(t testing.TB, socket string) {
	t.Helper()
	c := restClient(t, socket)
	cleanupPath(t, c, rest.Path("certificates", tc.fingerprint))
}

// trust adds the certificate to the main daemon's trust store directly.
func (tc *testCert) trust(t testing.TB) {
	t.Helper()
	tc.trustAt(t, mainSocket)
}

// trustAt adds the certificate to the trust store of the daemon (LXD or
// Incus) at socket, until the test ends.
func (tc *testCert) trustAt(t testing.TB, socket string) {
	t.Helper()
	tc.untrustLater(t, socket)
	block, _ := pem.Decode(tc.certPEM)
	body := map[string]any{"type": "client", "name": "lxdstar-test", "certificate": base64.StdEncoding.EncodeToString(block.Bytes)}
	if _, err := restClient(t, socket).Do(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("certificates"), Body: body}); err != nil {
		t.Fatal(err)
	}
}

func TestCertificatesCreateSaveDelete(t *testing.T) {
	parallelOnEachServer(t, testCertificatesCreateSaveDelete)
}

func testCertificatesCreateSaveDelete(t *testing.T, srv server) {
	c := restClient(t, srv.Socket)
	dir := t.TempDir()
	pemCert, bytesCert := newTestCert(t, dir, "a"), newTestCert(t, dir, "b")
	pemCert.untrustLater(t, srv.Socket)
	bytesCert.untrustLater(t, srv.Socket)
	name := uniqueName("cert")

	newScript(t, srv.Socket).with("pem", starlark.String(pemCert.certPEM)).with("pem_bytes", starlark.Bytes(bytesCert.certPEM)).
		with("fp", starlark.String(pemCert.fingerprint)).with("fp2", starlark.String(bytesCert.fingerprint)).
		with("name", starlark.String(name)).mustRun(`
client = lxd.Client()
cert = client.certificates.create(None, pem, name=name)
if cert.fingerprint != fp or cert.type != "client" or cert.name != name or cert.restricted or cert.projects != []:
    fail("created certificate reads %s" % cert.to_dict())
if not cert.certificate.startswith("-----BEGIN CERTIFICATE-----") or cert.dirty:
    fail("certificate field: %s" % cert.certificate)
if repr(cert) != '<Certificate "%s" client %s>' % (fp[:12], name):
    fail("repr: %s" % repr(cert))
if client.certificates.get(fp) != cert or fp not in [x.fingerprint for x in client.certificates.all()]:
    fail("get/all")

cert.name = name + "-renamed"
cert.restricted = True
cert.projects = ["default"]
cert.save()
if cert.dirty or cert.name != name + "-renamed" or not cert.restricted or cert.projects != ["default"]:
    fail("after save: %s" % cert.to_dict())
def set_fingerprint():
    cert.fingerprint = "x"
r = catch(set_fingerprint)
if not r.error or "read-only" not in r.error.message:
    fail("fingerprint assignable: %s" % r)

metrics = client.certificates.create("", pem_bytes, cert_type="metrics", name=name + "-m", projects=["default"], restricted=True)
if metrics.fingerprint != fp2 or metrics.type != "metrics" or metrics.projects != ["default"] or not metrics.restricted:
    fail("metrics certificate: %s" % metrics.to_dict())
metrics.delete()
`)
	got := serverObject(t, c, rest.Path("certificates", pemCert.fingerprint))
	if got["name"] != name+"-renamed" || got["restricted"] != true || len(got["projects"].([]any)) != 1 {
		t.Fatalf("server has %v", got)
	}
	requireGone(t, c, rest.Path("certificates", bytesCert.fingerprint), "metrics certificate survived delete()")
	newScript(t, srv.Socket).with("fp", starlark.String(pemCert.fingerprint)).mustRun(`
client = lxd.Client()
client.certificates.get(fp).delete()
r = catch(client.certificates.get, fp)
if not r.error or not r.error.is_a("NotFound"):
    fail("get after delete: %s" % r)
`)
	requireGone(t, c, rest.Path("certificates", pemCert.fingerprint), "certificate survived delete()")
}

func TestCertificatesCreateArguments(t *testing.T) {
	t.Parallel()
	s := newScript(t, "")
	mustFail(t, s, `lxd.Client().certificates.create(None, "not a certificate")`, "certificates.create: for parameter cert_data: not an X.509 certificate")
	mustFail(t, s, `lxd.Client().certificates.create(None, 42)`, "certificates.create: for parameter cert_data: got int, want str or bytes")
	mustFail(t, s, `lxd.Client().certificates.create(None, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")`, `PEM block is "PRIVATE KEY"`)
	mustFail(t, s, `lxd.Client().certificates.create(1, "x")`, "certificates.create: for parameter password: got int, want string or None")
}

// authenticate over HTTPS from a certificate the server has never seen:
// a wrong password fails clearly and leaves the client untrusted; the
// right one trusts it. The password never shows in errors or traces.
func TestAuthenticateWithTrustPassword(t *testing.T) {
	t.Parallel()
	needSocket(t, mainSocket)
	cert := newTestCert(t, t.TempDir(), "client")
	cert.untrustLater(t, mainSocket)
	wrong := "not-the-password-" + uniqueName("pw")
	var trace syncbuf.Buffer // trace lines may come from several goroutines
	s := newScript(t, "").with("crt", starlark.String(cert.crtFile)).with("key", starlark.String(cert.keyFile)).
		with("wrong", starlark.String(wrong)).with("secret", starlark.String(trustPassword())).
		with("endpoint", starlark.String(mainHTTPS))
	s.cfg.Trace = &trace
	out := s.mustRun(`
c = lxd.Client(endpoint=endpoint, cert=(crt, key), verify="/var/lib/lxd/server.crt")
if c.trusted:
    fail("a fresh certificate is trusted")
r = catch(c.authenticate, wrong)
if not r.error or not r.error.is_a("LXDAPIException") or r.error.status_code != 403:
    fail("wrong password: %s" % r)
print(r.error.message)
if c.trusted:
    fail("trusted after a wrong password")
r = catch(c.instances.all)
if not r.error:
    fail("an untrusted client listed instances")

c.authenticate(secret)
if not c.trusted:
    fail("not trusted after authenticate")
c.authenticate(secret)        # already trusted: nothing to do
if type(c.instances.all()) != "list" or "config" not in c.host_info:
    fail("trusted client cannot work")
`)
	if !strings.Contains(out, "refused the trust password or token") {
		t.Errorf("wrong-password message: %q", out)
	}
	for what, text := range map[string]string{"output": out, "trace": trace.String()} {
		if strings.Contains(text, wrong) || strings.Contains(text, trustPassword()) {
			t.Errorf("the %s shows a password: %q", what, text)
		}
	}
	if !serverExists(t, restClient(t, mainSocket), rest.Path("certificates", cert.fingerprint)) {
		t.Fatal("authenticate() did not add the certificate")
	}
	// Untrusted again, an uncaught failure (error and backtrace) must not
	// show the password either.
	deletePath(restClient(t, mainSocket), rest.Path("certificates", cert.fingerprint))
	_, err := newScript(t, "").with("crt", starlark.String(cert.crtFile)).with("key", starlark.String(cert.keyFile)).
		with("wrong", starlark.String(wrong)).with("endpoint", starlark.String(mainHTTPS)).run(`
lxd.Client(endpoint=endpoint, cert=(crt, key), verify=False).authenticate(wrong)
`)
	if err == nil || strings.Contains(err.Error(), wrong) || !strings.Contains(err.Error(), "LXDAPIException") {
		t.Fatalf("uncaught wrong password: %v", err)
	}
	if serverExists(t, restClient(t, mainSocket), rest.Path("certificates", cert.fingerprint)) {
		t.Fatal("the certificate is still trusted")
	}
}

// A trust token (lxc config trust add) works as the secret too.
func TestAuthenticateWithToken(t *testing.T) { parallelOnEachServer(t, testAuthenticateWithToken) }

func testAuthenticateWithToken(t *testing.T, srv server) {
	c := restClient(t, srv.Socket)
	cert := newTestCert(t, t.TempDir(), "client")
	cert.untrustLater(t, srv.Socket)
	name := uniqueName("tok")
	token := newTrustToken(t, c, name)

	out := newScript(t, srv.Socket).with("crt", starlark.String(cert.crtFile)).with("key", starlark.String(cert.keyFile)).
		with("token", starlark.String(token)).with("endpoint", starlark.String(srv.HTTPS)).mustRun(`
c = lxd.Client(endpoint=endpoint, cert=(crt, key), verify=False)
if c.trusted:
    fail("trusted before authenticate")
r = catch(c.authenticate, "bm90IGEgdG9rZW4K")
print(r.error.kind, r.error.message)
c.authenticate(token)
if not c.trusted:
    fail("not trusted after authenticate(token)")
`)
	// The server's own refusal, naming it.
	display := map[string]string{"lxd": "LXD", "incus": "Incus"}[srv.Name]
	if !strings.HasPrefix(out, "LXDAPIException "+display+" at "+srv.HTTPS+" refused the trust") {
		t.Errorf("a bad token: %q", out)
	}
	got := serverObject(t, c, rest.Path("certificates", cert.fingerprint))
	if got["name"] != name {
		t.Fatalf("trusted certificate: %v", got)
	}
}

// newTrustToken asks the server at c for a trust token for a client named
// name (what `lxc config trust add` prints: base64 of this JSON); the
// pending token is revoked when the test ends.
func newTrustToken(t testing.TB, c *rest.Client, name string) string {
	t.Helper()
	r, err := c.Do(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("certificates"),
		Body: map[string]any{"name": name, "type": "client", "token": true}})
	if err != nil {
		t.Fatal(err)
	}
	op, err := rest.AsyncOperation(r)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePath(c, rest.Path("operations", op.ID)) })
	tok, _ := json.Marshal(map[string]any{"client_name": name, "fingerprint": op.Metadata["fingerprint"],
		"addresses": op.Metadata["addresses"], "secret": op.Metadata["secret"], "expires_at": "0001-01-01T00:00:00Z"})
	return base64.StdEncoding.EncodeToString(tok)
}

func TestAuthenticateNeedsCertificate(t *testing.T) {
	// No lxc client certificate to fall back on (t.Setenv: not parallel).
	t.Setenv("LXD_CONF", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	s := newScript(t, "").with("endpoint", starlark.String(mainHTTPS))
	mustFail(t, s, `
c = lxd.Client(endpoint=endpoint, verify=False, cert=None)
if not c.trusted:
    c.authenticate("x")
fail("unreachable: %s" % c.trusted)
`, "no TLS certificate")
}

// client.resources makes one GET /1.0/resources per read.
func TestClientResources(t *testing.T) { parallelOnEachServer(t, testClientResources) }

func testClientResources(t *testing.T, srv server) {
	proxy := newCountingProxy(t, srv.Socket)
	newScript(t, proxy.Socket).mustRun(`
c = lxd.Client()
r = c.resources
if type(r) != "dict" or r["cpu"]["total"] < 1 or r["memory"]["total"] <= 0:
    fail("resources: %s" % r.keys())
c.resources
`)
	n := 0
	for _, req := range proxy.Requests() {
		if strings.HasPrefix(req, "GET /1.0/resources") {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d GET /1.0/resources for two reads:\n%s", n, strings.Join(proxy.Requests(), "\n"))
	}
}

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
	// Scripts get reaches(remote, url, server): the remote connects,
	// trusted, to url, is the server named and lists instances.
	run := func(t *testing.T, env map[string]string, src string) {
		s := newScript(t, "")
		s.cfg = lxdmod.Config{Getenv: func(k string) string { return env[k] }}
		s.mustRun(`
def reaches(remote, url, server):
    c = lxd.Client(remote=remote)
    if repr(c) != "<Client %s>" % url or not c.trusted:
        fail("%s: %s trusted=%s" % (remote, repr(c), c.trusted))
    if c.host_info["environment"]["server"] != server:
        fail("%s is not %s: %s" % (remote, server, c.host_info["environment"]["server"]))
    if type(c.instances.all()) != "list":
        fail("%s: cannot list" % remote)
` + src)
	}

	t.Run("lxd", func(t *testing.T) {
		run(t, map[string]string{"LXD_CONF": lxc, "INCUS_CONF": incus, "HOME": home}, `
reaches("lxdmain", "https://127.0.0.1:8443", "lxd")

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
reaches("incusd", "https://127.0.0.1:8446", "incus")
`)
		// Socket discovery through INCUS_DIR reaches the Incus daemon.
		run(t, map[string]string{"INCUS_DIR": "/var/lib/incus", "LXD_DIR": "/nonexistent"}, `
c = lxd.Client()
if repr(c) != "<Client /var/lib/incus/unix.socket>" or c.host_info["environment"]["server"] != "incus":
    fail("INCUS_DIR: %s" % repr(c))
`)
	})
}

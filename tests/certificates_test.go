package tests

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
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// testCert is a freshly generated self-signed client certificate.
type testCert struct {
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
	t.Parallel()
	eachServer(t, testCertificatesCreateSaveDelete)
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
	if serverExists(t, c, rest.Path("certificates", bytesCert.fingerprint)) {
		t.Fatal("metrics certificate survived delete()")
	}
	newScript(t, srv.Socket).with("fp", starlark.String(pemCert.fingerprint)).mustRun(`
client = lxd.Client()
client.certificates.get(fp).delete()
r = catch(client.certificates.get, fp)
if not r.error or not r.error.is_a("NotFound"):
    fail("get after delete: %s" % r)
`)
	if serverExists(t, c, rest.Path("certificates", pemCert.fingerprint)) {
		t.Fatal("certificate survived delete()")
	}
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
	var trace bytes.Buffer
	s := newScript(t, "").with("crt", starlark.String(cert.crtFile)).with("key", starlark.String(cert.keyFile)).
		with("wrong", starlark.String(wrong)).with("secret", starlark.String(trustPassword())).
		with("endpoint", starlark.String(mainHTTPS))
	s.cfg.Trace = &syncWriter{w: &trace}
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

// syncWriter serialises writes (trace lines may come from several
// goroutines).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// A trust token (lxc config trust add) works as the secret too.
func TestAuthenticateWithToken(t *testing.T) {
	t.Parallel()
	eachServer(t, testAuthenticateWithToken)
}

func testAuthenticateWithToken(t *testing.T, srv server) {
	c := restClient(t, srv.Socket)
	cert := newTestCert(t, t.TempDir(), "client")
	cert.untrustLater(t, srv.Socket)
	name := uniqueName("tok")
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
	// The token is what `lxc config trust add` prints: base64 of this JSON.
	tok, _ := json.Marshal(map[string]any{"client_name": name, "fingerprint": op.Metadata["fingerprint"],
		"addresses": op.Metadata["addresses"], "secret": op.Metadata["secret"], "expires_at": "0001-01-01T00:00:00Z"})
	token := base64.StdEncoding.EncodeToString(tok)

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
func TestClientResources(t *testing.T) {
	t.Parallel()
	eachServer(t, testClientResources)
}

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

package lxdmod

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.certificates: the server's trust store.
var certificatesKind = newKind("certificates", certificateType, collectionMethods,
	map[string]methodFn{"create": certificatesCreate})

var certificateType = newType(&modelType{
	name:     "Certificate",
	writable: []string{"name", "projects", "restricted"},
	// LXD's PUT requires the read-only type ("The certificate type cannot
	// be changed" when it is missing): send it back as the server has it.
	fixBody:    func(m *Model, body map[string]any) { body["type"] = m.serverValue("type") },
	key:        "fingerprint",
	shortKey:   12, // repr shows a prefix, as for images
	collection: func(string) string { return rest.Path("certificates") },
	describe: func(m *Model) string {
		if n := m.str("name"); n != "" {
			return m.str("type") + " " + n
		}
		return m.str("type")
	},
	afterLoad: listDefaults("projects"),
})

// certificates.create(password, cert_data, cert_type="client", name="",
// projects=None, restricted=False) -> Certificate. cert_data is a PEM
// certificate (str or bytes) or DER bytes.
func certificatesCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var (
		password   starargs.OptString // a trust password, or None when the client is trusted already
		der        certificateDER
		certType   = "client"
		name       string
		projects   starargs.Strings
		restricted bool
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "password", &password, "cert_data", &der,
		"cert_type?", &certType, "name?", &name, "projects?", &projects, "restricted?", &restricted); err != nil {
		return nil, err
	}
	projs := []string(projects)
	if projs == nil {
		projs = []string{}
	}
	sum := sha256.Sum256(der)
	fingerprint := hex.EncodeToString(sum[:])
	body := map[string]any{
		"type":        certType,
		"certificate": base64.StdEncoding.EncodeToString(der),
		"name":        name,
		"projects":    projs,
		"restricted":  restricted,
	}
	setIf(body, g.c.trustSecretField(), password.Value)
	if _, err := g.c.rest.ServerWide().Send(ctxOf(thread), rest.Post(rest.Path("certificates"), body)); err != nil {
		return nil, err
	}
	return g.getModel(thread, fingerprint)
}

// certificateDER is an X.509 certificate given as PEM text (str or bytes)
// or DER bytes, as DER.
type certificateDER []byte

func (c *certificateDER) Unpack(v starlark.Value) error {
	var data []byte
	switch x := v.(type) {
	case starlark.String:
		data = []byte(x)
	case starlark.Bytes:
		data = []byte(x)
	default:
		return fmt.Errorf("got %s, want str or bytes (PEM)", v.Type())
	}
	der := data
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "CERTIFICATE" {
			return fmt.Errorf("PEM block is %q, want CERTIFICATE", block.Type)
		}
		der = block.Bytes
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return fmt.Errorf("not an X.509 certificate: %w", err)
	}
	*c = der
	return nil
}

// client.authenticate(secret): trust this client's TLS certificate using
// the server's trust password or a trust token, then re-read the server
// description so client.trusted (and the extensions) are current. The
// secret never appears in errors: only LXD's answer does.
func clientAuthenticate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := b.Receiver().(*Client)
	var secret string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "secret", &secret); err != nil {
		return nil, err
	}
	if c.auth == "trusted" {
		return starlark.None, nil // pylxd does the same: nothing to do
	}
	if tc := c.rest.TLSConfig(); tc == nil || len(tc.Certificates) == 0 {
		return nil, fmt.Errorf("%s: the client has no TLS certificate to trust: create it with cert=(crt_path, key_path) or an lxc client certificate", b.Name())
	}
	if secret == "" {
		return nil, fmt.Errorf("%s: for parameter secret: empty trust password or token", b.Name())
	}
	req := rest.Post(rest.Path("certificates"), map[string]any{"type": "client", c.trustSecretField(): secret})
	if _, err := c.rest.ServerWide().Send(ctxOf(thread), req); err != nil {
		var e *rest.Error
		if rest.IsKind(err, rest.KindAPI) && errors.As(err, &e) {
			what := "trust password or token"
			if c.server.Kind == rest.ServerIncus {
				what = "trust token" // Incus has no trust passwords
			}
			return nil, &rest.Error{Kind: e.Kind, StatusCode: e.StatusCode,
				Message: fmt.Sprintf("%s at %s refused the %s: %s", c.server.Name(), c.rest.Endpoint(), what, e.Message)}
		}
		return nil, err
	}
	if err := c.reload(thread); err != nil {
		return nil, err
	}
	if c.auth != "trusted" {
		return nil, &rest.Error{Kind: rest.KindAPI, Message: fmt.Sprintf("%s accepted the certificate but still reports auth=%q", c.rest.Endpoint(), c.auth)}
	}
	return starlark.None, nil
}

// trustSecretField is where POST /1.0/certificates takes a trust secret:
// LXD 5.0 takes passwords and tokens alike in "password"; Incus, and LXD
// from the explicit_trust_token extension on, take tokens in "trust_token".
func (c *Client) trustSecretField() string {
	if c.server.Kind == rest.ServerIncus || c.exts["explicit_trust_token"] {
		return "trust_token"
	}
	return "password"
}

// reload re-reads GET /1.0 into c (auth, host_info, extensions, cluster):
// a trusted client sees more than an untrusted one.
func (c *Client) reload(thread *starlark.Thread) error {
	fresh, err := wrapClient(ctxOf(thread), c.life, c.rest)
	if err != nil {
		return err
	}
	c.info, c.server, c.auth, c.exts, c.cluster = fresh.info, fresh.server, fresh.auth, fresh.exts, fresh.cluster
	return nil
}

package lxdmod_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

// Every network manager refuses to work on a server without its API
// extension: LXDAPIExtensionNotAvailable naming the method and the
// extension, and nothing sent.
func TestNetworkModelsNeedTheirExtensions(t *testing.T) {
	all := []string{"network_acl", "network_acl_log", "network_forward", "network_peer", "network_dns", "network_dns_records"}
	// withNetworks is a server with the extensions exts, a bridge br0, an
	// ACL a with a log, and a zone z.test.
	withNetworks := func(t *testing.T, exts []string) *script {
		s := newScript(t, fakelxd.Config{Extensions: exts})
		s.f.AddNetwork("br0", nil)
		s.f.Add("/1.0/network-acls/a", fakelxd.Object{"name": "a", "ingress": []any{}, "egress": []any{}, "config": fakelxd.Object{}})
		s.f.Add("/1.0/network-zones/z.test", fakelxd.Object{"name": "z.test", "config": fakelxd.Object{}})
		s.f.Intercept("GET /1.0/network-acls/a/log", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write([]byte("{\"action\":\"drop\"}\n"))
		}))
		return s
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
			s := withNetworks(t, slices.DeleteFunc(slices.Clone(all), func(e string) bool { return e == tc.ext }))
			s.run(tc.setup)
			for _, call := range tc.calls {
				n := s.mark()
				err := s.fail(call)
				assert.Empty(t, s.requests(n), "%s was refused but sent requests", call)
				method := call[:strings.IndexByte(call, '(')]
				msg := err.Error()
				assert.True(t, strings.HasPrefix(msg, "LXDAPIExtensionNotAvailable: "), "%s: %s", call, msg)
				assert.Contains(t, msg, `lacks the API extension "`+tc.ext+`"`, call)
				assert.Contains(t, msg, method[strings.IndexByte(method, '.')+1:]+":", "%s: the error names the method", call)
				assert.Equal(t, []string{"LXDAPIExtensionNotAvailable"}, kinds(err), call)
			}
		})
	}

	// With the extension, log() returns LXD's file as it came.
	s := withNetworks(t, all)
	s.run(`acl = c.network_acls.get("a")`)
	n := s.mark()
	s.run(`log = acl.log()`)
	assert.Equal(t, []string{"GET /1.0/network-acls/a/log"}, s.requests(n))
	assert.Equal(t, "{\"action\":\"drop\"}\n", s.str("log"))
}

package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// TestSeedsBExamples runs each of scripts/examples/seeds_b/*.star (pylxd's
// manual examples for profiles, projects, networks, storage, operations and
// certificates) against each server (the certificates example authenticates
// with a trust password: LXD only). Each script asserts with fail() and
// cleans up; the test checks on the server that nothing survived.
func TestSeedsBExamples(t *testing.T) {
	t.Parallel()
	eachServer(t, testSeedsBExamples)
}

func testSeedsBExamples(t *testing.T, srv server) {
	for ex, leftovers := range map[string][]string{
		"profiles":     {"profiles/seed-prof-%s", "profiles/seed-an-profile-%s", "profiles/seed-prof2-%s", "networks/sbbr%s"},
		"projects":     {"projects/seed-proj-%s", "projects/seed-a-project-%s", "projects/seed-a-project-%s-x"},
		"networks":     {"networks/sbnet%s", "networks/sbnew%s", "networks/sbnew%sx"},
		"storage":      {"storage-pools/seed-pool-%s"},
		"operations":   {"instances/seed-ops-%s"},
		"certificates": nil,
	} {
		if ex == "certificates" && srv.Name != "lxd" {
			continue // Incus has no trust passwords
		}
		t.Run(ex, func(t *testing.T) {
			t.Parallel()
			if ex == "networks" || ex == "profiles" { // they make bridges
				holdHostLinks(t)
			}
			src, err := os.ReadFile(filepath.Join("..", "scripts", "examples", "seeds_b", ex+".star"))
			if err != nil {
				t.Fatal(err)
			}
			suffix := strings.TrimPrefix(uniqueName("x"), "t-x-")
			dir := t.TempDir()
			// The manual's `openssl req ...` step: a fresh keypair.
			cert := newTestCert(t, dir, "lxd")
			cert.untrustLater(t, srv.Socket)
			s := newScript(t, srv.Socket)
			s.args = []string{suffix, dir, srv.HTTPS}
			out := s.mustRun(string(src))
			if !strings.HasSuffix(out, ex+" example: ok\n") {
				t.Fatalf("output:\n%s", out)
			}
			if strings.Contains(out, trustPassword()) {
				t.Fatalf("the output shows the trust password:\n%s", out)
			}
			c := restClient(t, srv.Socket)
			for _, p := range append(leftovers, "certificates/"+cert.fingerprint) {
				if strings.Contains(p, "%s") {
					p = strings.ReplaceAll(p, "%s", suffix)
				}
				if serverExists(t, c, "/1.0/"+p) {
					t.Errorf("%s left behind", p)
					deletePath(c, rest.Path(strings.Split(p, "/")...))
				}
			}
		})
	}
}

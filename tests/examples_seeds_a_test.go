package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSeedsAExamples runs each of scripts/examples/seeds/{instances,
// snapshots,files,images}.star (pylxd's manual examples) against each
// server through the harness. Each script asserts with fail() and cleans up.
func TestSeedsAExamples(t *testing.T) {
	t.Parallel()
	eachServer(t, testSeedsAExamples)
}

func testSeedsAExamples(t *testing.T, srv server) {
	for _, ex := range []string{"instances", "snapshots", "files", "images"} {
		t.Run(ex, func(t *testing.T) {
			path := filepath.Join("..", "scripts", "examples", "seeds", ex+".star")
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			suffix := strings.TrimPrefix(uniqueName("x"), "t-x-")
			s := newScript(t, srv.Socket)
			s.args = []string{suffix, t.TempDir()} // sys.argv[0] is the script name
			out := s.mustRun(string(src))
			if !strings.HasSuffix(out, ex+" example: ok\n") {
				t.Fatalf("output:\n%s", out)
			}
			// Nothing the script made may survive it.
			c := restClient(t, srv.Socket)
			for _, kind := range []string{"inst", "empty", "snap", "files", "img"} {
				if serverExists(t, c, "/1.0/instances/seed-"+kind+"-"+suffix) {
					t.Errorf("seed-%s-%s left behind", kind, suffix)
				}
			}
		})
	}
}

package tests

import "testing"

func TestHarnessConnects(t *testing.T) { eachServer(t, testHarnessConnects) }

func testHarnessConnects(t *testing.T, srv server) {
	out := newScript(t, srv.Socket).mustRun(`c = lxd.Client()
print(c.trusted, c.server)`)
	if out != "True "+srv.Name+"\n" {
		t.Fatalf("got %q", out)
	}
}

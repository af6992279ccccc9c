package tests

import "testing"

func TestHarnessConnects(t *testing.T) {
	out := newScript(t, "").mustRun(`c = lxd.Client()
print(c.trusted)`)
	if out != "True\n" {
		t.Fatalf("got %q", out)
	}
}

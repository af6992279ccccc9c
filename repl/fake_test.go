package repl

import (
	"testing"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

// fakeLXD is the fake LXD of internal/fakelxd holding one running
// instance, c1 (for tests that need a model). Completion must make no
// request: Requests lists them as "METHOD /path?query".
type fakeLXD struct {
	*fakelxd.Server
	Socket string
}

func newFakeLXD(t *testing.T) *fakeLXD {
	t.Helper()
	f := fakelxd.New(t, fakelxd.Config{})
	f.AddInstance("c1", fakelxd.Object{"status": "Running"})
	return &fakeLXD{Server: f, Socket: f.Endpoint()}
}

// Requests returns the requests received so far.
func (f *fakeLXD) Requests() []string {
	var out []string
	for _, r := range f.Server.Requests() {
		out = append(out, r.String())
	}
	return out
}

package lxdstar_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/internal/fakelxd"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// A host previews scripts with lxdmod.Config.DryRun, also over the
// connection it shares with them: apply prints its plan through the run's
// print, other writes fail with DryRun, and nothing reaches the server.
func TestEmbeddedDryRun(t *testing.T) {
	f := fakelxd.New(t, fakelxd.Config{})
	rc, err := rest.New(rest.Config{Endpoint: f.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	var printed []string
	rt := lxdstar.New(lxdstar.WithClient(rc), lxdstar.WithLXD(lxdmod.Config{DryRun: true}),
		lxdstar.WithPrint(func(msg string) { printed = append(printed, msg) }))
	_, err = rt.Run(context.Background(), "deploy.star", []byte(`
c = lxd.Client()
c.apply([lxd.profile("web")])
c.profiles.create("web")
`))
	if !errors.Is(err, rest.ErrDryRun) || !strings.Contains(err.Error(), "DryRun: POST /1.0/profiles (would create a profile)") {
		t.Fatalf("err = %v, want the DryRun refusal of the create", err)
	}
	if len(printed) != 1 || printed[0] != "plan: 1 to create\n+ profile web" {
		t.Errorf("printed %q, want the plan", printed)
	}
	for _, r := range f.Requests() {
		if r.Method != "GET" {
			t.Errorf("%s reached the server", r)
		}
	}
	if rc.DryRun() {
		t.Error("the host's own client still writes")
	}
}

package lxdmod_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

// On a server without the extension, each call fails with
// LXDAPIExtensionNotAvailable naming the method and the extension, and
// sends nothing; a bad argument is still reported as such first.
func TestClusterWarningsMetricsNeedTheirExtensions(t *testing.T) {
	// A clustered LXD with no API extension but clustering.
	s := newScript(t, fakelxd.Config{Extensions: []string{"clustering"}, Clustered: true})
	s.f.Add("/1.0/cluster/members/node2", fakelxd.Object{"server_name": "node2", "status": "Online", "description": "", "config": fakelxd.Object{}})
	s.run(`m = c.cluster.members.get("node2")`)
	n := s.mark()
	for _, tc := range []struct{ call, fn, ext string }{
		{`c.cluster.groups.all()`, "cluster.groups.all", "clustering_groups"},
		{`c.cluster.groups.get("g1")`, "cluster.groups.get", "clustering_groups"},
		{`c.cluster.groups.exists("g1")`, "cluster.groups.exists", "clustering_groups"},
		{`c.cluster.groups.create("g1", members=["node2"])`, "cluster.groups.create", "clustering_groups"},
		{`m.evacuate()`, "ClusterMember.evacuate", "clustering_evacuation"},
		{`m.restore(wait=True)`, "ClusterMember.restore", "clustering_evacuation"},
		{`m.state()`, "ClusterMember.state", "cluster_member_state"},
		{`c.warnings.all()`, "warnings.all", "warnings"},
		{`c.warnings.get("0b6aaf46-d6b2-4013-a93c-fd22b616297c")`, "warnings.get", "warnings"},
		{`c.warnings.exists("0b6aaf46")`, "warnings.exists", "warnings"},
		{`c.metrics()`, "Client.metrics", "metrics"},
	} {
		_, err := s.exec(tc.call)
		if k := kinds(err); len(k) == 0 || k[0] != "LXDAPIExtensionNotAvailable" {
			t.Errorf("%s: got %v, want LXDAPIExtensionNotAvailable", tc.call, err)
			continue
		}
		if want := "LXDAPIExtensionNotAvailable: " + tc.fn + ": "; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), `"`+tc.ext+`"`) {
			t.Errorf("%s: %q does not start with %q and name %q", tc.call, err, want, tc.ext)
		}
	}
	// Methods of objects the server does have check their arguments first;
	// a whole collection the server lacks is refused outright.
	for call, want := range map[string]string{
		`c.cluster.groups.get(1)`: "LXDAPIExtensionNotAvailable: cluster.groups.get",
		`m.evacuate(wait=1)`:      "ClusterMember.evacuate: for parameter \"wait\": got int, want bool",
		`c.metrics(1)`:            "Client.metrics: got 1 arguments, want at most 0",
	} {
		_, err := s.exec(call)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", call, err, want)
		}
	}
	if sent := s.requests(n); len(sent) > 0 {
		t.Errorf("requests sent: %v", sent)
	}
}

func TestMetricsAsStructs(t *testing.T) {
	s := newScript(t, fakelxd.Config{Extensions: []string{"metrics"}})
	s.f.Intercept("GET /1.0/metrics", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("# HELP x X.\n# TYPE x gauge\nx{name=\"c1\",project=\"default\"} +Inf\ny 3\n# EOF\n"))
	}))
	s.run(`metrics = [(m.name, m.labels, m.value, type(m.value)) for m in c.metrics()]`)
	if got, want := s.value("metrics").String(), `[("x", {"name": "c1", "project": "default"}, +inf, "float"), ("y", {}, 3.0, "float")]`; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// pylxd's own integration tests (its repository's integration/ directory),
// translated to Starlark in testdata/pylxd/, one function per pylxd test
// named <Class>_<test>. Each runs against the real servers of the test bed
// with fixtures of its own; whatever it creates is deleted afterwards, by
// the unique token every name holds.

// pylxdTest is one translated pylxd test.
type pylxdTest struct {
	file, fn string            // testdata/pylxd/<file>.star, function <Class>_<test>
	image    bool              // needs a busybox image of its own (FIX["image"])
	https    bool              // needs a fresh client certificate and the trust secret
	second   bool              // also uses the second daemon (migration target)
	cluster  bool              // on LXD, runs against a member of the test bed's cluster
	skip     string            // why the test bed cannot run it (on every server)
	skipOn   map[string]string // by server name ("lxd", "incus"): why it cannot run there
}

// pylxdSkipCRIU: live migration of a running container needs CRIU.
const pylxdSkipCRIU = "live migration needs CRIU, which the test bed's servers lack"

// pylxdSkipOneIncus: pylxd migrates between two servers of one kind.
const pylxdSkipOneIncus = "the test bed has one Incus daemon: no second Incus to migrate to (migration between LXD and Incus is the multi-server tests' business)"

var pylxdTests = []pylxdTest{
	{file: "test_client", fn: "TestClient_test_authenticate", https: true},
	{file: "test_client", fn: "TestClient_test_authenticate_with_project", https: true},

	{file: "test_cluster_members", fn: "TestClusterMembers_test_get", cluster: true},

	{file: "test_containers", fn: "TestContainers_test_get"},
	{file: "test_containers", fn: "TestContainers_test_all"},
	{file: "test_containers", fn: "TestContainers_test_create"},
	{file: "test_containers", fn: "TestContainers_test_create_no_name"},
	{file: "test_containers", fn: "TestContainer_test_save"},
	{file: "test_containers", fn: "TestContainer_test_rename"},
	{file: "test_containers", fn: "TestContainer_test_delete"},
	{file: "test_containers", fn: "TestContainer_test_start_stop"},
	{file: "test_containers", fn: "TestContainer_test_snapshot"},
	{file: "test_containers", fn: "TestContainer_test_put_get_file"},
	{file: "test_containers", fn: "TestContainer_test_execute"},
	{file: "test_containers", fn: "TestContainer_test_execute_no_buffer"},
	{file: "test_containers", fn: "TestContainer_test_execute_no_decode"},
	{file: "test_containers", fn: "TestContainer_test_execute_force_decode"},
	{file: "test_containers", fn: "TestContainer_test_execute_pipes"},
	{file: "test_containers", fn: "TestContainer_test_publish", image: true},
	{file: "test_containers", fn: "TestContainer_test_migrate_running", https: true, second: true, skip: pylxdSkipCRIU},
	{file: "test_containers", fn: "TestContainer_test_migrate_local_client", https: true, second: true,
		skipOn: map[string]string{"incus": pylxdSkipOneIncus}},
	{file: "test_containers", fn: "TestContainer_test_migrate_stopped", https: true, second: true,
		skipOn: map[string]string{"incus": pylxdSkipOneIncus}},

	{file: "test_images", fn: "TestImages_test_get", image: true},
	{file: "test_images", fn: "TestImages_test_all", image: true},
	{file: "test_images", fn: "TestImages_test_create", image: true},
	{file: "test_images", fn: "TestImage_test_save", image: true},
	{file: "test_images", fn: "TestImage_test_delete", image: true},
	{file: "test_images", fn: "TestImage_test_export", image: true},

	{file: "test_instances", fn: "TestInstanceWebSocket_test_execute_websocket_handshake"},
	{file: "test_instances", fn: "TestInstanceWebSocket_test_execute_stdin_websocket_handshake"},
	{file: "test_instances", fn: "TestInstances_test_get"},
	{file: "test_instances", fn: "TestInstances_test_all"},
	{file: "test_instances", fn: "TestInstances_test_all_recursion_1"},
	{file: "test_instances", fn: "TestInstances_test_all_recursion_2"},
	{file: "test_instances", fn: "TestInstances_test_all_selective_recursion_disk"},
	{file: "test_instances", fn: "TestInstances_test_all_selective_recursion_multiple_fields"},
	{file: "test_instances", fn: "TestInstances_test_all_selective_recursion_empty_fields"},
	{file: "test_instances", fn: "TestInstances_test_all_selective_recursion_fallback"},

	{file: "test_networks", fn: "TestNetworks_test_get"},
	{file: "test_networks", fn: "TestNetworks_test_all"},
	{file: "test_networks", fn: "TestNetworks_test_create_default_arguments"},
	{file: "test_networks", fn: "TestNetworks_test_create_with_parameters"},
	{file: "test_networks", fn: "TestNetwork_test_save"},
	{file: "test_networks", fn: "TestNetwork_test_rename"},
	{file: "test_networks", fn: "TestNetwork_test_delete"},

	{file: "test_profiles", fn: "TestProfiles_test_get"},
	{file: "test_profiles", fn: "TestProfiles_test_all"},
	{file: "test_profiles", fn: "TestProfiles_test_create"},
	{file: "test_profiles", fn: "TestProfile_test_save"},
	{file: "test_profiles", fn: "TestProfile_test_rename"},
	{file: "test_profiles", fn: "TestProfile_test_delete"},

	{file: "test_projects", fn: "TestProjects_test_get"},
	{file: "test_projects", fn: "TestProjects_test_all"},
	{file: "test_projects", fn: "TestProjects_test_create"},
	{file: "test_projects", fn: "TestProject_test_save"},
	{file: "test_projects", fn: "TestProject_test_rename"},
	{file: "test_projects", fn: "TestProject_test_delete"},

	{file: "test_storage", fn: "TestStoragePools_test_get"},
	{file: "test_storage", fn: "TestStoragePools_test_all"},
	{file: "test_storage", fn: "TestStoragePools_test_save"},
	{file: "test_storage", fn: "TestStoragePools_test_put"},
	{file: "test_storage", fn: "TestStoragePools_test_patch"},
	{file: "test_storage", fn: "TestStorageResources_test_get"},
	{file: "test_storage", fn: "TestStorageVolume_test_create_and_get_and_delete"},
	{file: "test_storage", fn: "TestStorageVolume_test_put"},
	{file: "test_storage", fn: "TestStorageVolume_test_save"},
	{file: "test_storage", fn: "TestStorageVolume_test_patch"},
	{file: "test_storage", fn: "TestStorageVolumeSnapshot_test_create_get_restore_delete_volume_snapshot"},
}

// pylxdSecond is the test bed's second LXD daemon, where the migration
// tests move containers to.
var pylxdSecond = server{"lxd", secondSocket, "https://127.0.0.1:8444"}

// TestPylxdIntegration runs every translated pylxd test against the main
// LXD daemon and the Incus daemon.
func TestPylxdIntegration(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		for _, pt := range pylxdTests {
			t.Run(pt.fn, func(t *testing.T) {
				t.Parallel()
				if pt.skip != "" {
					t.Skip(pt.skip)
				}
				if reason := pt.skipOn[srv.Name]; reason != "" {
					t.Skip(reason)
				}
				if pt.file == "test_networks" {
					holdHostLinks(t) // before the cleanup that deletes its bridges
				}
				runPylxdTest(t, srv, pt)
			})
		}
	})
}

// TestPylxdTableCoversScripts: every function of the translated scripts is
// in the table above (so none is silently left out), and every entry names
// a function that exists.
func TestPylxdTableCoversScripts(t *testing.T) {
	t.Parallel()
	inTable := map[string]bool{}
	for _, pt := range pylxdTests {
		inTable[pt.file+"."+pt.fn] = true
	}
	files, err := filepath.Glob(filepath.Join("testdata", "pylxd", "test_*.star"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	isTest := regexp.MustCompile(`^Test[A-Za-z]+_test_\w+$`)
	inScripts := map[string]bool{}
	for _, f := range files {
		fix, _ := json.Marshal(map[string]any{"token": "0"})
		g, err := lxdstar.New(lxdstar.WithArgs([]string{string(fix)}), lxdstar.WithPrint(func(string) {})).RunFile(context.Background(), f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		file := strings.TrimSuffix(filepath.Base(f), ".star")
		for name := range g {
			if isTest.MatchString(name) {
				inScripts[file+"."+name] = true
				if !inTable[file+"."+name] {
					t.Errorf("%s defines %s, which pylxdTests does not list", f, name)
				}
			}
		}
	}
	for k := range inTable {
		if !inScripts[k] {
			t.Errorf("pylxdTests lists %s, which no script defines", k)
		}
	}
}

// pylxdServerRaces are failures of the servers themselves under the
// concurrent load of the shared test bed (pylxd runs its suite alone on a
// server): the test is run again, with fresh objects, a few times.
var pylxdServerRaces = []string{
	// Incus 6.0.4 lists the host's interfaces, then looks each up: one
	// that another daemon deletes in between fails a bridge's creation,
	// rename or deletion (internal/server/network/driver_bridge.go,
	// deleteChildren).
	// holdHostLinks keeps this process's tests apart; other processes
	// sharing the test bed still make bridges.
	"Failed to delete bridge children interfaces",
	// Incus 6.0.4 fails a whole GET /1.0/storage-pools?recursion=1 when a
	// pool it listed is deleted (by another test) before it reads it.
	"Error in storage_pools.all: NotFound: Storage pool not found",
}

// runPylxdTest runs one translated test with its fixtures and cleans up;
// a test that failed on a known server race is run again.
func runPylxdTest(t *testing.T, srv server, pt pylxdTest) {
	for try := 1; ; try++ {
		printed, err := runPylxdOnce(t, srv, pt)
		msg := ""
		if err != nil {
			msg = err.Error()
			var e *lxdstar.Error
			if errors.As(err, &e) {
				msg = e.Backtrace()
			}
		}
		race := ""
		for _, r := range pylxdServerRaces {
			if strings.Contains(msg, r) {
				race = r
			}
		}
		switch {
		case err == nil:
			for _, line := range strings.Split(printed, "\n") {
				if reason, ok := strings.CutPrefix(line, "pylxd-skip "); ok {
					t.Skip("skipped by the test itself, as pylxd's: " + reason)
				}
			}
			return
		case race != "" && try < 3:
			t.Logf("attempt %d hit a server race (%s); running the test again:\n%s", try, race, msg)
		default:
			t.Fatalf("%s failed:\n%s\noutput:\n%s", pt.fn, msg, printed)
		}
	}
}

// runPylxdOnce runs the test once, with fixtures of its own that are
// removed when t ends, and returns what it printed and its error.
func runPylxdOnce(t *testing.T, srv server, pt pylxdTest) (string, error) {
	token := strings.TrimPrefix(uniqueName("x"), "t-x-")
	endpoint := srv.Socket
	if pt.cluster && srv.Name == "lxd" {
		// The test bed's cluster is of LXD daemons; on Incus the test
		// finds its server unclustered and skips itself, as pylxd's does.
		endpoint = node1Socket
	}
	needSocket(t, endpoint)
	cleaned := []string{endpoint}
	if pt.second {
		needSocket(t, pylxdSecond.Socket)
		cleaned = append(cleaned, pylxdSecond.Socket)
	}
	var (
		mu      sync.Mutex
		out     bytes.Buffer
		created []string // "kind name" lines the script printed
	)
	// Registered first, so that it runs last, after the certificates and
	// images the fixtures remove.
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, sock := range cleaned {
			cleanupByToken(t, restClient(t, sock), token, created)
		}
	})

	fix := map[string]any{"token": token}
	if pt.image {
		img := issue3Image(t, srv.Socket, token)
		path := filepath.Join(t.TempDir(), "busybox.tar.gz")
		if err := os.WriteFile(path, img.unified, 0o600); err != nil {
			t.Fatal(err)
		}
		fix["image"], fix["fingerprint"] = path, img.fp
	}
	fix["octets"] = freeBridgeOctets(t, 2)
	if pt.https {
		cert := newTestCert(t, t.TempDir(), "client")
		fix["cert"] = []string{cert.crtFile, cert.keyFile}
		fix["https"], fix["server_crt"] = srv.HTTPS, serverCrtPath(srv)
		fix["secret"] = pylxdTrustSecret(t, srv, token)
		cert.untrustLater(t, srv.Socket)
		if pt.second {
			cert.untrustLater(t, pylxdSecond.Socket)
			fix["second"] = map[string]any{"https": pylxdSecond.HTTPS, "server_crt": serverCrtPath(pylxdSecond)}
		}
	}
	fixJSON, err := json.Marshal(fix)
	if err != nil {
		t.Fatal(err)
	}

	cfg := lxdmod.Config{Endpoint: endpoint}
	if os.Getenv("LXDSTAR_TRACE") != "" {
		cfg.Trace = os.Stderr
	}
	rt := lxdstar.New(lxdstar.WithLXD(cfg), lxdstar.WithArgs([]string{string(fixJSON)}),
		lxdstar.WithPrint(func(msg string) {
			mu.Lock()
			defer mu.Unlock()
			out.WriteString(msg + "\n")
			if rest, ok := strings.CutPrefix(msg, "pylxd-created "); ok {
				created = append(created, rest)
			}
		}))
	src := fmt.Sprintf("load(%q, %q)\n%s()\n", pt.file+".star", pt.fn, pt.fn)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, err = rt.Run(ctx, filepath.Join("testdata", "pylxd", "run.star"), []byte(src))
	mu.Lock()
	defer mu.Unlock()
	return out.String(), err
}

// freeBridgeOctets picks n octets x for which 198.19.x.0/24 is on no
// interface of the host.
func freeBridgeOctets(t *testing.T, n int) []int {
	var octets []int
	for len(octets) < n {
		o := bridgeOctet()
		if !hostHasSubnet(t, o) {
			octets = append(octets, o)
		}
	}
	return octets
}

// pylxdTrustSecret is what pylxd's run-integration-tests hands its tests:
// the trust password on LXD 5.0, a fresh trust token on Incus (which has
// no passwords).
func pylxdTrustSecret(t *testing.T, srv server, token string) string {
	if srv.Name != "incus" {
		return trustPassword()
	}
	return newTrustToken(t, restClient(t, srv.Socket), "t-pylxd-"+token)
}

// serverCrtPath is the server certificate of a daemon, beside its socket.
func serverCrtPath(srv server) string { return filepath.Join(filepath.Dir(srv.Socket), "server.crt") }

// cleanupByToken deletes from a server everything a translated test made:
// objects whose name (or an instance's description, an image's alias or
// property) holds token, and those it announced ("instance <name>",
// "image <fingerprint>"). Instances go first, projects last, as their
// dependencies require.
func cleanupByToken(t *testing.T, c *rest.Client, token string, announced []string) {
	// A daemon that stopped answering must fail the cleanup, not hang it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	list := func(path string) []map[string]any {
		resp, err := c.Do(ctx, &rest.Request{Method: "GET", Path: path, Query: url.Values{"recursion": {"1"}}})
		for try := 0; errors.Is(err, rest.ErrNotFound) && try < 5; try++ {
			// Incus 6.0 fails a whole listing with NotFound when one of its
			// objects is deleted (by another test) while it reads them.
			time.Sleep(200 * time.Millisecond)
			resp, err = c.Do(ctx, &rest.Request{Method: "GET", Path: path, Query: url.Values{"recursion": {"1"}}})
		}
		if err != nil {
			t.Errorf("cleanup: GET %s: %v", path, err)
			return nil
		}
		var items []map[string]any
		if err := resp.Decode(&items); err != nil {
			t.Logf("cleanup: GET %s: %v", path, err)
		}
		return items
	}
	mine := func(vals ...any) bool {
		for _, v := range vals {
			if s, ok := v.(string); ok && strings.Contains(s, token) {
				return true
			}
		}
		return false
	}
	announcedAs := map[string]bool{}
	for _, a := range announced {
		announcedAs[a] = true
	}

	for _, inst := range list(rest.Path("instances")) {
		name, _ := inst["name"].(string)
		if mine(name, inst["description"]) || announcedAs["instance "+name] {
			deleteInstance(c, name)
		}
	}
	for _, img := range list(rest.Path("images")) {
		fp, _ := img["fingerprint"].(string)
		hit := announcedAs["image "+fp]
		if props, ok := img["properties"].(map[string]any); ok {
			for _, v := range props {
				hit = hit || mine(v)
			}
		}
		if aliases, ok := img["aliases"].([]any); ok {
			for _, a := range aliases {
				if am, ok := a.(map[string]any); ok {
					hit = hit || mine(am["name"])
				}
			}
		}
		if hit {
			deletePath(c, rest.Path("images", fp))
		}
	}
	for _, p := range list(rest.Path("profiles")) {
		if name, _ := p["name"].(string); mine(name) {
			deletePath(c, rest.Path("profiles", name))
		}
	}
	for _, p := range list(rest.Path("storage-pools")) {
		name, _ := p["name"].(string)
		if !mine(name) {
			continue
		}
		for _, v := range list(rest.Path("storage-pools", name, "volumes")) {
			if v["type"] == "custom" {
				deletePath(c, rest.Path("storage-pools", name, "volumes", "custom", v["name"].(string)))
			}
		}
		deletePath(c, rest.Path("storage-pools", name))
	}
	for _, n := range list(rest.Path("networks")) {
		if name, _ := n["name"].(string); mine(name) {
			deletePath(c, rest.Path("networks", name))
		}
	}
	for _, p := range list(rest.Path("projects")) {
		if name, _ := p["name"].(string); mine(name) {
			deletePath(c, rest.Path("projects", name))
		}
	}

	// Nothing of the test's may survive it.
	var left []string
	for _, path := range []string{"instances", "profiles", "storage-pools", "networks", "projects"} {
		for _, o := range list(rest.Path(path)) {
			if name, _ := o["name"].(string); mine(name, o["description"]) {
				left = append(left, path+"/"+name)
			}
		}
	}
	sort.Strings(left)
	if len(left) > 0 {
		t.Errorf("left behind after cleanup: %s", strings.Join(left, ", "))
	}
}

package tests

// The programs users run: the scripts in scripts/examples through the
// lxdstar command, and Go hosts embedding the runtime (lxdstar.New).

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"
	"go.yaml.in/yaml/v3"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/internal/testbed"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

// lxdstarBinary builds cmd/lxdstar once per test run.
// runLxdstar runs the lxdstar command with args, requires it to succeed
// (a failure shows its stderr) and returns its stdout.
func runLxdstar(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(lxdstarBinary(t), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "stderr: %s", stderr.String())
	return out
}

func lxdstarBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "lxdstar-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "lxdstar")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/lxdstar").CombinedOutput()
		if err != nil {
			buildErr = err
			binPath = string(out)
		}
	})
	require.NoError(t, buildErr, binPath)
	return binPath
}

func TestMain(m *testing.M) {
	if testbed.Skip(os.Stdout) {
		return
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// The quickstart runs unchanged on either server, chosen with --endpoint as
// a user would.
func TestQuickstartExample(t *testing.T) { parallelOnEachServer(t, testQuickstartExample) }

func testQuickstartExample(t *testing.T, srv server) {
	name := newInstanceName(t, srv.Socket, "quick")
	out := runLxdstar(t, "--endpoint", srv.Socket, "../scripts/examples/quickstart.star", name)
	got := string(out)
	for _, want := range []string{
		map[string]string{"lxd": "connected to LXD 5.0.", "incus": "connected to Incus 6.0."}[srv.Name],
		"created <Instance \"" + name + "\" Stopped>",
		"started " + name + ": status=Running",
		"dirty before edit: False",
		"dirty after edit:  True",
		"dirty after save:  False",
		"server says user.greeting = hello from lxdstar",
		"stopped: Stopped",
		"deleted " + name + ": exists=False",
	} {
		assert.Contains(t, got, want)
	}
	assert.False(t, serverExists(t, restClient(t, srv.Socket), rest.Path("instances", name)))
}

// One action on two LXD servers and an Incus one at once.
func TestFanoutExample(t *testing.T) {
	t.Parallel()
	needSocket(t, mainSocket)
	needSocket(t, secondSocket)
	needSocket(t, incusSocket)
	out := runLxdstar(t, "../scripts/examples/fanout.star", mainSocket, secondSocket, incusSocket)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 5, "%s", out)
	assert.Regexp(t, `^\s*SERVER\s+NAME\s+VERSION\s+INSTANCE\s+STATUS\s+PROCS\s+LEFT BEHIND$`, lines[0])
	for i, sock := range []string{mainSocket, secondSocket} {
		assert.Regexp(t, `^\s*`+sock+`\s+\S+\s+lxd 5\.0\.\d+\s+fanout-\d+\s+Running\s+\d+\s+False$`, lines[1+i])
	}
	assert.Regexp(t, `^\s*`+incusSocket+`\s+\S+\s+incus 6\.0\.\d+\s+fanout-\d+\s+Running\s+\d+\s+False$`, lines[3])
	assert.Regexp(t, `^3 server\(s\) in `, lines[4])
}

// inventory.star prints a table of model objects and a YAML file that
// holds what the server holds.
func TestInventoryExample(t *testing.T) {
	t.Parallel()
	name := newInstance(t, mainSocket, "inventory", false)
	c := restClient(t, mainSocket)
	_, err := c.Do(context.Background(), &rest.Request{Method: "PATCH", Path: rest.Path("instances", name),
		Body: map[string]any{"config": map[string]any{"user.inventory": "shelf 3: \"top\"\nsecond line"}}})
	require.NoError(t, err)
	run := func(t *testing.T, endpoint string) (string, map[string]any) {
		out := filepath.Join(t.TempDir(), "inventory.yaml")
		stdout := runLxdstar(t, "--endpoint", endpoint, "../scripts/examples/inventory.star", out)
		data, err := os.ReadFile(out)
		require.NoError(t, err)
		var inv map[string]any
		require.NoError(t, yaml.Unmarshal(data, &inv), "%s", data)
		return string(stdout), inv
	}

	t.Run("lxd", func(t *testing.T) {
		stdout, inv := run(t, mainSocket)
		lines := strings.Split(stdout, "\n")
		assert.Regexp(t, `^\s+NAME\s+STATUS\s+TYPE\s+LOCATION$`, lines[0])
		assert.Regexp(t, `(?m)^  `+name+`\s+Stopped\s+container\s+none$`, stdout)
		assert.Regexp(t, `(?m)^wrote \d+ instance\(s\) of \S+ to .*inventory.yaml$`, stdout)
		// The YAML holds what the server holds.
		server := serverObject(t, c, rest.Path("instances", name))
		entry := inv["instances"].(map[string]any)[name].(map[string]any)
		assert.Equal(t, server["config"].(map[string]any)["user.inventory"], entry["config"].(map[string]any)["user.inventory"])
		assert.Equal(t, server["profiles"], entry["profiles"])
		assert.Equal(t, "Stopped", entry["status"])
		assert.NotContains(t, entry["config"], "volatile.base_image")
	})
	t.Run("incus", func(t *testing.T) {
		const incusSocket = "/var/lib/incus/unix.socket"
		if fi, err := os.Stat(incusSocket); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Skipf("no Incus daemon at %s", incusSocket)
		}
		stdout, inv := run(t, incusSocket)
		assert.Regexp(t, `^\s+NAME\s+STATUS\s+TYPE\s+LOCATION\n`, stdout)
		assert.Regexp(t, `^6\.`, inv["server"].(map[string]any)["version"])
	})
}

func TestEmbedExample(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "embed")
	out, err := exec.Command("go", "build", "-o", bin, "../scripts/examples/embed").CombinedOutput()
	require.NoError(t, err, "%s", out)
	eachServer(t, func(t *testing.T, srv server) { testEmbedExample(t, srv, bin) })
}

func testEmbedExample(t *testing.T, srv server, bin string) {
	name := newInstanceName(t, srv.Socket, "embed")
	cmd := exec.Command(bin, "-endpoint", srv.Socket, name)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	require.NoError(t, err, "stderr: %s", stderr.String())
	assert.Regexp(t, `^instance `+name+` was Running with \d+ process\(es\)\n$`, string(stdout))
	assert.Contains(t, stderr.String(), "script: script done with "+name)
	assert.False(t, serverExists(t, restClient(t, srv.Socket), rest.Path("instances", name)))
}

func TestFrozenModelAllowsServerActionsOnly(t *testing.T) {
	parallelOnEachServer(t, testFrozenModelAllowsServerActionsOnly)
}

func testFrozenModelAllowsServerActionsOnly(t *testing.T, srv server) {
	needSocket(t, srv.Socket)
	name := newInstance(t, srv.Socket, "frozen", false)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lib"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib", "fleet.star"), []byte(`
web = lxd.Client().instances.get(instance_name)
`), 0o644))
	main := filepath.Join(dir, "main.star")
	require.NoError(t, os.WriteFile(main, []byte(`
load("lib/fleet.star", "web")
def edit_config(): web.config["user.x"] = "1"
def edit_field(): web.description = "x"
print(catch(edit_config).error.message)
print(catch(edit_field).error.message)
print(catch(web.rollback).error.message)
web.start(wait=True)
print(web.status, web.dirty)
web.stop(wait=True, force=True)
print(web.status)
`), 0o644))
	var out []string
	rt := lxdstar.New(lxdstar.WithLXD(lxdmod.Config{Endpoint: srv.Socket}),
		lxdstar.WithPredeclared(starlark.StringDict{"instance_name": starlark.String(name)}),
		lxdstar.WithPrint(func(msg string) { out = append(out, msg) }))
	_, err := rt.RunFile(context.Background(), main)
	require.NoError(t, err)
	require.Len(t, out, 5)
	assert.Contains(t, out[0], "frozen")
	assert.Equal(t, `cannot set Instance.description: the object is frozen (it is a global of a module that finished loading)`, out[1])
	assert.Contains(t, out[2], "is frozen")
	assert.Equal(t, "Running False", out[3])
	assert.Equal(t, "Stopped", out[4])
	assert.Equal(t, "Stopped", instanceStatus(t, restClient(t, srv.Socket), name))
}

func TestEmbeddingWithExistingClient(t *testing.T) {
	parallelOnEachServer(t, testEmbeddingWithExistingClient)
}

func testEmbeddingWithExistingClient(t *testing.T, srv server) {
	proxy := newCountingProxy(t, srv.Socket)
	rc, err := rest.New(rest.Config{Endpoint: proxy.Socket})
	require.NoError(t, err)
	var out []string
	rt := lxdstar.New(lxdstar.WithClient(rc), lxdstar.WithLXD(lxdmod.Config{Endpoint: "/nonexistent.socket"}),
		lxdstar.WithPrint(func(msg string) { out = append(out, msg) }))
	_, err = rt.Run(context.Background(), "shared.star", []byte(`
c = lxd.Client()
print(c.trusted, lxd.Client(project="default").project)
print(catch(lxd.Client, endpoint="/nonexistent.socket").error.kind)
`))
	require.NoError(t, err)
	assert.Equal(t, []string{"True default", "ClientConnectionFailed"}, out)
	assert.Equal(t, 2, proxy.Count(), "both argument-less clients used the host's connection: %v", proxy.Requests())
}

func TestInspectModeKeepsModelsUsable(t *testing.T) {
	t.Parallel()
	name := newInstance(t, mainSocket, "inspect", false)
	cmd := exec.Command(lxdstarBinary(t), "--endpoint", mainSocket, "-i", "-c",
		"inst = lxd.Client().instances.get(sys.argv[1])\nop = inst.start()", name)
	cmd.Stdin = strings.NewReader("inst.description = 'edited in the REPL'\nprint(inst.dirty)\nprint(op.wait(), op.status)\n")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "stderr: %s", stderr.String())
	assert.Equal(t, "True\nNone Success\n", string(out), "stderr: %s", stderr.String())
	assert.Equal(t, "Running", instanceStatus(t, restClient(t, mainSocket), name))
}

// operator.star deploys, waits for readiness, runs a command in every
// container at once, backs each up (exported to the host) and removes it
// all, on either server.
func TestOperatorExample(t *testing.T) { parallelOnEachServer(t, testOperatorExample) }

func testOperatorExample(t *testing.T, srv server) {
	dir := t.TempDir()
	out := runLxdstar(t, "--endpoint", srv.Socket, "../scripts/examples/operator.star", "2", dir)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	require.Len(t, lines, 4, "%s", out)
	assert.Regexp(t, `^\s*NAME\s+STATUS\s+HOSTNAME\s+LOAD\s+EXIT\s+BACKUP$`, lines[0])
	c := restClient(t, srv.Socket)
	for _, line := range lines[1:3] {
		f := strings.Fields(line)
		require.Len(t, f, 8, "row %q", line)
		name := f[0]
		// The command ran in that container: it printed its own hostname.
		assert.Equal(t, []string{"Running", name}, f[1:3], "row %q", line)
		assert.Equal(t, []string{"0", "round"}, f[6:8], "row %q", line)
		// The export is a whole gzip'd tarball, and nothing is left on the server.
		data, err := os.ReadFile(filepath.Join(dir, name+".tar.gz"))
		require.NoError(t, err)
		require.Greater(t, len(data), 1024)
		assert.Equal(t, []byte{0x1f, 0x8b}, data[:2], "gzip magic")
		assert.False(t, serverExists(t, c, rest.Path("instances", name)), "%s left behind", name)
	}
	assert.Regexp(t, `^2 containers deployed, checked, backed up and removed on `+srv.Name+` \d`, lines[3])
}

// TestSeedsAExamples runs each of scripts/examples/seeds/{instances,
// snapshots,files,images}.star (pylxd's manual examples) against each
// server through the harness. Each script asserts with fail() and cleans up.
func TestSeedsAExamples(t *testing.T) { parallelOnEachServer(t, testSeedsAExamples) }

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

// TestSeedsBExamples runs each of scripts/examples/seeds_b/*.star (pylxd's
// manual examples for profiles, projects, networks, storage, operations and
// certificates) against each server (the certificates example authenticates
// with a trust password: LXD only). Each script asserts with fail() and
// cleans up; the test checks on the server that nothing survived.
func TestSeedsBExamples(t *testing.T) { parallelOnEachServer(t, testSeedsBExamples) }

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

package rest

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lxdstar/lxdstar/internal/testfiles"
)

// What `lxc` writes on a fresh machine, plus a TLS remote.
const lxcWritten = `default-remote: local
remotes:
  images:
    addr: https://images.linuxcontainers.org
    protocol: simplestreams
    public: true
  local:
    addr: unix://
    public: false
  prod:
    addr: https://127.0.0.1:8443
    auth_type: tls
    project: web
    protocol: lxd
    public: false
aliases: {}
`

// parse parses src, failing the test if it is refused.
func parse(t *testing.T, src string) *CLIConfig {
	t.Helper()
	cfg, err := ParseCLIConfig([]byte(src))
	if err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	return cfg
}

func TestParseCLIConfigAsWritten(t *testing.T) {
	cfg := parse(t, lxcWritten)
	want := &CLIConfig{
		DefaultRemote: "local",
		Remotes: map[string]CLIRemote{
			"images": {Addr: "https://images.linuxcontainers.org", Protocol: "simplestreams", Public: true},
			"local":  {Addr: "unix://"},
			"prod":   {Addr: "https://127.0.0.1:8443", AuthType: "tls", Project: "web", Protocol: "lxd"},
		},
		Aliases: map[string]string{},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got %+v\nwant %+v", cfg, want)
	}
}

func TestParseCLIConfigQuotingAndComments(t *testing.T) {
	src := "\ufeff# written by hand\r\n" +
		"---\n" +
		"default-remote: \"my remote\"   # a comment\n" +
		"remotes:\n" +
		"    'my remote':\n" +
		"        addr: 'https://[::1]:8443' # not part of the value\n" +
		"        public: yes\n" +
		"        project: \"a#b \\\"q\\\" \\u00e9\"\n" +
		"    \"other\": {addr: \"unix:///run/lxd.socket\", protocol: lxd, public: false}\n" +
		"    empty:\n" +
		"aliases:\n" +
		"    ls: list -c ns   # trailing comment\n" +
		"    'it''s': \"x#y\"\n" +
		"    hash: a#b\n"
	cfg := parse(t, src)
	if cfg.DefaultRemote != "my remote" {
		t.Errorf("default-remote = %q", cfg.DefaultRemote)
	}
	r := cfg.Remotes["my remote"]
	if r.Addr != "https://[::1]:8443" || !r.Public || r.Project != `a#b "q" é` {
		t.Errorf("my remote = %+v", r)
	}
	if o := cfg.Remotes["other"]; o.Addr != "unix:///run/lxd.socket" || o.Protocol != "lxd" || o.Public {
		t.Errorf("other = %+v", o)
	}
	if e, ok := cfg.Remotes["empty"]; !ok || e != (CLIRemote{}) {
		t.Errorf("empty = %+v, %v", e, ok)
	}
	wantAliases := map[string]string{"ls": "list -c ns", "it's": "x#y", "hash": "a#b"}
	if !reflect.DeepEqual(cfg.Aliases, wantAliases) {
		t.Errorf("aliases = %q", cfg.Aliases)
	}
}

// What a hand-written subset parser refused, a YAML library reads: block
// scalars, anchors and aliases, multi-line flow collections.
func TestParseCLIConfigFullYAML(t *testing.T) {
	src := "remotes:\n" +
		"  a: &tls {addr: \"https://a:8443\",\n      auth_type: tls, public: off}\n" +
		"  b: *tls\n" +
		"aliases:\n" +
		"  x: |\n    text\n" +
		"  y: >-\n    folded\n    line\n"
	cfg := parse(t, src)
	tls := CLIRemote{Addr: "https://a:8443", AuthType: "tls"}
	if cfg.Remotes["a"] != tls || cfg.Remotes["b"] != tls {
		t.Errorf("remotes = %+v", cfg.Remotes)
	}
	if want := map[string]string{"x": "text\n", "y": "folded line"}; !reflect.DeepEqual(cfg.Aliases, want) {
		t.Errorf("aliases = %q", cfg.Aliases)
	}
}

func TestParseCLIConfigErrors(t *testing.T) {
	for src, want := range map[string]string{
		"remotes:\n  a:\n    addr: [1, 2]\n":       "line 3: remotes.a.addr: want a string",
		"remotes:\n  a:\n    public: maybe\n":      "line 3: remotes.a.public: want true or false",
		"remotes: x\n":                             "line 1: remotes: want a mapping",
		"remotes:\n  a: {}\n  a: {}\n":             "line 3: duplicate key",
		"remotes:\n\ta: {}\n":                      "line 2: found character that cannot start any token",
		"remotes:\n  a:\n     addr: x\n    b: y\n": "did not find expected key",
		"default-remote: \"abc\n":                  "line 2: found unexpected end of stream",
		"aliases: {a: b\n":                         "line 1: did not find expected ',' or '}'",
		"aliases: {a: [b]}\n":                      "line 1: aliases.a: want a string",
		"remotes: {[a]: {}}\n":                     "line 1: a mapping key is not a string",
		"just text\n":                              "line 1: the document is not a mapping",
		"a: \"\\q\"\n":                             "unknown escape",
		"- a\n- b\n":                               "not a mapping",
		"a: \xff\n":                                "UTF-8",
	} {
		cfg, err := ParseCLIConfig([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) || cfg != nil {
			t.Errorf("%q: got %v, want an error containing %q", src, err, want)
		}
	}
}

func TestParseCLIConfigEmptyAndUnknownKeys(t *testing.T) {
	for _, src := range []string{"", "\n# only a comment\n", "---\n", "other: {x: [1, 2, {y: z}]}\nlist:\n- a\n-\n- 'b'\n"} {
		if cfg := parse(t, src); len(cfg.Remotes) != 0 || cfg.DefaultRemote != "" {
			t.Fatalf("%q: got %+v", src, cfg)
		}
	}
}

func TestCLIConfigConnection(t *testing.T) {
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"config.yml": lxcWritten + "  # nothing\n", "client.crt": "x", "client.key": "x", "servercerts/prod.crt": "x"})
	cfg, err := LoadCLIConfig(ConfigDir{Tool: ToolLXC, Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Connection("prod")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Endpoint: "https://127.0.0.1:8443", Project: "web", CertFile: filepath.Join(dir, "client.crt"),
		KeyFile: filepath.Join(dir, "client.key"), ServerCertFile: filepath.Join(dir, "servercerts", "prod.crt")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("prod: got %+v\nwant %+v", got, want)
	}
	if local, err := cfg.Connection("local"); err != nil || local.Endpoint != "unix://" || local.CertFile != "" {
		t.Fatalf("local: %+v, %v", local, err)
	}
	_, err = cfg.Connection("nope")
	if err == nil || !strings.Contains(err.Error(), "known remotes: images, local, prod") || !strings.HasPrefix(err.Error(), "ClientConnectionFailed") {
		t.Fatalf("unknown remote: %v", err)
	}
	if _, err := cfg.Connection("images"); err == nil || !strings.Contains(err.Error(), "simplestreams") {
		t.Fatalf("images: %v", err)
	}
}

func TestLoadCLIConfigMissingFileHasLocal(t *testing.T) {
	for _, d := range []ConfigDir{{Tool: ToolLXC, Path: t.TempDir()}, {Tool: ToolIncus}} {
		cfg, err := LoadCLIConfig(d)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.DefaultRemote != "local" || cfg.Remotes["local"].Addr != "unix://" || !cfg.Missing || cfg.Tool != d.Tool {
			t.Fatalf("%+v: got %+v", d, cfg)
		}
	}
}

func TestLoadCLIConfigErrorNamesFileAndTool(t *testing.T) {
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{"config.yml": "remotes: [a]\n"})
	_, err := LoadCLIConfig(ConfigDir{Tool: ToolIncus, Path: dir})
	want := "ClientConnectionFailed: invalid incus configuration " + filepath.Join(dir, "config.yml") + ": line 1: remotes: want a mapping"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

// envOf is an injected environment: nothing is read from the process's.
func envOf(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func TestConfigDirs(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	dirs := func() (string, string) {
		d := ConfigDirs(envOf(env))
		if len(d) != 2 || d[0].Tool != ToolLXC || d[1].Tool != ToolIncus {
			t.Fatalf("dirs: %+v", d)
		}
		return d[0].Path, d[1].Path
	}
	if lxc, incus := dirs(); lxc != filepath.Join(home, ".config", "lxc") || incus != filepath.Join(home, ".config", "incus") {
		t.Fatalf("default: %s %s", lxc, incus)
	}
	snap := filepath.Join(home, "snap", "lxd", "common", "config")
	testfiles.Write(t, snap, map[string]string{"config.yml": ""})
	if lxc, _ := dirs(); lxc != snap {
		t.Fatalf("snap: %s", lxc)
	}
	// ~/.config/lxc in use wins over the snap's.
	testfiles.Write(t, filepath.Join(home, ".config", "lxc"), map[string]string{"client.crt": ""})
	if lxc, _ := dirs(); lxc != filepath.Join(home, ".config", "lxc") {
		t.Fatalf("~/.config/lxc with a certificate: %s", lxc)
	}
	env["LXD_CONF"], env["INCUS_CONF"] = "/somewhere", "/elsewhere"
	if lxc, incus := dirs(); lxc != "/somewhere" || incus != "/elsewhere" {
		t.Fatalf("LXD_CONF, INCUS_CONF: %s %s", lxc, incus)
	}
	// Without HOME nothing is guessed, and the process's HOME is not read.
	if d := ConfigDirs(envOf(nil)); d[0].Path != "" || d[1].Path != "" {
		t.Fatalf("no HOME: %+v", d)
	}
}

func TestClientCertLookup(t *testing.T) {
	home := t.TempDir()
	lxc, incus := filepath.Join(home, ".config", "lxc"), filepath.Join(home, ".config", "incus")
	env := map[string]string{"HOME": home}
	if crt, key := ClientCert(envOf(env)); crt != "" || key != "" {
		t.Fatalf("none: %s %s", crt, key)
	}
	testfiles.Write(t, incus, map[string]string{"client.crt": "c", "client.key": "k"})
	if crt, key := ClientCert(envOf(env)); crt != filepath.Join(incus, "client.crt") || key != filepath.Join(incus, "client.key") {
		t.Fatalf("incus: %s %s", crt, key)
	}
	testfiles.Write(t, lxc, map[string]string{"client.crt": "c"}) // no key: not a pair
	if crt, _ := ClientCert(envOf(env)); crt != filepath.Join(incus, "client.crt") {
		t.Fatalf("half an lxc pair: %s", crt)
	}
	testfiles.Write(t, lxc, map[string]string{"client.key": "k"})
	if crt, key := ClientCert(envOf(env)); crt != filepath.Join(lxc, "client.crt") || key != filepath.Join(lxc, "client.key") {
		t.Fatalf("lxc first: %s %s", crt, key)
	}
}

func TestResolveRemoteLXCThenIncus(t *testing.T) {
	lxc, incus := t.TempDir(), t.TempDir()
	testfiles.Write(t, lxc, map[string]string{"config.yml": strings.Replace(lxcWritten, "aliases:", "  both:\n    addr: unix:///lxc.socket\naliases:", 1)})
	testfiles.Write(t, incus, map[string]string{
		"config.yml": "default-remote: local\nremotes:\n  local:\n    addr: unix://\n    protocol: incus\n" +
			"  both:\n    addr: unix:///incus.socket\n    protocol: incus\n" +
			"  far:\n    addr: https://127.0.0.1:8446\n    protocol: incus\n    project: p\n",
		"client.crt": "c", "client.key": "k", "servercerts/far.crt": "pin",
	})
	env := envOf(map[string]string{"LXD_CONF": lxc, "INCUS_CONF": incus})
	got, err := ResolveRemote(env, "far")
	want := Config{Endpoint: "https://127.0.0.1:8446", Project: "p", CertFile: filepath.Join(incus, "client.crt"),
		KeyFile: filepath.Join(incus, "client.key"), ServerCertFile: filepath.Join(incus, "servercerts", "far.crt")}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("far: %+v, %v", got, err)
	}
	if got, err := ResolveRemote(env, "both"); err != nil || got.Endpoint != "unix:///lxc.socket" {
		t.Fatalf("lxc's remote comes first: %+v, %v", got, err)
	}
	if got, err := ResolveRemote(env, "prod"); err != nil || got.Endpoint != "https://127.0.0.1:8443" {
		t.Fatalf("prod: %+v, %v", got, err)
	}
	_, err = ResolveRemote(env, "nope")
	wantMsg := `ClientConnectionFailed: no remote "nope" (lxc configuration ` + filepath.Join(lxc, "config.yml") +
		`, known remotes: both, images, local, prod; incus configuration ` + filepath.Join(incus, "config.yml") +
		`, known remotes: both, far, local)`
	if err == nil || err.Error() != wantMsg {
		t.Fatalf("unknown remote:\n got %v\nwant %s", err, wantMsg)
	}
	// No directories known at all: the built-in local remotes remain.
	_, err = ResolveRemote(envOf(nil), "nope")
	if err == nil || !strings.Contains(err.Error(), "lxc configuration no configuration directory (neither $LXD_CONF nor $HOME is set), known remotes: local") ||
		!strings.Contains(err.Error(), "$INCUS_CONF") {
		t.Fatalf("nothing known: %v", err)
	}
	if got, err := ResolveRemote(envOf(nil), "local"); err != nil || got.Endpoint != "unix://" {
		t.Fatalf("local without configuration: %+v, %v", got, err)
	}
}

// FuzzCLIConfig: the parser never panics, and whatever it accepts survives
// a round trip through the YAML library's own encoding of it.
func FuzzCLIConfig(f *testing.F) {
	f.Add([]byte(lxcWritten))
	f.Add([]byte("remotes:\n  'a b': {addr: \"x\\ty\", public: on}\naliases: {k: v}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseCLIConfig(data)
		if err != nil {
			return
		}
		text, err := yaml.Marshal(map[string]any{"default-remote": cfg.DefaultRemote, "remotes": cfg.Remotes, "aliases": cfg.Aliases})
		if err != nil {
			t.Fatalf("cannot encode %+v: %v", cfg, err)
		}
		again, err := ParseCLIConfig(text)
		if err != nil {
			t.Fatalf("the encoded form does not parse: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v\n%s", cfg, again, text)
		}
	})
}

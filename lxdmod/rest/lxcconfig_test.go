package rest

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
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

func TestParseLXCConfigAsWritten(t *testing.T) {
	cfg, err := ParseLXCConfig([]byte(lxcWritten))
	if err != nil {
		t.Fatal(err)
	}
	want := &LXCConfig{
		DefaultRemote: "local",
		Remotes: map[string]LXCRemote{
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

func TestParseLXCConfigQuotingAndComments(t *testing.T) {
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
	cfg, err := ParseLXCConfig([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
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
	if e, ok := cfg.Remotes["empty"]; !ok || e != (LXCRemote{}) {
		t.Errorf("empty = %+v, %v", e, ok)
	}
	wantAliases := map[string]string{"ls": "list -c ns", "it's": "x#y", "hash": "a#b"}
	if !reflect.DeepEqual(cfg.Aliases, wantAliases) {
		t.Errorf("aliases = %q", cfg.Aliases)
	}
}

func TestParseLXCConfigErrors(t *testing.T) {
	for src, want := range map[string]string{
		"remotes:\n  a:\n    addr: [1, 2]\n":       "line 3: remotes.a.addr: want a string",
		"remotes:\n  a:\n    public: maybe\n":      "line 3: remotes.a.public: want true or false",
		"remotes: x\n":                             "line 1: remotes: want a mapping",
		"remotes:\n  a: {}\n  a: {}\n":             "line 3: duplicate key",
		"remotes:\n\ta: {}\n":                      "line 2: tabs",
		"remotes:\n  a:\n     addr: x\n    b: y\n": "line 4: unexpected indentation",
		"default-remote: \"abc\n":                  "line 1: unterminated",
		"aliases: {a: b\n":                         "line 1: unterminated flow",
		"aliases:\n  x: |\n    text\n":             "block scalars",
		"just text\n":                              "line 1: expected \"key: value\"",
		"a: \"\\q\"\n":                             "unknown escape",
		"- a\n- b\n":                               "not a mapping",
		"a: \xff\n":                                "UTF-8",
	} {
		_, err := ParseLXCConfig([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", src, err, want)
		}
	}
}

func TestParseLXCConfigEmptyAndUnknownKeys(t *testing.T) {
	for _, src := range []string{"", "\n# only a comment\n", "---\n", "other: {x: [1, 2, {y: z}]}\nlist:\n- a\n-\n- 'b'\n"} {
		cfg, err := ParseLXCConfig([]byte(src))
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if len(cfg.Remotes) != 0 || cfg.DefaultRemote != "" {
			t.Fatalf("%q: got %+v", src, cfg)
		}
	}
}

func TestLXCConfigConnection(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("config.yml", lxcWritten+"  # nothing\n")
	write("client.crt", "x")
	write("client.key", "x")
	write("servercerts/prod.crt", "x")
	cfg, err := LoadLXCConfig(dir)
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

func TestLoadLXCConfigMissingFileHasLocal(t *testing.T) {
	cfg, err := LoadLXCConfig(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultRemote != "local" || cfg.Remotes["local"].Addr != "unix://" {
		t.Fatalf("got %+v", cfg)
	}
}

func TestLXCConfigDir(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	getenv := func(k string) string { return env[k] }
	if got := LXCConfigDir(getenv); got != filepath.Join(home, ".config", "lxc") {
		t.Fatalf("default: %s", got)
	}
	snap := filepath.Join(home, "snap", "lxd", "common", "config")
	if err := os.MkdirAll(snap, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(snap, "config.yml"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := LXCConfigDir(getenv); got != snap {
		t.Fatalf("snap: %s", got)
	}
	env["LXD_CONF"] = "/somewhere"
	if got := LXCConfigDir(getenv); got != "/somewhere" {
		t.Fatalf("LXD_CONF: %s", got)
	}
}

// FuzzLXCConfig: the parser never panics, and whatever it accepts survives
// a round trip through the canonical form.
func FuzzLXCConfig(f *testing.F) {
	f.Add([]byte(lxcWritten))
	f.Add([]byte("remotes:\n  'a b': {addr: \"x\\ty\", public: on}\naliases: {k: v}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseLXCConfig(data)
		if err != nil {
			return
		}
		text := formatLXCConfig(cfg)
		again, err := ParseLXCConfig([]byte(text))
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%s", err, text)
		}
		if !reflect.DeepEqual(cfg, again) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v\n%s", cfg, again, text)
		}
	})
}

// formatLXCConfig writes cfg with every string double-quoted.
func formatLXCConfig(cfg *LXCConfig) string {
	var b strings.Builder
	b.WriteString("default-remote: " + yamlQuote(cfg.DefaultRemote) + "\nremotes:")
	if len(cfg.Remotes) == 0 {
		b.WriteString(" {}")
	}
	b.WriteString("\n")
	for _, name := range sortedNames(cfg.Remotes) {
		r := cfg.Remotes[name]
		b.WriteString("  " + yamlQuote(name) + ":\n")
		for _, kv := range [][2]string{{"addr", r.Addr}, {"protocol", r.Protocol}, {"auth_type", r.AuthType}, {"project", r.Project}} {
			b.WriteString("    " + kv[0] + ": " + yamlQuote(kv[1]) + "\n")
		}
		b.WriteString("    public: " + strconv.FormatBool(r.Public) + "\n")
	}
	b.WriteString("aliases:\n")
	for _, k := range sortedNames(cfg.Aliases) {
		b.WriteString("  " + yamlQuote(k) + ": " + yamlQuote(cfg.Aliases[k]) + "\n")
	}
	return b.String()
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func yamlQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError:
			b.WriteString("\\u" + strconv.FormatInt(int64(0x10000+r), 16)[1:])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

package rest

// The command-line clients' configuration, read so that
// lxd.Client(remote="name") connects as `lxc remote` or `incus remote` set it
// up. lxc (LXD) and incus keep the same layout: config.yml (default-remote,
// remotes, aliases), client.crt/client.key, servercerts/<remote>.crt.
//
// Every environment variable is read through a getenv function (nil means
// os.Getenv), so a host running scripts can give each run its own
// environment.

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The two command-line clients whose configuration lxdstar reads, in the
// order remotes and client certificates are looked up.
const (
	ToolLXC   = "lxc"
	ToolIncus = "incus"
)

// ConfigDir is where one command-line client keeps its configuration.
type ConfigDir struct {
	Tool string // ToolLXC or ToolIncus
	// Path is the directory; empty when it cannot be known (neither the
	// tool's variable nor HOME is set).
	Path string
}

// lookupEnv returns getenv, or os.Getenv when it is nil: the one place the
// process environment stands in for an injected one.
func lookupEnv(getenv func(string) string) func(string) string {
	if getenv == nil {
		return os.Getenv
	}
	return getenv
}

// ConfigDirs returns the configuration directories of lxc and then incus,
// found as each tool finds its own:
//   - lxc: $LXD_CONF; else the first of ~/.config/lxc and
//     ~/snap/lxd/common/config that is in use (holds config.yml or
//     client.crt); else ~/.config/lxc.
//   - incus: $INCUS_CONF; else ~/.config/incus.
func ConfigDirs(getenv func(string) string) []ConfigDir {
	getenv = lookupEnv(getenv)
	home := getenv("HOME")
	underHome := func(parts ...string) string {
		if home == "" {
			return ""
		}
		return filepath.Join(append([]string{home}, parts...)...)
	}
	lxc := getenv("LXD_CONF")
	if lxc == "" {
		candidates := []string{underHome(".config", "lxc"), underHome("snap", "lxd", "common", "config")}
		lxc = candidates[0]
		for _, d := range candidates {
			if d != "" && (isFile(filepath.Join(d, "config.yml")) || isFile(filepath.Join(d, "client.crt"))) {
				lxc = d
				break
			}
		}
	}
	incus := getenv("INCUS_CONF")
	if incus == "" {
		incus = underHome(".config", "incus")
	}
	return []ConfigDir{{Tool: ToolLXC, Path: lxc}, {Tool: ToolIncus, Path: incus}}
}

// ClientCert returns the first client.crt/client.key pair found in
// ConfigDirs, or empty strings.
func ClientCert(getenv func(string) string) (crt, key string) {
	for _, d := range ConfigDirs(getenv) {
		if d.Path == "" {
			continue
		}
		crt, key := filepath.Join(d.Path, "client.crt"), filepath.Join(d.Path, "client.key")
		if isFile(crt) && isFile(key) {
			return crt, key
		}
	}
	return "", ""
}

// ResolveRemote returns how to reach the remote called name: from lxc's
// configuration, else from incus's. An unknown name is an error listing
// the remotes of both.
func ResolveRemote(getenv func(string) string, name string) (Config, error) {
	var known []string
	for _, d := range ConfigDirs(getenv) {
		cfg, err := LoadCLIConfig(d)
		if err != nil {
			return Config{}, err
		}
		if _, ok := cfg.Remotes[name]; ok {
			return cfg.Connection(name)
		}
		known = append(known, cfg.describe())
	}
	return Config{}, &Error{Kind: KindConnection, Message: fmt.Sprintf("no remote %q (%s)", name, strings.Join(known, "; "))}
}

// CLIConfig is what lxdstar uses of a command-line client's config.yml.
type CLIConfig struct {
	Tool          string // ToolLXC or ToolIncus
	Dir           string // the directory config.yml was read from
	Missing       bool   // there was no config.yml: the tool's defaults
	DefaultRemote string
	Remotes       map[string]CLIRemote
	Aliases       map[string]string
}

// CLIRemote is one entry of config.yml's remotes.
type CLIRemote struct {
	Addr     string `yaml:"addr"`      // unix://, unix:///path or https://host:port
	Protocol string `yaml:"protocol"`  // "lxd" or "incus" (the default), "simplestreams", ...
	AuthType string `yaml:"auth_type"` // "tls" (the default), "oidc", ...
	Project  string `yaml:"project"`   // default project of the remote
	Public   bool   `yaml:"public"`
}

// LoadCLIConfig reads d's config.yml. A missing file (or an unknown
// directory) is the tool's default configuration; the built-in "local"
// remote is always present, as in lxc and incus.
func LoadCLIConfig(d ConfigDir) (*CLIConfig, error) {
	cfg := &CLIConfig{Remotes: map[string]CLIRemote{}, Aliases: map[string]string{}, Missing: true}
	if d.Path != "" {
		path := filepath.Join(d.Path, "config.yml")
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, &Error{Kind: KindConnection, Message: fmt.Sprintf("cannot read the %s configuration %s", d.Tool, path), Err: err}
		default:
			if cfg, err = ParseCLIConfig(data); err != nil {
				return nil, &Error{Kind: KindConnection, Message: fmt.Sprintf("invalid %s configuration %s", d.Tool, path), Err: err}
			}
		}
	}
	cfg.Tool, cfg.Dir = d.Tool, d.Path
	if _, ok := cfg.Remotes["local"]; !ok {
		cfg.Remotes["local"] = CLIRemote{Addr: "unix://"}
	}
	if cfg.DefaultRemote == "" {
		cfg.DefaultRemote = "local"
	}
	return cfg, nil
}

// RemoteNames lists the remotes, sorted.
func (c *CLIConfig) RemoteNames() []string {
	return slices.Sorted(maps.Keys(c.Remotes))
}

// describe names the configuration and its remotes, for errors.
func (c *CLIConfig) describe() string {
	where := "no configuration directory (neither $" + map[string]string{ToolLXC: "LXD_CONF", ToolIncus: "INCUS_CONF"}[c.Tool] + " nor $HOME is set)"
	if c.Dir != "" {
		where = filepath.Join(c.Dir, "config.yml")
		if c.Missing {
			where += " (absent)"
		}
	}
	return fmt.Sprintf("%s configuration %s, known remotes: %s", c.Tool, where, strings.Join(c.RemoteNames(), ", "))
}

// Connection returns how to reach remote name as the tool would: its
// address, the client certificate client.crt/client.key of the
// configuration directory, the pinned server certificate
// servercerts/<name>.crt when present, and the remote's project.
func (c *CLIConfig) Connection(name string) (Config, error) {
	r, ok := c.Remotes[name]
	if !ok {
		return Config{}, &Error{Kind: KindConnection, Message: fmt.Sprintf("no %s remote %q: %s", c.Tool, name, c.describe())}
	}
	switch r.Protocol {
	case "", "lxd", "incus":
	default:
		return Config{}, &Error{Kind: KindConnection, Message: fmt.Sprintf("%s remote %q is a %s image server, not an LXD or Incus server", c.Tool, name, r.Protocol)}
	}
	if r.AuthType != "" && r.AuthType != "tls" {
		return Config{}, &Error{Kind: KindConnection, Message: fmt.Sprintf("%s remote %q uses auth_type %q: only tls is supported", c.Tool, name, r.AuthType)}
	}
	out := Config{Endpoint: strings.TrimRight(r.Addr, "/"), Project: r.Project}
	switch {
	case strings.HasPrefix(r.Addr, "unix:"):
		out.Endpoint = r.Addr // "unix://" alone means: discover the local socket
	case strings.HasPrefix(r.Addr, "https://"):
		if c.Dir == "" {
			break
		}
		crt, key := filepath.Join(c.Dir, "client.crt"), filepath.Join(c.Dir, "client.key")
		if isFile(crt) && isFile(key) {
			out.CertFile, out.KeyFile = crt, key
		}
		if pin := filepath.Join(c.Dir, "servercerts", name+".crt"); isFile(pin) {
			out.ServerCertFile = pin
		}
	default:
		return Config{}, &Error{Kind: KindConnection, Message: fmt.Sprintf("%s remote %q has an unsupported address %q", c.Tool, name, r.Addr)}
	}
	return out, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// ParseCLIConfig parses config.yml with a YAML library. Unknown keys are
// ignored; a known key with a value of the wrong shape is an error naming
// its line and key.
func ParseCLIConfig(data []byte) (*CLIConfig, error) {
	cfg := &CLIConfig{Remotes: map[string]CLIRemote{}, Aliases: map[string]string{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(err)
	}
	if len(doc.Content) == 0 {
		return cfg, nil // empty, or only comments
	}
	root := deref(doc.Content[0])
	if root.Tag == "!!null" {
		return cfg, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, nodeError(root, "the document is not a mapping")
	}
	err := eachPair(root, "", func(key string, v *yaml.Node) error {
		switch key {
		case "default-remote":
			return scalar(v, key, &cfg.DefaultRemote)
		case "remotes":
			return eachPair(v, key, func(name string, rv *yaml.Node) error {
				r, err := parseRemote(name, rv)
				cfg.Remotes[name] = r
				return err
			})
		case "aliases":
			return eachPair(v, key, func(name string, av *yaml.Node) error {
				var s string
				err := scalar(av, key+"."+name, &s)
				cfg.Aliases[name] = s
				return err
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

func parseRemote(name string, n *yaml.Node) (CLIRemote, error) {
	var r CLIRemote
	what := "remotes." + name
	err := eachPair(n, what, func(key string, v *yaml.Node) error {
		switch key {
		case "addr":
			return scalar(v, what+"."+key, &r.Addr)
		case "protocol":
			return scalar(v, what+"."+key, &r.Protocol)
		case "auth_type":
			return scalar(v, what+"."+key, &r.AuthType)
		case "project":
			return scalar(v, what+"."+key, &r.Project)
		case "public":
			if deref(v).Tag == "!!null" {
				return nil
			}
			// Decoding into a bool accepts YAML 1.1's yes/no/on/off too,
			// as the Go YAML library the tools use does.
			if err := deref(v).Decode(&r.Public); err != nil {
				return nodeError(v, what+".public: want true or false")
			}
		}
		return nil
	})
	return r, err
}

// eachPair calls fn for each key of mapping n (null counts as empty). Keys
// must be scalars and unique.
func eachPair(n *yaml.Node, what string, fn func(key string, v *yaml.Node) error) error {
	n = deref(n)
	if n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return nodeError(n, what+": want a mapping")
	}
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return nodeError(k, "a mapping key is not a string")
		}
		if seen[k.Value] {
			return nodeError(k, fmt.Sprintf("duplicate key %q", k.Value))
		}
		seen[k.Value] = true
		if err := fn(k.Value, n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// scalar stores a scalar's text in dst; null leaves it empty.
func scalar(n *yaml.Node, what string, dst *string) error {
	n = deref(n)
	switch {
	case n.Tag == "!!null":
		*dst = ""
	case n.Kind == yaml.ScalarNode:
		*dst = n.Value
	default:
		return nodeError(n, what+": want a string")
	}
	return nil
}

// deref follows YAML aliases (*name) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func nodeError(n *yaml.Node, msg string) error {
	return fmt.Errorf("line %d: %s", n.Line, msg)
}

// yamlError drops the library's "yaml: " prefix: the caller says what was
// being read.
func yamlError(err error) error {
	return errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
}

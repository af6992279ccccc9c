package rest

// The lxc CLI's configuration (config.yml, client.crt/key, servercerts/),
// read so that lxd.Client(remote="name") connects as `lxc` does. No YAML
// library is a dependency: config.yml is parsed by a small parser for the
// block-style subset lxc writes (nested mappings, scalars plain or quoted,
// flow collections such as `aliases: {}`, comments).

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// LXCConfig is what lxdstar uses of config.yml.
type LXCConfig struct {
	Dir           string // the directory config.yml was read from
	DefaultRemote string
	Remotes       map[string]LXCRemote
	Aliases       map[string]string
}

// LXCRemote is one entry of config.yml's remotes.
type LXCRemote struct {
	Addr     string // unix://, unix:///path or https://host:port
	Protocol string // "lxd" (the default) or "simplestreams"
	AuthType string // "tls" (the default), "candid", "oidc", ...
	Project  string // default project of the remote
	Public   bool
}

// LXCConfigDir returns where lxc keeps its configuration: $LXD_CONF, else
// the first of ~/.config/lxc and ~/snap/lxd/common/config holding a
// config.yml, else ~/.config/lxc.
func LXCConfigDir(getenv func(string) string) string {
	if getenv == nil {
		getenv = os.Getenv
	}
	if d := getenv("LXD_CONF"); d != "" {
		return d
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	dirs := []string{filepath.Join(home, ".config", "lxc"), filepath.Join(home, "snap", "lxd", "common", "config")}
	for _, d := range dirs {
		if fi, err := os.Stat(filepath.Join(d, "config.yml")); err == nil && !fi.IsDir() {
			return d
		}
	}
	return dirs[0]
}

// LoadLXCConfig reads dir/config.yml. A missing file is lxc's default
// configuration; the built-in "local" remote is always present, as in lxc.
func LoadLXCConfig(dir string) (*LXCConfig, error) {
	path := filepath.Join(dir, "config.yml")
	data, err := os.ReadFile(path)
	var cfg *LXCConfig
	switch {
	case os.IsNotExist(err):
		cfg = &LXCConfig{Remotes: map[string]LXCRemote{}, Aliases: map[string]string{}}
	case err != nil:
		return nil, &Error{Kind: KindConnection, Message: "cannot read the lxc configuration " + path, Err: err}
	default:
		if cfg, err = ParseLXCConfig(data); err != nil {
			return nil, &Error{Kind: KindConnection, Message: fmt.Sprintf("invalid lxc configuration %s: %v", path, err), Err: err}
		}
	}
	cfg.Dir = dir
	if _, ok := cfg.Remotes["local"]; !ok {
		cfg.Remotes["local"] = LXCRemote{Addr: "unix://", Protocol: "lxd"}
	}
	if cfg.DefaultRemote == "" {
		cfg.DefaultRemote = "local"
	}
	return cfg, nil
}

// RemoteNames lists the remotes, sorted.
func (c *LXCConfig) RemoteNames() []string {
	names := make([]string, 0, len(c.Remotes))
	for n := range c.Remotes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Connection returns how to reach remote name as lxc would: its address,
// the client certificate client.crt/client.key of the configuration
// directory, the pinned server certificate servercerts/<name>.crt when
// present, and the remote's project.
func (c *LXCConfig) Connection(name string) (Config, error) {
	r, ok := c.Remotes[name]
	if !ok {
		return Config{}, &Error{Kind: KindConnection, Message: fmt.Sprintf("no lxc remote %q in %s (known remotes: %s)",
			name, filepath.Join(c.Dir, "config.yml"), strings.Join(c.RemoteNames(), ", "))}
	}
	if r.Protocol != "" && r.Protocol != "lxd" {
		return Config{}, &Error{Kind: KindConnection, Message: fmt.Sprintf("lxc remote %q is a %s image server, not an LXD server", name, r.Protocol)}
	}
	if r.AuthType != "" && r.AuthType != "tls" {
		return Config{}, &Error{Kind: KindConnection, Message: fmt.Sprintf("lxc remote %q uses auth_type %q: only tls is supported", name, r.AuthType)}
	}
	out := Config{Endpoint: strings.TrimRight(r.Addr, "/"), Project: r.Project}
	switch {
	case r.Addr == "unix://" || strings.HasPrefix(r.Addr, "unix:"):
		out.Endpoint = r.Addr // "unix://" alone means: discover the local socket
	case strings.HasPrefix(r.Addr, "https://"):
		crt, key := filepath.Join(c.Dir, "client.crt"), filepath.Join(c.Dir, "client.key")
		if isFile(crt) && isFile(key) {
			out.CertFile, out.KeyFile = crt, key
		}
		if pin := filepath.Join(c.Dir, "servercerts", name+".crt"); isFile(pin) {
			out.ServerCertFile = pin
		}
	default:
		return Config{}, &Error{Kind: KindConnection, Message: fmt.Sprintf("lxc remote %q has an unsupported address %q", name, r.Addr)}
	}
	return out, nil
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// ParseLXCConfig parses config.yml. Unknown keys are ignored; a known key
// with a value of the wrong shape is an error naming its line.
func ParseLXCConfig(data []byte) (*LXCConfig, error) {
	root, err := parseYAML(data)
	if err != nil {
		return nil, err
	}
	cfg := &LXCConfig{Remotes: map[string]LXCRemote{}, Aliases: map[string]string{}}
	if root.kind == yNull {
		return cfg, nil
	}
	if root.kind != yMap {
		return nil, root.errorf("the document is not a mapping")
	}
	if n := root.get("default-remote"); n != nil {
		if cfg.DefaultRemote, err = n.asString("default-remote"); err != nil {
			return nil, err
		}
	}
	if n := root.get("remotes"); n != nil && n.kind != yNull {
		if n.kind != yMap {
			return nil, n.errorf("remotes: want a mapping")
		}
		for _, name := range n.keys {
			r, err := parseRemote(name, n.m[name])
			if err != nil {
				return nil, err
			}
			cfg.Remotes[name] = r
		}
	}
	if n := root.get("aliases"); n != nil && n.kind != yNull {
		if n.kind != yMap {
			return nil, n.errorf("aliases: want a mapping")
		}
		for _, k := range n.keys {
			if cfg.Aliases[k], err = n.m[k].asString("aliases." + k); err != nil {
				return nil, err
			}
		}
	}
	return cfg, nil
}

func parseRemote(name string, n *yNode) (LXCRemote, error) {
	var r LXCRemote
	if n.kind == yNull {
		return r, nil
	}
	if n.kind != yMap {
		return r, n.errorf("remotes.%s: want a mapping", name)
	}
	fields := []struct {
		key string
		dst *string
	}{{"addr", &r.Addr}, {"protocol", &r.Protocol}, {"auth_type", &r.AuthType}, {"project", &r.Project}}
	for _, f := range fields {
		if v := n.get(f.key); v != nil {
			s, err := v.asString("remotes." + name + "." + f.key)
			if err != nil {
				return r, err
			}
			*f.dst = s
		}
	}
	if v := n.get("public"); v != nil {
		b, err := v.asBool("remotes." + name + ".public")
		if err != nil {
			return r, err
		}
		r.Public = b
	}
	return r, nil
}

// --- the YAML subset ---------------------------------------------------------

type yKind int

const (
	yNull yKind = iota
	yScalar
	yMap
	ySeq
)

// yNode is a parsed YAML value. Mapping keys keep their order.
type yNode struct {
	kind   yKind
	str    string // scalar text (unquoted, unescaped)
	quoted bool   // the scalar was quoted: never null or bool
	keys   []string
	m      map[string]*yNode
	seq    []*yNode
	line   int
}

func (n *yNode) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: %s", n.line, fmt.Sprintf(format, args...))
}

func (n *yNode) get(key string) *yNode {
	if n.kind != yMap {
		return nil
	}
	return n.m[key]
}

func (n *yNode) asString(what string) (string, error) {
	switch n.kind {
	case yNull:
		return "", nil
	case yScalar:
		return n.str, nil
	}
	return "", n.errorf("%s: want a string", what)
}

func (n *yNode) asBool(what string) (bool, error) {
	if n.kind == yNull {
		return false, nil
	}
	if n.kind == yScalar {
		switch strings.ToLower(n.str) {
		case "true", "yes", "on", "y":
			return true, nil
		case "false", "no", "off", "n":
			return false, nil
		}
	}
	return false, n.errorf("%s: want true or false", what)
}

// yLine is one meaningful line: its indentation and text without comment.
type yLine struct {
	indent int
	text   string
	num    int
}

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 64

func parseYAML(data []byte) (*yNode, error) {
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("not valid UTF-8")
	}
	lines, err := splitLines(strings.TrimPrefix(string(data), "\ufeff"))
	if err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return &yNode{kind: yNull, line: 1}, nil
	}
	p := &yParser{lines: lines}
	n, err := p.block(lines[0].indent, 0)
	if err != nil {
		return nil, err
	}
	if p.i < len(lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", lines[p.i].num)
	}
	return n, nil
}

// splitLines drops blank lines, comments and document markers.
func splitLines(s string) ([]yLine, error) {
	var out []yLine
	for i, raw := range strings.Split(s, "\n") {
		num := i + 1
		raw = strings.TrimSuffix(raw, "\r")
		if raw == "---" || raw == "..." || strings.HasPrefix(raw, "--- ") {
			continue
		}
		body := strings.TrimLeft(raw, " ")
		indent := len(raw) - len(body)
		if strings.HasPrefix(body, "\t") {
			return nil, fmt.Errorf("line %d: tabs are not allowed in indentation", num)
		}
		text, err := stripComment(body, num)
		if err != nil {
			return nil, err
		}
		text = strings.TrimRight(text, " \t")
		if text == "" {
			continue
		}
		out = append(out, yLine{indent: indent, text: text, num: num})
	}
	return out, nil
}

// stripComment removes a "#" comment that is outside quotes and starts
// the text or follows white space.
func stripComment(s string, num int) (string, error) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0:
			if c == quote {
				if quote == '\'' && i+1 < len(s) && s[i+1] == '\'' {
					i++ // '' is an escaped quote
					continue
				}
				quote = 0
			}
		case c == '"' || c == '\'':
			// A quote opens a quoted scalar only where one may start.
			if i == 0 || strings.ContainsRune(" \t:,[{", rune(s[i-1])) {
				quote = c
			}
		case c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return s[:i], nil
		}
	}
	if quote != 0 {
		return "", fmt.Errorf("line %d: unterminated %c-quoted string (multi-line strings are not supported)", num, quote)
	}
	return s, nil
}

type yParser struct {
	lines []yLine
	i     int
}

// block parses the mapping or sequence whose lines start at indent.
func (p *yParser) block(indent, depth int) (*yNode, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nesting too deep", p.lines[p.i].num)
	}
	if isSeqItem(p.lines[p.i].text) {
		return p.sequence(indent, depth)
	}
	return p.mapping(indent, depth)
}

func isSeqItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

func (p *yParser) mapping(indent, depth int) (*yNode, error) {
	n := &yNode{kind: yMap, m: map[string]*yNode{}, line: p.lines[p.i].num}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent {
		l := p.lines[p.i]
		if isSeqItem(l.text) {
			return nil, fmt.Errorf("line %d: a list item where a mapping key was expected", l.num)
		}
		key, rest, err := splitKey(l.text, l.num)
		if err != nil {
			return nil, err
		}
		if _, dup := n.m[key]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", l.num, key)
		}
		p.i++
		var v *yNode
		if rest != "" {
			if v, err = inlineValue(rest, l.num, depth); err != nil {
				return nil, err
			}
		} else {
			if v, err = p.nested(indent, depth, l.num); err != nil {
				return nil, err
			}
		}
		n.keys = append(n.keys, key)
		n.m[key] = v
	}
	return n, p.checkDedent(indent)
}

// nested parses the value of "key:" written on the following lines: a
// deeper block, a list at the key's own indentation, or nothing (null).
func (p *yParser) nested(indent, depth, num int) (*yNode, error) {
	if p.i < len(p.lines) {
		next := p.lines[p.i]
		if next.indent > indent {
			return p.block(next.indent, depth+1)
		}
		if next.indent == indent && isSeqItem(next.text) {
			return p.sequence(indent, depth+1)
		}
	}
	return &yNode{kind: yNull, line: num}, nil
}

func (p *yParser) sequence(indent, depth int) (*yNode, error) {
	n := &yNode{kind: ySeq, line: p.lines[p.i].num}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && isSeqItem(p.lines[p.i].text) {
		l := p.lines[p.i]
		p.i++
		item := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		var v *yNode
		var err error
		switch {
		case item == "":
			if p.i < len(p.lines) && p.lines[p.i].indent > indent {
				v, err = p.block(p.lines[p.i].indent, depth+1)
			} else {
				v = &yNode{kind: yNull, line: l.num}
			}
		case isSeqItem(item) || looksLikeKey(item):
			err = fmt.Errorf("line %d: nested collections inside a list item are not supported", l.num)
		default:
			v, err = inlineValue(item, l.num, depth)
		}
		if err != nil {
			return nil, err
		}
		n.seq = append(n.seq, v)
	}
	return n, p.checkDedent(indent)
}

// checkDedent refuses a line indented deeper than the block that just
// ended (it belongs to nothing) or between two levels.
func (p *yParser) checkDedent(indent int) error {
	if p.i < len(p.lines) && p.lines[p.i].indent > indent {
		return fmt.Errorf("line %d: unexpected indentation", p.lines[p.i].num)
	}
	return nil
}

// looksLikeKey reports whether a list item is an inline "key: value".
func looksLikeKey(s string) bool {
	_, _, err := splitKey(s, 0)
	return err == nil && !strings.HasPrefix(s, "{") && !strings.HasPrefix(s, "[")
}

// splitKey splits "key: rest" (rest may be empty). Keys may be quoted.
func splitKey(s string, num int) (string, string, error) {
	var key string
	var after string
	if s[0] == '"' || s[0] == '\'' {
		k, n, err := quoted(s, 0, num)
		if err != nil {
			return "", "", err
		}
		key, after = k, strings.TrimLeft(s[n:], " \t")
		if !strings.HasPrefix(after, ":") {
			return "", "", fmt.Errorf("line %d: expected ':' after the key %q", num, key)
		}
		after = after[1:]
	} else {
		i := keyEnd(s)
		if i < 0 {
			return "", "", fmt.Errorf("line %d: expected \"key: value\", got %q", num, s)
		}
		key, after = strings.TrimRight(s[:i], " \t"), s[i+1:]
		if strings.ContainsAny(key[:1], "{[&*!|>%@`") {
			return "", "", fmt.Errorf("line %d: unsupported YAML key %q", num, key)
		}
	}
	if after != "" && after[0] != ' ' && after[0] != '\t' {
		return "", "", fmt.Errorf("line %d: expected a space after ':'", num)
	}
	return key, strings.TrimSpace(after), nil
}

// keyEnd finds the ':' ending a plain key: followed by a space or the end.
func keyEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' && (i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t') {
			if i == 0 {
				return -1
			}
			return i
		}
	}
	return -1
}

// inlineValue parses a value written after "key: " or "- ".
func inlineValue(s string, num, depth int) (*yNode, error) {
	switch s[0] {
	case '{', '[':
		n, end, err := flow(s, 0, num, depth+1)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(s[end:]) != "" {
			return nil, fmt.Errorf("line %d: unexpected %q after a flow collection", num, s[end:])
		}
		return n, nil
	case '"', '\'':
		str, end, err := quoted(s, 0, num)
		if err != nil {
			return nil, err
		}
		if strings.TrimSpace(s[end:]) != "" {
			return nil, fmt.Errorf("line %d: unexpected %q after a quoted string", num, s[end:])
		}
		return &yNode{kind: yScalar, str: str, quoted: true, line: num}, nil
	case '|', '>':
		return nil, fmt.Errorf("line %d: block scalars (| and >) are not supported", num)
	case '&', '*', '!':
		return nil, fmt.Errorf("line %d: anchors, aliases and tags are not supported", num)
	}
	return plain(s, num), nil
}

func plain(s string, num int) *yNode {
	switch s {
	case "~", "null", "Null", "NULL":
		return &yNode{kind: yNull, line: num}
	}
	return &yNode{kind: yScalar, str: s, line: num}
}

// flow parses a one-line flow collection ({a: b, c: d} or [a, b]) at s[i].
func flow(s string, i, num, depth int) (*yNode, int, error) {
	if depth > maxDepth {
		return nil, 0, fmt.Errorf("line %d: nesting too deep", num)
	}
	open := s[i]
	closing := byte('}')
	n := &yNode{kind: yMap, m: map[string]*yNode{}, line: num}
	if open == '[' {
		closing, n.kind = ']', ySeq
	}
	i++
	for {
		i = skipSpace(s, i)
		if i >= len(s) {
			return nil, 0, fmt.Errorf("line %d: unterminated flow collection (multi-line ones are not supported)", num)
		}
		if s[i] == closing {
			return n, i + 1, nil
		}
		if n.kind == yMap {
			k, next, err := flowScalar(s, i, num, true)
			if err != nil {
				return nil, 0, err
			}
			next = skipSpace(s, next)
			if next >= len(s) || s[next] != ':' {
				return nil, 0, fmt.Errorf("line %d: expected ':' in a flow mapping", num)
			}
			key := k.str
			if _, dup := n.m[key]; dup {
				return nil, 0, fmt.Errorf("line %d: duplicate key %q", num, key)
			}
			v, after, err := flowValue(s, skipSpace(s, next+1), num, depth)
			if err != nil {
				return nil, 0, err
			}
			n.keys = append(n.keys, key)
			n.m[key] = v
			i = after
		} else {
			v, after, err := flowValue(s, i, num, depth)
			if err != nil {
				return nil, 0, err
			}
			n.seq = append(n.seq, v)
			i = after
		}
		i = skipSpace(s, i)
		switch {
		case i < len(s) && s[i] == ',':
			i++
		case i < len(s) && s[i] == closing:
		case i >= len(s):
			return nil, 0, fmt.Errorf("line %d: unterminated flow collection (multi-line ones are not supported)", num)
		default:
			return nil, 0, fmt.Errorf("line %d: expected ',' or '%c' in a flow collection", num, closing)
		}
	}
}

func flowValue(s string, i, num, depth int) (*yNode, int, error) {
	if i < len(s) && (s[i] == '{' || s[i] == '[') {
		return flow(s, i, num, depth+1)
	}
	return flowScalar(s, i, num, false)
}

// flowScalar reads a quoted or plain scalar inside a flow collection; a
// plain one ends at , ] } (or, for a key, at ": ").
func flowScalar(s string, i, num int, key bool) (*yNode, int, error) {
	if i < len(s) && (s[i] == '"' || s[i] == '\'') {
		str, end, err := quoted(s, i, num)
		if err != nil {
			return nil, 0, err
		}
		return &yNode{kind: yScalar, str: str, quoted: true, line: num}, end, nil
	}
	j := i
	for j < len(s) && !strings.ContainsRune(",]}{[", rune(s[j])) {
		if s[j] == ':' && (key || j+1 == len(s) || s[j+1] == ' ') {
			break
		}
		j++
	}
	text := strings.TrimSpace(s[i:j])
	if text == "" {
		if key {
			return nil, 0, fmt.Errorf("line %d: empty key in a flow mapping", num)
		}
		return &yNode{kind: yNull, line: num}, j, nil
	}
	return plain(text, num), j, nil
}

func skipSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

// quoted decodes the quoted scalar starting at s[i] and returns the index
// after its closing quote.
func quoted(s string, i, num int) (string, int, error) {
	q := s[i]
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == q && q == '\'' && j+1 < len(s) && s[j+1] == '\'':
			b.WriteByte('\'')
			j++
		case c == q:
			return b.String(), j + 1, nil
		case c == '\\' && q == '"':
			n, err := escape(s, j, &b)
			if err != nil {
				return "", 0, fmt.Errorf("line %d: %v", num, err)
			}
			j = n
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("line %d: unterminated %c-quoted string", num, q)
}

var simpleEscapes = map[byte]string{
	'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", '\t': "\t", 'n': "\n", 'v': "\v", 'f': "\f",
	'r': "\r", 'e': "\x1b", ' ': " ", '"': "\"", '/': "/", '\\': "\\",
	'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029",
}

// escape decodes the escape sequence at s[j] (a backslash) into b and
// returns the index of its last byte.
func escape(s string, j int, b *strings.Builder) (int, error) {
	if j+1 >= len(s) {
		return 0, fmt.Errorf("backslash at the end of a string")
	}
	c := s[j+1]
	if r, ok := simpleEscapes[c]; ok {
		b.WriteString(r)
		return j + 1, nil
	}
	width := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
	if width == 0 {
		return 0, fmt.Errorf("unknown escape \\%c", c)
	}
	if j+2+width > len(s) {
		return 0, fmt.Errorf("short \\%c escape", c)
	}
	code, err := strconv.ParseUint(s[j+2:j+2+width], 16, 32)
	if err != nil || code > utf8.MaxRune {
		return 0, fmt.Errorf("invalid \\%c escape %q", c, s[j+2:j+2+width])
	}
	b.WriteRune(rune(code)) // surrogates become U+FFFD: strings stay valid UTF-8
	return j + 1 + width, nil
}

package builtins

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.yaml.in/yaml/v3"

	"github.com/lxdstar/lxdstar/internal/starargs"
)

// yamlModule returns the yaml module: encode and decode, on the
// go.yaml.in/yaml/v3 library. Values map as json's do, plus: ints of any
// size stay ints, dict keys keep their order and need not be strings
// (scalars only), bytes are !!binary.
func yamlModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{
		Name: "yaml",
		Members: starlark.StringDict{
			"encode": starlark.NewBuiltin("yaml.encode", yamlEncode),
			"decode": starlark.NewBuiltin("yaml.decode", yamlDecode),
		},
	}
}

// yaml.encode(x) returns x as a YAML document (block style, two-space
// indentation, ending in a newline).
func yamlEncode(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &x); err != nil {
		return nil, err
	}
	enc := &yamlEncoder{thread: thread}
	n, err := enc.node(x)
	if err != nil {
		return nil, fmt.Errorf("%s: for parameter x: %v", b.Name(), err)
	}
	var buf bytes.Buffer
	e := yaml.NewEncoder(&buf)
	e.SetIndent(2)
	if err := e.Encode(n); err != nil {
		return nil, fmt.Errorf("%s: %s", b.Name(), strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := e.Close(); err != nil {
		return nil, fmt.Errorf("%s: %s", b.Name(), strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return starlark.String(buf.String()), nil
}

// yamlEncoder turns Starlark values into YAML nodes. path is where the
// value being encoded sits, for errors; seen holds the containers being
// encoded, to refuse cycles.
type yamlEncoder struct {
	thread *starlark.Thread
	path   []string
	seen   []any
}

func (e *yamlEncoder) errorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if len(e.path) == 0 {
		return errors.New(msg)
	}
	return fmt.Errorf("at %s: %s", strings.Join(e.path, ""), msg)
}

func (e *yamlEncoder) node(x starlark.Value) (*yaml.Node, error) {
	if n, ok, err := e.scalar(x); ok || err != nil {
		return n, err
	}
	switch x.(type) {
	case *starlark.Dict, *starlark.List, *starlark.Set:
		for _, s := range e.seen {
			if s == x {
				return nil, e.errorf("cycle: the %s contains itself", x.Type())
			}
		}
		e.seen = append(e.seen, x)
		defer func() { e.seen = e.seen[:len(e.seen)-1] }()
	}
	switch x := x.(type) {
	case starlark.IterableMapping:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, kv := range x.Items() {
			k, ok, err := e.scalar(kv[0])
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, e.errorf("cannot encode a %s key %s (keys must be strings, numbers, bools or None)", kv[0].Type(), kv[0])
			}
			v, err := e.at("["+kv[0].String()+"]", kv[1])
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, k, v)
		}
		return n, nil
	case starlark.Iterable:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		iter := x.Iterate()
		defer iter.Done()
		var elem starlark.Value
		for i := 0; iter.Next(&elem); i++ {
			v, err := e.at("["+strconv.Itoa(i)+"]", elem)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, v)
		}
		return n, nil
	case starlark.HasAttrs:
		return e.object(x)
	}
	return nil, e.errorf("cannot encode %s as YAML", x.Type())
}

// at encodes x, a part of the value being encoded, found at step.
func (e *yamlEncoder) at(step string, x starlark.Value) (*yaml.Node, error) {
	e.path = append(e.path, step)
	defer func() { e.path = e.path[:len(e.path)-1] }()
	return e.node(x)
}

// object encodes a model (through its to_dict method) or a struct (its
// attributes, sorted by name).
func (e *yamlEncoder) object(x starlark.HasAttrs) (*yaml.Node, error) {
	if fn, err := x.Attr("to_dict"); err == nil && fn != nil {
		if c, ok := fn.(starlark.Callable); ok {
			d, err := starlark.Call(e.thread, c, nil, nil)
			if err != nil {
				return nil, e.errorf("%v", err)
			}
			return e.node(d)
		}
	}
	names := append([]string(nil), x.AttrNames()...)
	sort.Strings(names)
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, name := range names {
		v, err := x.Attr(name)
		if err != nil {
			return nil, e.errorf("cannot read %s.%s: %v", x.Type(), name, err)
		}
		if v == nil {
			continue
		}
		vn, err := e.at("."+name, v)
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: name}, vn)
	}
	return n, nil
}

// scalar encodes None, bools, numbers, strings and bytes; ok is false for
// anything else.
func (e *yamlEncoder) scalar(x starlark.Value) (n *yaml.Node, ok bool, err error) {
	s := func(tag, v string) (*yaml.Node, bool, error) {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: v}, true, nil
	}
	switch x := x.(type) {
	case starlark.NoneType:
		return s("!!null", "null")
	case starlark.Bool:
		return s("!!bool", strconv.FormatBool(bool(x)))
	case starlark.Int:
		// No tag: an int beyond 64 bits reads back as an int anyway (see
		// yamlScalar), and other YAML readers see a plain integer.
		return s("", x.String())
	case starlark.Float:
		f := float64(x)
		switch {
		case math.IsNaN(f):
			return s("!!float", ".nan")
		case math.IsInf(f, 1):
			return s("!!float", ".inf")
		case math.IsInf(f, -1):
			return s("!!float", "-.inf")
		}
		return s("!!float", x.String()) // always has '.' or an exponent: stays a float
	case starlark.String:
		if !utf8.ValidString(string(x)) {
			return nil, false, e.errorf("the string %s is not valid UTF-8 (encode binary data as bytes)", x)
		}
		return s("!!str", string(x))
	case starlark.Bytes:
		return s("!!binary", base64.StdEncoding.EncodeToString([]byte(x)))
	}
	return nil, false, nil
}

// yaml.decode(x) parses one YAML document (a string or bytes) into
// Starlark values.
func yamlDecode(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text starargs.Text
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x", &text); err != nil {
		return nil, err
	}
	v, err := decodeYAML(string(text))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	return v, nil
}

// decodeYAML parses text, which must hold at most one document; an empty
// one is None.
func decodeYAML(text string) (starlark.Value, error) {
	dec := yaml.NewDecoder(strings.NewReader(text))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return starlark.None, nil
		}
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, fmt.Errorf("line %d: a second document: decode one document at a time", next.Line)
	case !errors.Is(err, io.EOF):
		return nil, errors.New(strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(doc.Content) == 0 {
		return starlark.None, nil
	}
	d := &yamlDecoder{done: map[*yaml.Node]starlark.Value{}, busy: map[*yaml.Node]bool{}}
	return d.value(doc.Content[0])
}

// yamlDecoder converts YAML nodes to Starlark values. An anchored node is
// converted once: its aliases share the value (as Python's YAML loaders
// do), which also keeps alias bombs linear.
type yamlDecoder struct {
	done map[*yaml.Node]starlark.Value
	busy map[*yaml.Node]bool
}

func (d *yamlDecoder) value(n *yaml.Node) (starlark.Value, error) {
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return nil, fmt.Errorf("line %d: unknown alias *%s", n.Line, n.Value)
		}
		return d.value(n.Alias)
	}
	if v, ok := d.done[n]; ok {
		return v, nil
	}
	if d.busy[n] {
		return nil, fmt.Errorf("line %d: the anchor &%s contains an alias of itself", n.Line, n.Anchor)
	}
	d.busy[n] = true
	defer delete(d.busy, n)
	var v starlark.Value
	var err error
	switch n.Kind {
	case yaml.ScalarNode:
		v, err = yamlScalar(n)
	case yaml.SequenceNode:
		elems := make([]starlark.Value, len(n.Content))
		for i, c := range n.Content {
			if elems[i], err = d.value(c); err != nil {
				return nil, err
			}
		}
		v = starlark.NewList(elems)
	case yaml.MappingNode:
		v, err = d.mapping(n)
	default:
		err = fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	if err != nil {
		return nil, err
	}
	if n.Anchor != "" {
		d.done[n] = v
	}
	return v, nil
}

// mapping converts a mapping, applying merge keys (<<: *base): a merged
// key never overrides one the mapping sets itself, nor an earlier merge.
func (d *yamlDecoder) mapping(n *yaml.Node) (*starlark.Dict, error) {
	out := starlark.NewDict(len(n.Content) / 2)
	own := starlark.NewDict(len(n.Content) / 2) // keys the mapping sets itself
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !isMerge(k) {
			key, err := d.key(k)
			if err != nil {
				return nil, err
			}
			if _, found, _ := own.Get(key); found {
				return nil, fmt.Errorf("line %d: duplicate key %s", k.Line, key)
			}
			_ = own.SetKey(key, starlark.None)
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, vn := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			if err := d.merge(out, own, vn); err != nil {
				return nil, err
			}
			continue
		}
		key, _ := d.key(k)
		v, err := d.value(vn)
		if err != nil {
			return nil, err
		}
		if err := out.SetKey(key, v); err != nil {
			return nil, fmt.Errorf("line %d: %v", k.Line, err)
		}
	}
	return out, nil
}

func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge"
}

// merge adds the keys of the mapping (or sequence of mappings) vn to out.
func (d *yamlDecoder) merge(out, own *starlark.Dict, vn *yaml.Node) error {
	sources := []*yaml.Node{vn}
	if target := deref(vn); target.Kind == yaml.SequenceNode {
		sources = target.Content
	}
	for _, src := range sources {
		v, err := d.value(src)
		if err != nil {
			return err
		}
		m, ok := v.(*starlark.Dict)
		if !ok {
			return fmt.Errorf("line %d: a merge (<<) needs a mapping or a list of mappings, got %s", src.Line, v.Type())
		}
		for _, kv := range m.Items() {
			_, isOwn, _ := own.Get(kv[0])
			_, isSet, _ := out.Get(kv[0])
			if !isOwn && !isSet {
				_ = out.SetKey(kv[0], kv[1])
			}
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// key converts a mapping key, which must be a scalar to be hashable.
func (d *yamlDecoder) key(k *yaml.Node) (starlark.Value, error) {
	if deref(k).Kind != yaml.ScalarNode {
		return nil, fmt.Errorf("line %d: a mapping key must be a scalar (string, number, bool or null)", k.Line)
	}
	return d.value(k)
}

// decimalInt is a plain integer; the YAML library resolves one too large
// for 64 bits as a float (unless tagged !!float), but Starlark ints have
// no size limit.
var decimalInt = regexp.MustCompile(`^[-+]?[0-9][0-9_]*$`)

// yamlScalar converts a scalar by its resolved tag.
func yamlScalar(n *yaml.Node) (starlark.Value, error) {
	bad := func(what string) error {
		return fmt.Errorf("line %d: invalid %s %q", n.Line, what, n.Value)
	}
	switch n.ShortTag() {
	case "!!null":
		return starlark.None, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, bad("bool")
		}
		return starlark.Bool(b), nil
	case "!!int":
		return bigInt(n.Value, 0, bad)
	case "!!float":
		if n.Style&yaml.TaggedStyle == 0 && decimalInt.MatchString(n.Value) {
			return bigInt(n.Value, 10, bad) // decimal even with a leading 0, as YAML 1.2 reads it
		}
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, bad("float")
		}
		return starlark.Float(f), nil
	case "!!binary":
		data, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.Value), ""))
		if err != nil {
			return nil, bad("!!binary (base64)")
		}
		return starlark.Bytes(data), nil
	}
	// !!str, !!timestamp (kept as written) and application tags.
	return starlark.String(n.Value), nil
}

// bigInt parses an integer in base (0: as the YAML library reads them,
// with 0x, 0o, 0b and a leading 0 for octal), ignoring underscores.
func bigInt(s string, base int, bad func(string) error) (starlark.Value, error) {
	i, ok := new(big.Int).SetString(strings.ReplaceAll(s, "_", ""), base)
	if !ok {
		return nil, bad("int")
	}
	return starlark.MakeBigInt(i), nil
}

// Package starjson converts between JSON (and the Go values encoding/json
// handles) and Starlark values: dicts, lists, strings, numbers, bools and
// None. LXD's objects reach scripts through Decode, and what scripts send
// goes back through ToGo. It knows nothing of LXD.
package starjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/jsonscan"
)

// Decode decodes JSON into Starlark values, keeping object keys in the
// order the server sent them (so printed dicts read like LXD's output). It
// is a direct parser: json.Decoder's token API was three times slower than
// json.Unmarshal on a 100-instance listing. Strings with escapes go through
// encoding/json, so string semantics (and invalid UTF-8 handling) match it.
// An empty (or all-space) text is None.
func Decode(data []byte) (starlark.Value, error) {
	p := &jsonParser{data: data}
	if len(data) <= maxSharedText {
		p.text = string(data)
	}
	p.space()
	if p.pos == len(p.data) {
		return starlark.None, nil
	}
	v, err := p.value(0)
	if err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	p.space()
	if p.pos != len(p.data) {
		return nil, fmt.Errorf("decoding JSON: trailing data at offset %d", p.pos)
	}
	return v, nil
}

// MaxDepth bounds nesting both ways: as encoding/json does for decoding,
// so hostile input cannot exhaust the stack, and for ToGo, so that a list
// or dict containing itself fails instead of recursing until the stack
// overflows, a crash no recover can catch.
const MaxDepth = jsonscan.MaxDepth

type jsonParser struct {
	data []byte
	pos  int
	// text is data as one string, when it is small: the plain strings of
	// the value (most of them) are then slices of it rather than strings
	// of their own. An instance's config is some 25 strings, read for
	// every instance of a listing: one allocation instead of 25 took
	// listing 1000 instances and reading their configs from 62 to 39
	// thousand allocations (lxdmod's BenchmarkListModels), and fresh memory is
	// what a short run pays for most (page faults).
	text string
}

// maxSharedText bounds the text whose strings share one allocation: a
// script that keeps one short string of a large value must not keep all
// of it alive.
const maxSharedText = 16 << 10

func (p *jsonParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{p.pos}, args...)...)
}

func (p *jsonParser) value(depth int) (starlark.Value, error) {
	if depth >= MaxDepth { // depth counts from 0: at most MaxDepth levels, as encoding/json
		return nil, p.errorf("nested too deeply")
	}
	if p.pos >= len(p.data) {
		return nil, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		return starlark.String(s), err
	case c == 't':
		return starlark.True, p.literal("true")
	case c == 'f':
		return starlark.False, p.literal("false")
	case c == 'n':
		return starlark.None, p.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	default:
		return nil, p.errorf("unexpected %q", c)
	}
}

func (p *jsonParser) literal(word string) error {
	if !bytes.HasPrefix(p.data[p.pos:], []byte(word)) {
		return p.errorf("invalid literal")
	}
	p.pos += len(word)
	return nil
}

func (p *jsonParser) object(depth int) (starlark.Value, error) {
	d := starlark.NewDict(8)
	err := p.members('}', "object", func() error {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return p.errorf("expected an object key")
		}
		key, err := p.str()
		if err != nil {
			return err
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return p.errorf("expected ':'")
		}
		p.pos++
		p.space()
		v, err := p.value(depth + 1)
		if err != nil {
			return err
		}
		return d.SetKey(starlark.String(key), v)
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (p *jsonParser) array(depth int) (starlark.Value, error) {
	var elems []starlark.Value
	err := p.members(']', "array", func() error {
		v, err := p.value(depth + 1)
		elems = append(elems, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return starlark.NewList(elems), nil
}

// members reads the members of the object or array whose opening bracket
// is at p.pos, up to its closing bracket close: member reads one (from its
// first non-space byte), and a ',' or close must follow each. what names
// the value in errors.
func (p *jsonParser) members(close byte, what string, member func() error) error {
	p.pos++ // the opening bracket
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == close {
		p.pos++
		return nil
	}
	for {
		p.space()
		if err := member(); err != nil {
			return err
		}
		p.space()
		if p.pos >= len(p.data) {
			return p.errorf("unterminated %s", what)
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case close:
			p.pos++
			return nil
		default:
			return p.errorf("expected ',' or '%c'", close)
		}
	}
}

// str reads a string literal. The common case (no escapes, valid UTF-8) is
// a plain slice; jsonscan decodes the rest as encoding/json does.
func (p *jsonParser) str() (string, error) {
	start := p.pos
	end, plain, err := jsonscan.String(p.data, p.pos)
	p.pos = end
	if err != nil {
		return "", err
	}
	if plain {
		if p.text != "" {
			return p.text[start+1 : end-1], nil
		}
		return string(p.data[start+1 : end-1]), nil
	}
	return jsonscan.Unquote(p.data[start:end]), nil
}

func (p *jsonParser) number() (starlark.Value, error) {
	start := p.pos
	end, err := jsonscan.Number(p.data, p.pos)
	if err != nil {
		return nil, err
	}
	p.pos = end
	lit := p.data[start:end]
	if bytes.ContainsAny(lit, ".eE") {
		f, err := strconv.ParseFloat(string(lit), 64)
		if err != nil {
			return nil, fmt.Errorf("offset %d: %w", start, err)
		}
		return starlark.Float(f), nil
	}
	return numberValue(json.Number(lit))
}

func numberValue(n json.Number) (starlark.Value, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return starlark.MakeInt64(i), nil
	}
	if b, ok := new(big.Int).SetString(string(n), 10); ok {
		return starlark.MakeBigInt(b), nil
	}
	f, err := n.Float64()
	if err != nil {
		return nil, err
	}
	return starlark.Float(f), nil
}

// An Object is a value sent as the JSON object of its fields (a model
// object). ToDict returns them as a fresh dict.
type Object interface {
	starlark.Value
	ToDict() *starlark.Dict
}

// ToGo converts a Starlark value to plain Go values that encoding/json
// encodes as LXD expects: maps, slices, strings, int64s, float64s, bools,
// nil, and json.Number for ints too big for int64. An Object inside v is
// sent as its fields. what names the value in errors, which are *Error.
func ToGo(v starlark.Value, what string) (any, error) {
	return convert(v, what, true)
}

// ToGoData is ToGo for a value that is data, such as the value of an
// object's field: an Object inside it is refused. (Converting it would take
// that object's lock, which the caller may hold: inst.config["x"] = inst
// would deadlock.)
func ToGoData(v starlark.Value, what string) (any, error) {
	return convert(v, what, false)
}

func convert(v starlark.Value, what string, objects bool) (any, error) {
	g, err := goValue(v, 0, objects)
	if err != nil {
		err.(*Error).What = what
		return nil, err
	}
	return g, nil
}

// An Error is a failure to convert a value, or a part deep inside it: what
// names the value, Path says where inside it the failure is. Error() reads
// what["key"][3]: Msg.
type Error struct {
	What string
	Msg  string
	// The path is collected while the recursion unwinds (innermost
	// segment first), so that converting a value costs nothing for its
	// error message until one fails.
	segs []string
}

func (e *Error) Error() string { return e.What + e.Path() + ": " + e.Msg }

// Path is where inside the value the failure is, such as ["key"][3], or
// "" for the value itself. A cycle's path is shortened.
func (e *Error) Path() string {
	var b strings.Builder
	const shown = 16 // a cycle's path is as long as the depth limit
	for i := len(e.segs) - 1; i >= 0 && i >= len(e.segs)-shown; i-- {
		b.WriteString(e.segs[i])
	}
	if len(e.segs) > shown {
		b.WriteString("…")
	}
	return b.String()
}

func goValue(v starlark.Value, depth int, objects bool) (any, error) {
	if depth > MaxDepth {
		return nil, &Error{Msg: fmt.Sprintf("nested more than %d levels deep (does a list or dict contain itself?)", MaxDepth)}
	}
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.String:
		return string(x), nil
	case starlark.Bytes:
		return string(x), nil
	case starlark.Int:
		if i, ok := x.Int64(); ok {
			return i, nil
		}
		return json.Number(x.String()), nil
	case starlark.Float:
		f := float64(x)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, &Error{Msg: fmt.Sprintf("cannot encode %v as JSON", f)}
		}
		return f, nil
	case *starlark.Dict:
		m := make(map[string]any, x.Len())
		for _, item := range x.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, &Error{Msg: fmt.Sprintf("dict key %s is %s, want string", item[0], item[0].Type())}
			}
			gv, err := goValue(item[1], depth+1, objects)
			if err != nil {
				return nil, under(err, "["+strconv.Quote(string(k))+"]")
			}
			m[string(k)] = gv
		}
		return m, nil
	case starlark.Indexable: // list, tuple
		out := make([]any, x.Len())
		for i := range out {
			gv, err := goValue(x.Index(i), depth+1, objects)
			if err != nil {
				return nil, under(err, "["+strconv.Itoa(i)+"]")
			}
			out[i] = gv
		}
		return out, nil
	case Object:
		// Before json.Marshaler: a model object encodes itself under its
		// lock, which the caller may hold (a model inside its own field).
		if objects {
			return goValue(x.ToDict(), depth+1, objects)
		}
	case json.Marshaler:
		return x, nil
	}
	return nil, &Error{Msg: fmt.Sprintf("cannot send a %s to LXD", v.Type())}
}

// under adds a path segment to a failure from inside a container.
func under(err error, seg string) error {
	e := err.(*Error)
	e.segs = append(e.segs, seg)
	return e
}

// FromGo converts decoded-JSON-like Go values (maps, slices, strings,
// numbers, bools) to Starlark. Map keys are sorted for a stable order.
func FromGo(v any) starlark.Value {
	switch x := v.(type) {
	case nil:
		return starlark.None
	case bool:
		return starlark.Bool(x)
	case string:
		return starlark.String(x)
	case int:
		return starlark.MakeInt(x)
	case int64:
		return starlark.MakeInt64(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return starlark.MakeInt64(int64(x))
		}
		return starlark.Float(x)
	case json.Number:
		if n, err := numberValue(x); err == nil {
			return n
		}
		return starlark.String(x)
	case []string:
		elems := make([]starlark.Value, len(x))
		for i, s := range x {
			elems[i] = starlark.String(s)
		}
		return starlark.NewList(elems)
	case []any:
		elems := make([]starlark.Value, len(x))
		for i, e := range x {
			elems[i] = FromGo(e)
		}
		return starlark.NewList(elems)
	case map[string][]string:
		d := starlark.NewDict(len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			_ = d.SetKey(starlark.String(k), FromGo(x[k]))
		}
		return d
	case map[string]any:
		d := starlark.NewDict(len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			_ = d.SetKey(starlark.String(k), FromGo(x[k]))
		}
		return d
	}
	return starlark.String(fmt.Sprint(v))
}

// Unsendable is the Canonical form of every value that cannot be sent.
const Unsendable = "\x00unsendable"

// Canonical renders a value as JSON with sorted keys: two values with the
// same canonical form are the same to LXD (dirty tracking compares these).
// A value that cannot be sent (an Object inside it too) has a form no JSON
// has.
func Canonical(v starlark.Value) string {
	g, err := ToGoData(v, "value")
	if err != nil {
		// Not sendable: it certainly differs from anything the server has
		// (always JSON). Not v.String(): printing a model inside v would
		// take that model's lock, which the caller may hold.
		return Unsendable
	}
	b, _ := json.Marshal(g)
	return string(b)
}

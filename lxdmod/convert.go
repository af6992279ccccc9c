package lxdmod

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"sort"
	"strconv"

	"go.starlark.net/starlark"
)

// fromJSON decodes JSON into Starlark values, keeping object keys in the
// order the server sent them (so printed dicts read like LXD's output).
func fromJSON(data []byte) (starlark.Value, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return starlark.None, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, fmt.Errorf("decoding JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("decoding JSON: trailing data")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (starlark.Value, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := starlark.NewDict(8)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %T", kt)
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				if err := d.SetKey(starlark.String(key), v); err != nil {
					return nil, err
				}
			}
			_, err := dec.Token() // '}'
			return d, err
		case '[':
			var elems []starlark.Value
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				elems = append(elems, v)
			}
			_, err := dec.Token() // ']'
			return starlark.NewList(elems), err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case string:
		return starlark.String(t), nil
	case bool:
		return starlark.Bool(t), nil
	case nil:
		return starlark.None, nil
	case json.Number:
		return numberValue(t)
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
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

// toGo converts a Starlark value to plain Go values that encoding/json
// encodes as LXD expects. what names the value in error messages.
func toGo(v starlark.Value, what string) (any, error) {
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
			return nil, fmt.Errorf("%s: cannot encode %v as JSON", what, f)
		}
		return f, nil
	case *starlark.Dict:
		m := make(map[string]any, x.Len())
		for _, item := range x.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: dict key %s is %s, want string", what, item[0], item[0].Type())
			}
			gv, err := toGo(item[1], what+"["+strconv.Quote(string(k))+"]")
			if err != nil {
				return nil, err
			}
			m[string(k)] = gv
		}
		return m, nil
	case starlark.Indexable: // list, tuple
		out := make([]any, x.Len())
		for i := range out {
			gv, err := toGo(x.Index(i), fmt.Sprintf("%s[%d]", what, i))
			if err != nil {
				return nil, err
			}
			out[i] = gv
		}
		return out, nil
	case json.Marshaler:
		return x, nil
	}
	if m, ok := v.(interface{ toDict() *starlark.Dict }); ok {
		return toGo(m.toDict(), what)
	}
	return nil, fmt.Errorf("%s: cannot send a %s to LXD", what, v.Type())
}

// fromGo converts decoded-JSON-like Go values (maps, slices, strings,
// numbers, bools) to Starlark. Map keys are sorted for a stable order.
func fromGo(v any) starlark.Value {
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
			elems[i] = fromGo(e)
		}
		return starlark.NewList(elems)
	case map[string][]string:
		d := starlark.NewDict(len(x))
		for _, k := range sortedKeys(x) {
			_ = d.SetKey(starlark.String(k), fromGo(x[k]))
		}
		return d
	case map[string]any:
		d := starlark.NewDict(len(x))
		for _, k := range sortedKeys(x) {
			_ = d.SetKey(starlark.String(k), fromGo(x[k]))
		}
		return d
	}
	return starlark.String(fmt.Sprint(v))
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// canonical renders a value as JSON with sorted keys: two values with the
// same canonical form are the same to LXD. Dirty tracking compares these.
func canonical(v starlark.Value) string {
	g, err := toGo(v, "value")
	if err != nil {
		// Not sendable: it certainly differs from anything the server has.
		return "\x00unsendable:" + v.String()
	}
	b, _ := json.Marshal(g)
	return string(b)
}

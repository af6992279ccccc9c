package lxdmod

import (
	"fmt"

	"go.starlark.net/starlark"
)

// createField is one keyword-only parameter of a fieldsCreate method and
// the JSON field of the POST body it fills (of the same name).
type createField struct {
	name     string
	kind     fieldKind
	required bool // a required string (target_project, ...), still keyword-only
}

type fieldKind int

const (
	stringField   fieldKind = iota // str or None
	dictField                      // dict or None
	dictListField                  // list of dicts or None (ACL rules, forward ports, record entries)
)

// fieldsCreate is the create(<key>, *, <fields>) of managers whose POST
// body is the new object's key plus optional fields, sent as given (the
// network ACLs, forwards, peers, zones and records): one table of
// parameters per type instead of one function. LXD answers these
// synchronously; the object comes back read from the server.
func fieldsCreate(fields ...createField) methodFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		g := mgr(b)
		if len(args) > 1 {
			return nil, fmt.Errorf("%s: got %d positional arguments, want 1 (%s; the others are keyword-only)", b.Name(), len(args), g.t.key)
		}
		var key string
		vals := make([]starlark.Value, len(fields))
		pairs := []any{g.t.key, &key}
		for i, f := range fields {
			vals[i] = starlark.None
			spec := f.name + "?"
			if f.required {
				spec = f.name
			}
			pairs = append(pairs, spec, &vals[i])
		}
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, pairs...); err != nil {
			return nil, err
		}
		if err := checkNewName(b.Name(), g.t.key, key); err != nil {
			return nil, err
		}
		body := map[string]any{g.t.key: key}
		for i, f := range fields {
			v, err := f.convert(b.Name(), vals[i])
			if err != nil {
				return nil, err
			}
			setIf(body, f.name, v)
		}
		return g.createObject(thread, g.t.collection(g.parentKey()), map[string]any{g.t.key: key}, body, false)
	}
}

// convert checks one argument's kind and returns its JSON form (nil for
// None).
func (f createField) convert(fn string, v starlark.Value) (any, error) {
	switch f.kind {
	case dictField:
		return optDict(v, fn, f.name)
	case dictListField:
		return optDictList(v, fn, f.name)
	}
	s, err := optString(v, fn, f.name)
	if err != nil {
		return nil, err
	}
	if f.required && s == "" {
		return nil, fmt.Errorf("%s: for parameter %s: want a non-empty string", fn, f.name)
	}
	return s, nil
}

// optDictList converts an optional list of dicts; None gives nil.
func optDictList(v starlark.Value, fn, param string) (any, error) {
	if v == starlark.None {
		return nil, nil
	}
	seq, ok := v.(starlark.Indexable)
	if !ok || v.Type() == "string" || v.Type() == "bytes" {
		return nil, fmt.Errorf("%s: for parameter %s: got %s, want list of dicts or None", fn, param, v.Type())
	}
	out := make([]any, seq.Len())
	for i := range out {
		d, ok := seq.Index(i).(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("%s: for parameter %s: item %d is %s, want dict", fn, param, i, seq.Index(i).Type())
		}
		g, err := toGo(d, fmt.Sprintf("%s: %s[%d]", fn, param, i))
		if err != nil {
			return nil, err
		}
		out[i] = g
	}
	return out, nil
}

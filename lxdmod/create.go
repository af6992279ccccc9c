package lxdmod

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
)

// createField is one parameter of a create method made by fieldsCreate or
// namedCreate, and the JSON field of the POST body it fills (of the same
// name).
type createField struct {
	name     string
	kind     fieldKind
	required bool // a required string (target_project, ...)
}

// The parameters a create method can take, by kind.
func stringArg(name string) createField   { return createField{name: name} }
func requiredArg(name string) createField { return createField{name: name, required: true} }
func dictArg(name string) createField     { return createField{name: name, kind: dictField} }
func dictListArg(name string) createField { return createField{name: name, kind: dictListField} }
func stringsArg(name string) createField  { return createField{name: name, kind: stringsField} }

type fieldKind int

const (
	stringField   fieldKind = iota // str or None
	dictField                      // dict or None
	dictListField                  // list of dicts or None (ACL rules, forward ports, record entries)
	stringsField                   // list of strings or None (a group's members)
)

// The create methods of managers whose POST body is the new object's key
// plus optional fields, sent as given: one table of parameters per type
// instead of one function. The object comes back read from the server.
//
// fieldsCreate is create(<key>, *, <fields>), for objects LXD creates
// synchronously (cluster groups, network ACLs, forwards, peers, zones and
// records); namedCreate is create(name, <fields>, wait=False), its
// parameters positional too, as pylxd has it for profiles, projects and
// networks.
func fieldsCreate(fields ...createField) methodFn { return createMethod(false, fields) }

func namedCreate(fields ...createField) methodFn { return createMethod(true, fields) }

func createMethod(positional bool, fields []createField) methodFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		g := mgr(b)
		if !positional && len(args) > 1 {
			return nil, fmt.Errorf("%s: got %d positional arguments, want 1 (%s; the others are keyword-only)", b.Name(), len(args), g.t.key)
		}
		var key newName
		var wait bool
		vals := make([]starlark.Unpacker, len(fields))
		pairs := []any{g.t.key, &key}
		for i, f := range fields {
			vals[i] = f.arg()
			spec := f.name + "?"
			if f.required {
				spec = f.name
			}
			pairs = append(pairs, spec, vals[i])
		}
		if positional {
			pairs = append(pairs, "wait?", &wait)
		}
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, pairs...); err != nil {
			return nil, err
		}
		body := map[string]any{g.t.key: string(key)}
		for i, f := range fields {
			setIf(body, f.name, argValue(vals[i]))
		}
		return g.createObject(thread, g.collectionPath(), map[string]any{g.t.key: string(key)}, body, wait)
	}
}

// arg is where the field's argument is unpacked.
func (f createField) arg() starlark.Unpacker {
	switch {
	case f.kind == dictField:
		return new(jsonObject)
	case f.kind == dictListField:
		return new(jsonObjects)
	case f.kind == stringsField:
		return new(starargs.Strings)
	case f.required:
		return new(nonEmpty)
	}
	return new(starargs.OptString)
}

// argValue is the JSON form of an unpacked field (nil for None).
func argValue(a starlark.Unpacker) any {
	switch x := a.(type) {
	case *jsonObject:
		return *x
	case *jsonObjects:
		return *x
	case *starargs.Strings:
		if *x == nil {
			return nil
		}
		return []string(*x)
	case *nonEmpty:
		return string(*x)
	case *starargs.OptString:
		return x.Value
	}
	return nil
}

package lxdmod

// Helpers shared by the server-wide resources (profiles, projects, networks,
// storage, certificates): creating an object and reading it back, renames
// with the documented parameter name, put/patch, argument conversion.

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// renameMethod is every model's rename(<param>, wait=False): instances take
// "name", profiles, networks, snapshots "new_name" (as pylxd has them). It
// checks the arguments under their documented names, so errors name the
// parameter the script used, then calls the one Model.rename.
func renameMethod(param string) methodFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name string
		var wait bool
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, param, &name, "wait?", &wait); err != nil {
			return nil, err
		}
		if err := checkNewName(b.Name(), param, name); err != nil {
			return nil, err
		}
		return receiver(b).rename(thread, name, wait)
	}
}

// checkNewName refuses names LXD cannot take as one URL segment.
func checkNewName(fn, param, name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("%s: for parameter %s: invalid name %q", fn, param, name)
	}
	return nil
}

// createObject POSTs body to path and returns the new object, read back from
// the server. With wait=False and an asynchronous answer the object comes
// back at once holding what is known (seed) with .operation pending.
func (g *manager) createObject(thread *starlark.Thread, path string, seed map[string]any, body any, wait bool) (starlark.Value, error) {
	m := g.model(dictFields(fromGo(seed).(*starlark.Dict)), "")
	req := &rest.Request{Method: "POST", Path: path, Body: body}
	return g.c.run(thread, req, wait, m.createSpec())
}

// sendAndSync implements put(put_object, wait=False) and patch(patch_object,
// wait=False): send the dict as it is, then sync the object (keeping unsaved
// local changes, as sync() does).
func sendAndSync(method string) methodFn {
	param := strings.ToLower(method) + "_object"
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		m := receiver(b)
		var obj *starlark.Dict
		var wait bool
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, param, &obj, "wait?", &wait); err != nil {
			return nil, err
		}
		body, err := toGo(obj, b.Name()+": "+param)
		if err != nil {
			return nil, err
		}
		req := &rest.Request{Method: method, Path: m.path(), Body: body}
		return m.c.run(thread, req, wait, m.changeSpec(strings.ToLower(method)))
	}
}

// optDict converts an optional dict argument to its JSON form; None gives nil.
func optDict(v starlark.Value, fn, param string) (map[string]any, error) {
	if v == starlark.None {
		return nil, nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: for parameter %s: got %s, want dict or None", fn, param, v.Type())
	}
	g, err := toGo(d, fn+": "+param)
	if err != nil {
		return nil, err
	}
	return g.(map[string]any), nil
}

// optStrings converts an optional list of strings; None gives nil.
func optStrings(v starlark.Value, fn, param string) ([]string, error) {
	if v == starlark.None {
		return nil, nil
	}
	seq, ok := v.(starlark.Indexable)
	if !ok || v.Type() == "string" || v.Type() == "bytes" {
		return nil, fmt.Errorf("%s: for parameter %s: got %s, want list of strings or None", fn, param, v.Type())
	}
	out := make([]string, seq.Len())
	for i := range out {
		s, ok := seq.Index(i).(starlark.String)
		if !ok {
			return nil, fmt.Errorf("%s: for parameter %s: item %d is %s, want string", fn, param, i, seq.Index(i).Type())
		}
		out[i] = string(s)
	}
	return out, nil
}

// setIf adds key to body when v is not None (LXD's defaults apply otherwise).
func setIf(body map[string]any, key string, v any) {
	switch x := v.(type) {
	case nil:
		return
	case map[string]any:
		if x == nil {
			return
		}
	case string:
		if x == "" {
			return
		}
	}
	body[key] = v
}

// listDefaults makes list fields LXD sends as null (used_by of an unused
// network or pool) empty lists, so scripts can iterate them.
func listDefaults(fields ...string) func(m *Model) {
	return func(m *Model) {
		for _, f := range fields {
			if v, ok := m.fieldLocked(f); !ok || v == starlark.None {
				m.setServerField(f, starlark.NewList(nil))
			}
		}
	}
}

// describeField shows one string field in repr: <Network "br0" bridge>.
func describeField(field string) func(m *Model) string {
	return func(m *Model) string { return m.str(field) }
}

package lxdmod

// Helpers shared by the server-wide resources (profiles, projects, networks,
// storage, certificates): creating an object and reading it back, renames
// with the documented parameter name, put/patch, argument conversion.

import (
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starjson"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// renameMethod is every model's rename(<param>, wait=False): instances take
// "name", profiles, networks, snapshots "new_name" (as pylxd has them). It
// checks the arguments under their documented names, so errors name the
// parameter the script used, then calls the one Model.rename.
func renameMethod(param string) methodFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var name newName
		var wait bool
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, param, &name, "wait?", &wait); err != nil {
			return nil, err
		}
		return receiver(b).rename(thread, string(name), wait)
	}
}

// createObject POSTs body to path and returns the new object, read back from
// the server. With wait=False and an asynchronous answer the object comes
// back at once holding what is known (seed) with .operation pending.
func (g *manager) createObject(thread *starlark.Thread, path string, seed map[string]any, body any, wait bool) (starlark.Value, error) {
	m := g.model(dictFields(starjson.FromGo(seed).(*starlark.Dict)), "")
	return g.c.run(thread, rest.Post(path, body), wait, m.createSpec())
}

// sendAndSync implements put(put_object, wait=False) and patch(patch_object,
// wait=False): send the dict as it is (verb is rest.Put or rest.Patch,
// unconditional, as in pylxd), then sync the object (keeping unsaved local
// changes, as sync() does).
func sendAndSync(what string, verb func(path string, body any, etag string) *rest.Request) methodFn {
	param := what + "_object"
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		m := receiver(b)
		var obj *starlark.Dict
		var wait bool
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, param, &obj, "wait?", &wait); err != nil {
			return nil, err
		}
		body, err := starjson.ToGo(obj, b.Name()+": "+param)
		if err != nil {
			return nil, err
		}
		return m.c.run(thread, verb(m.path(), body, ""), wait, m.changeSpec(what))
	}
}

// setIf adds key to body when v is given (not None, not empty): LXD's
// defaults apply otherwise.
func setIf(body map[string]any, key string, v any) {
	switch x := v.(type) {
	case nil:
		return
	case map[string]any:
		if x == nil {
			return
		}
	case jsonObject:
		if x == nil {
			return
		}
		v = map[string]any(x)
	case jsonObjects:
		if x == nil {
			return
		}
		v = []any(x)
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

// describeOwner shows whose an object of a sub-collection is in repr:
// <Snapshot "s1" of c1>.
func describeOwner(m *Model) string { return "of " + m.parentKey() }

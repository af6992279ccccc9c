package apidoc

import (
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Keyed is implemented by values that know their registry key, for values
// whose Type and String do not identify them (e.g. the REPL's lazily
// connected client).
type Keyed interface {
	DocKey() string
}

// builtinAliases are the registry keys of builtins whose Name() is not
// their key and that an Index may not know by identity.
var builtinAliases = map[string]string{
	"Client": "lxd.Client", // lxd.Client's builtin is named "Client"
	"sleep":  "time.sleep",
	"is_a":   "Error.is_a",    // catch's Error.is_a is an unbound builtin
	"json":   "Response.json", // and so is a raw API response's json
}

// Index finds the registry entry describing a Starlark value. Most values
// identify themselves (bound methods are named "instances.create", managers
// print as "<instances manager>", models have their type name), but the
// members of lib modules carry bare names ("now", "exit"); the Index knows
// those by identity from the environment it was built from.
type Index struct {
	builtins map[*starlark.Builtin]string
}

// NewIndex indexes the builtins of env (e.g. a script's predeclared names)
// and of the modules and structs in it, plus Starlark's universe, by their
// names in env: env["sys"].exit is "sys.exit".
func NewIndex(env starlark.StringDict) *Index {
	ix := &Index{builtins: map[*starlark.Builtin]string{}}
	for name, v := range starlark.Universe {
		ix.add(name, v)
	}
	for name, v := range env {
		ix.add(name, v)
	}
	return ix
}

func (ix *Index) add(key string, v starlark.Value) {
	switch v := v.(type) {
	case *starlark.Builtin:
		if v.Receiver() == nil {
			ix.builtins[v] = key
		}
	case *starlarkstruct.Module:
		for name, m := range v.Members {
			if b, ok := m.(*starlark.Builtin); ok && b.Receiver() == nil {
				ix.builtins[b] = key + "." + name
			}
		}
	}
}

// Lookup returns the entry describing v, if any.
func (ix *Index) Lookup(v starlark.Value) (Entry, bool) {
	key, ok := ix.KeyOf(v)
	if !ok {
		return Entry{}, false
	}
	return Lookup(key)
}

// KeyOf returns the registry key describing v: for a function or method
// the key of its entry, otherwise the key of its type, manager or module.
// ok is false when the registry has no such entry. A nil Index still
// resolves values that identify themselves.
func (ix *Index) KeyOf(v starlark.Value) (key string, ok bool) {
	has := func(k string) bool { _, ok := reg().byKey[Canonical(k)]; return ok }
	callable := func(k string) bool { e, ok := Lookup(k); return ok && e.Callable() }

	switch v := v.(type) {
	case Keyed:
		k := v.DocKey()
		return Canonical(k), has(k)
	case *starlark.Builtin:
		if ix != nil {
			if k, ok := ix.builtins[v]; ok && callable(k) {
				return Canonical(k), true
			}
		}
		name := v.Name()
		if recv := v.Receiver(); recv != nil {
			// Bound methods are named "prefix.method" after their
			// receiver's manager or type; fall back to the receiver.
			if strings.Contains(name, ".") && callable(name) {
				return Canonical(name), true
			}
			if t, ok := ix.KeyOf(recv); ok {
				k := t + "." + name[strings.LastIndexByte(name, '.')+1:]
				if callable(k) {
					return Canonical(k), true
				}
			}
			return "", false
		}
		if callable(name) {
			return Canonical(name), true
		}
		if k, ok := builtinAliases[name]; ok {
			return k, true
		}
		return "", false
	case *starlarkstruct.Module:
		return v.Name, has(v.Name)
	case *starlarkstruct.Struct:
		if ctor, ok := v.Constructor().(starlark.String); ok {
			for _, k := range []string{string(ctor), "lxd." + string(ctor)} {
				if has(k) {
					return Canonical(k), true
				}
			}
		}
		return "", false
	}
	if v.Type() == "Manager" {
		// Managers print as "<instances manager>".
		s := strings.TrimSuffix(strings.TrimPrefix(v.String(), "<"), " manager>")
		if e, ok := Lookup(s); ok && e.Kind == Manager {
			return e.Key, true
		}
		if m, ok := managerOf(s); ok { // "<StorageVolume.snapshots manager>"
			return m, true
		}
		return "", false
	}
	if e, ok := Lookup(v.Type()); ok && (e.Kind == Type || e.Kind == Module) {
		return e.Key, true
	}
	return "", false
}

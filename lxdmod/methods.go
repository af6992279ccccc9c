package lxdmod

import (
	"sort"

	"go.starlark.net/starlark"
)

// methodFn is the shape of every method in the per-type tables.
type methodFn = func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// methodTable is a method table, built once when the package is initialised,
// as go.starlark.net's starlark/library.go builds the tables of its own
// types. Each method is a Builtin named "Type.method", so that argument
// errors and backtraces read "Instance.start: ..." or
// "instances.create: ...", and an attribute read binds it to its receiver
// (BindReceiver: one small value per read, as Starlark's own methods cost).
type methodTable map[string]*starlark.Builtin

// newMethodTable builds the table of the methods in tables (later tables
// win), named prefix.name, each wrapped once by wrap (nil: as they are).
func newMethodTable(prefix string, wrap func(methodFn) methodFn, tables ...map[string]methodFn) methodTable {
	t := methodTable{}
	t.add(prefix, wrap, tables...)
	return t
}

// add puts more methods into the table (see newMethodTable).
func (t methodTable) add(prefix string, wrap func(methodFn) methodFn, tables ...map[string]methodFn) {
	for _, fns := range tables {
		for name, fn := range fns {
			if wrap != nil {
				fn = wrap(fn)
			}
			t[name] = starlark.NewBuiltin(prefix+"."+name, fn)
		}
	}
}

// bind returns the method name bound to recv, or nil when there is none.
func (t methodTable) bind(recv starlark.Value, name string) starlark.Value {
	if b := t[name]; b != nil {
		return b.BindReceiver(recv)
	}
	return nil
}

// names lists the methods, sorted.
func (t methodTable) names() []string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// attr is Attr for values whose attributes are their methods only.
func (t methodTable) attr(recv starlark.Value, name string) (starlark.Value, error) {
	if v := t.bind(recv, name); v != nil {
		return v, nil
	}
	return nil, nil // Starlark reports "no .name field or method"
}

package lxdmod

import (
	"fmt"
	"net/url"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// manager is the generic collection behind client.instances, client.images
// and every other manager: its kind's method table bound to a receiver that
// knows the client and (for sub-collections) the parent.
type manager struct {
	*managerKind
	c      *Client
	parent *Model // sub-collections (instance.snapshots, ...)
}

// managerKind is what the managers of one collection share: the name that
// prefixes their methods' names in messages ("instances", "containers",
// "snapshots", "StoragePool.volumes"), the model type of their objects
// (nil for managers of something else: files, operations), and their
// method table, built once when the package is initialised.
type managerKind struct {
	name    string
	t       *modelType
	methods methodTable
	itype   string // instance managers: "container", "virtual-machine" or ""
}

// newKind declares the managers of a server-wide collection
// (client.profiles, ...) with the methods in tables (later tables win).
func newKind(name string, t *modelType, tables ...map[string]methodFn) *managerKind {
	return &managerKind{name: name, t: t, methods: newMethodTable(name, nil, tables...)}
}

// newSubKind declares the managers of a collection owned by an object
// (inst.snapshots, pool.volumes): each method first awaits the owner
// (afterParent).
func newSubKind(name string, t *modelType, tables ...map[string]methodFn) *managerKind {
	return &managerKind{name: name, t: t, methods: newMethodTable(name, afterParent, tables...)}
}

// of returns a manager of kind k on client c; parent is the owning object
// of a sub-collection (nil otherwise).
func (k *managerKind) of(c *Client, parent *Model) *manager {
	return &manager{managerKind: k, c: c, parent: parent}
}

// ownedBy is m's manager of kind k: the computed attribute (a modelType's
// attrs) holding a sub-collection, such as inst.snapshots.
func (k *managerKind) ownedBy(m *Model) (starlark.Value, error) { return k.of(m.c, m), nil }

var _ starlark.HasAttrs = (*manager)(nil)

func (g *manager) String() string        { return fmt.Sprintf("<%s manager>", g.name) }
func (g *manager) Type() string          { return "Manager" }
func (g *manager) Freeze()               {}
func (g *manager) Truth() starlark.Bool  { return true }
func (g *manager) Hash() (uint32, error) { return starlark.String(g.name).Hash() }

func (g *manager) Attr(name string) (starlark.Value, error) { return g.methods.attr(g, name) }

func (g *manager) AttrNames() []string { return g.methods.names() }

func mgr(b *starlark.Builtin) *manager { return b.Receiver().(*manager) }

// fn names a manager method for error messages: "containers.create".
func (g *manager) fn(b *starlark.Builtin) string { return b.Name() }

// model builds a clean object of the manager's type from server data.
func (g *manager) model(data []serverField, etag string) *Model {
	parent := ""
	if g.parent != nil {
		parent = g.parent.key()
	}
	m := newModel(g.t, g.c, parent)
	m.owner = g.parent
	m.load(data, etag)
	return m
}

// fetch GETs one object of the manager's type at path; key names it in
// errors.
func (g *manager) fetch(thread *starlark.Thread, path, key string) (*Model, error) {
	data, etag, err := g.c.getFields(ctxOf(thread), path)
	if err != nil {
		return nil, rest.About(err, g.subjectOf(key))
	}
	return g.model(data, etag), nil
}

// subjectOf names an object of this collection in messages, before there
// is a Model for it: `instance "web9"`.
func (g *manager) subjectOf(key string) string {
	if g.t == nil {
		return ""
	}
	s := newModel(g.t, g.c, g.parentKey())
	s.owner = g.parent
	s.fields[g.t.key] = starlark.String(key)
	return s.subject()
}

// exists turns NotFound into False; other errors still fail.
func exists(thread *starlark.Thread, c *Client, path string) (starlark.Value, error) {
	_, err := c.rest.Get(ctxOf(thread), path, nil, nil)
	if err == nil {
		return starlark.True, nil
	}
	if rest.IsKind(err, rest.KindNotFound) {
		return starlark.False, nil
	}
	return nil, err
}

// mergeMethods combines method tables; later tables win.
func mergeMethods(tables ...map[string]methodFn) map[string]methodFn {
	out := map[string]methodFn{}
	for _, t := range tables {
		for k, v := range t {
			out[k] = v
		}
	}
	return out
}

// requireFor is requireExtension for a method: the error names fn too.
func (c *Client) requireFor(fn, extension string) error {
	if err := c.requireExtension(extension); err != nil {
		return rest.Annotate(err, fn)
	}
	return nil
}

// collectionMethods serve every manager whose objects live at
// collection/key: all() in one recursion=1 request, get(key), exists(key).
var collectionMethods = map[string]methodFn{
	"all":    collectionAll,
	"get":    collectionGet,
	"exists": collectionExists,
}

func (g *manager) parentKey() string {
	if g.parent == nil {
		return ""
	}
	return g.parent.key()
}

// collectionPath is the URL path of the manager's collection.
func (g *manager) collectionPath() string { return g.t.collectionAt(g.parent, g.parentKey()) }

// itemPath is the URL path of the object named key in this collection.
func (g *manager) itemPath(key string) string {
	return g.collectionPath() + "/" + url.PathEscape(key)
}

// getModel fetches one object by key.
func (g *manager) getModel(thread *starlark.Thread, key string) (*Model, error) {
	return g.fetch(thread, g.itemPath(key), key)
}

// listModels fetches the whole collection in one request.
func (g *manager) listModels(thread *starlark.Thread, q url.Values) ([]starlark.Value, error) {
	items, err := g.c.getList(ctxOf(thread), g.collectionPath(), q)
	if err != nil {
		return nil, err
	}
	out := make([]starlark.Value, len(items))
	for i, d := range items {
		out[i] = g.model(d, "")
	}
	return out, nil
}

func collectionAll(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs); err != nil {
		return nil, err
	}
	objs, err := g.listModels(thread, nil)
	if err != nil {
		return nil, err
	}
	return starlark.NewList(objs), nil
}

func collectionGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var key nonEmpty
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs, g.t.key, &key); err != nil {
		return nil, err
	}
	return g.getModel(thread, string(key))
}

func collectionExists(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var key nonEmpty
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs, g.t.key, &key); err != nil {
		return nil, err
	}
	return exists(thread, g.c, g.itemPath(string(key)))
}

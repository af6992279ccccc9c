package lxdmod

import (
	"fmt"
	"net/url"
	"sort"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// manager is the generic collection behind client.instances, client.images
// and every other manager: a per-kind method table bound to a receiver that
// knows the client, the model type and (for sub-collections) the parent.
type manager struct {
	c       *Client
	name    string // "instances", "containers", ...: prefixes error messages
	t       *modelType
	methods map[string]methodFn
	itype   string // instance managers: "container", "virtual-machine" or ""
	parent  *Model // sub-collections (instance.snapshots, ...)
}

var _ starlark.HasAttrs = (*manager)(nil)

func (g *manager) String() string        { return fmt.Sprintf("<%s manager>", g.name) }
func (g *manager) Type() string          { return "Manager" }
func (g *manager) Freeze()               {}
func (g *manager) Truth() starlark.Bool  { return true }
func (g *manager) Hash() (uint32, error) { return starlark.String(g.name).Hash() }

func (g *manager) Attr(name string) (starlark.Value, error) {
	if fn, ok := g.methods[name]; ok {
		if g.parent != nil {
			fn = afterParent(fn)
		}
		return bind(g.name, name, fn, g), nil
	}
	return nil, nil
}

// afterParent wraps the method of a sub-collection (inst.snapshots,
// inst.files): nothing overtakes the owning object's pending change, and
// an LXD error names the owner unless it names something more precise.
func afterParent(fn methodFn) methodFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		owner := mgr(b).parent
		if err := owner.await(thread); err != nil {
			return nil, err
		}
		v, err := fn(thread, b, args, kwargs)
		if err != nil {
			return nil, rest.About(err, owner.subject())
		}
		return v, nil
	}
}

func (g *manager) AttrNames() []string {
	names := make([]string, 0, len(g.methods))
	for n := range g.methods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

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
	_, err := c.rest.Do(ctxOf(thread), &rest.Request{Method: "GET", Path: path})
	if err == nil {
		return starlark.True, nil
	}
	if e, ok := err.(*rest.Error); ok && e.Kind == rest.KindNotFound {
		return starlark.False, nil
	}
	return nil, err
}

// newManager builds a manager for objects of type t; parent is the owning
// object for sub-collections (nil otherwise).
func newManager(c *Client, name string, t *modelType, parent *Model, tables ...map[string]methodFn) *manager {
	return &manager{c: c, name: name, t: t, parent: parent, methods: mergeMethods(tables...)}
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

// itemPath is the URL path of the object named key in this collection.
func (g *manager) itemPath(key string) string {
	return g.t.collection(g.parentKey()) + "/" + url.PathEscape(key)
}

// getModel fetches one object by key, refusing empty keys up front.
func (g *manager) getModel(thread *starlark.Thread, fn, key string) (*Model, error) {
	if key == "" {
		return nil, fmt.Errorf("%s: for parameter %s: empty %s", fn, g.t.key, g.t.key)
	}
	return g.fetch(thread, g.itemPath(key), key)
}

// listModels fetches the whole collection in one request.
func (g *manager) listModels(thread *starlark.Thread, q url.Values) ([]starlark.Value, error) {
	if q == nil {
		q = url.Values{}
	}
	q.Set("recursion", "1")
	items, err := g.c.getList(ctxOf(thread), &rest.Request{Method: "GET", Path: g.t.collection(g.parentKey()), Query: q})
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
	var key string
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs, g.t.key, &key); err != nil {
		return nil, err
	}
	return g.getModel(thread, g.fn(b), key)
}

func collectionExists(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var key string
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs, g.t.key, &key); err != nil {
		return nil, err
	}
	if key == "" {
		return nil, fmt.Errorf("%s: for parameter %s: empty %s", g.fn(b), g.t.key, g.t.key)
	}
	return exists(thread, g.c, g.itemPath(key))
}

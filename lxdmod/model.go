package lxdmod

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// modelType is the per-resource table behind the one generic Model: which
// fields are writable, where the object lives, how it prints, and which
// methods it has beyond the common ones (save, sync, rollback, delete, ...).
type modelType struct {
	name     string   // "Instance"
	writable []string // fields save() sends
	// collection is the URL path of the objects' collection; parent is the
	// owning object's key for sub-resources ("" otherwise).
	collection func(parent string) string
	// path overrides the object's URL path (default: collection/key).
	path func(m *Model) string
	// key identifies the object for equality ("name", "fingerprint").
	key string
	// shortKey, when > 0, shortens the key in repr (fingerprints).
	shortKey int
	// rename is the field that rename() changes; assigning it hints rename().
	renameHint string
	// rewrite maps field names LXD sends to the names scripts see.
	rewrite map[string]string
	// describe adds detail to repr after the key (e.g. the status).
	describe func(m *Model) string
	// methods are type-specific methods; common ones are in commonMethods.
	methods map[string]methodFn
	// attrs are computed attributes (managers hanging off the object).
	attrs map[string]func(m *Model) (starlark.Value, error)
	// noSave/noDelete drop the common methods for types that lack them.
	noSave, noDelete bool
	// afterLoad fixes up fields after a load (defaults LXD omits, etc.).
	afterLoad func(m *Model)
	// fixBody adjusts save()'s PUT body for what LXD insists on seeing
	// again (e.g. a read-only field, a config key fixed at creation). It
	// runs with the model locked; serverValue reads the last server copy.
	fixBody func(m *Model, body map[string]any)
}

func (t *modelType) isWritable(f string) bool {
	for _, w := range t.writable {
		if w == f {
			return true
		}
	}
	return false
}

// Model is a handle on one LXD object plus a local copy of its fields. The
// last copy read from the server is kept in canonical form, so dirty is an
// exact comparison and nested mutation (config[k] = v) counts.
type Model struct {
	t      *modelType
	c      *Client
	parent string // owning object's name, for sub-resources (snapshots)

	mu      sync.Mutex
	order   []string // field names, in server order
	fields  map[string]starlark.Value
	server  map[string]string // canonical JSON of the server's values
	etag    string
	op      *Operation // pending operation that will produce this object
	frozen  bool
	loadErr error // set when a waited-for creation failed
}

var (
	_ starlark.HasSetField = (*Model)(nil)
	_ starlark.Comparable  = (*Model)(nil)
)

func newModel(t *modelType, c *Client, parent string) *Model {
	return &Model{t: t, c: c, parent: parent, fields: map[string]starlark.Value{}, server: map[string]string{}}
}

// sibling returns a new object of m's type on client c holding only its key
// (and any seed fields), to be loaded later. Methods use it instead of naming
// their own type's table, which Go would reject as an initialisation cycle.
func (m *Model) sibling(c *Client, key string, seed *starlark.Dict) *Model {
	if seed == nil {
		seed = starlark.NewDict(1)
	}
	_ = seed.SetKey(starlark.String(m.t.key), starlark.String(key))
	s := newModel(m.t, c, m.parent)
	s.load(seed, "")
	return s
}

// load replaces every field with the server's representation.
func (m *Model) load(data *starlark.Dict, etag string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loadLocked(data, etag)
}

func (m *Model) loadLocked(data *starlark.Dict, etag string) {
	m.order = m.order[:0]
	m.fields = make(map[string]starlark.Value, data.Len())
	m.server = make(map[string]string, data.Len())
	for _, item := range data.Items() {
		k, ok := item[0].(starlark.String)
		if !ok {
			continue
		}
		name := string(k)
		if r, ok := m.t.rewrite[name]; ok {
			name = r
		}
		m.setServerField(name, item[1])
	}
	m.etag = etag
	if m.t.afterLoad != nil {
		m.t.afterLoad(m)
	}
	if m.frozen {
		for _, v := range m.fields {
			v.Freeze()
		}
	}
}

// setServerField records a field as the server has it (clean). Only
// writable fields keep a canonical copy: they are all dirty compares, and
// encoding every field of every object (expanded_config, ...) made all()
// of many instances needlessly slow.
func (m *Model) setServerField(name string, v starlark.Value) {
	if _, seen := m.fields[name]; !seen {
		m.order = append(m.order, name)
	}
	m.fields[name] = v
	if m.t.isWritable(name) {
		m.server[name] = canonical(v)
	}
}

// path is the object's URL path.
func (m *Model) path() string {
	if m.t.path != nil {
		return m.t.path(m)
	}
	return m.t.collection(m.parent) + "/" + url.PathEscape(m.key())
}

func (m *Model) field(name string) starlark.Value {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.fields[name]; ok {
		return v
	}
	return starlark.None
}

func (m *Model) str(name string) string {
	s, _ := starlark.AsString(m.field(name))
	return s
}

// key returns the identity value (e.g. the name).
func (m *Model) key() string { return m.str(m.t.key) }

func (m *Model) String() string {
	var b strings.Builder
	key := m.key()
	if m.t.shortKey > 0 && len(key) > m.t.shortKey {
		key = key[:m.t.shortKey]
	}
	fmt.Fprintf(&b, "<%s %q", m.t.name, key)
	if m.t.describe != nil {
		if d := m.t.describe(m); d != "" {
			b.WriteString(" " + d)
		}
	}
	b.WriteString(">")
	return b.String()
}

func (m *Model) Type() string         { return m.t.name }
func (m *Model) Truth() starlark.Bool { return true }
func (m *Model) Hash() (uint32, error) {
	return starlark.String(m.identity()).Hash()
}

// identity is what == compares: the object's URL path names it exactly
// (a volume's type, a snapshot's pool and volume included), on one server
// and in one project.
func (m *Model) identity() string {
	return m.t.name + "\x00" + m.c.rest.Endpoint() + "\x00" + m.c.rest.Project() + "\x00" + m.path()
}

// Thaw returns an unfrozen copy of a frozen object: same server object,
// same last-read server copy, its own fields. The REPL uses it after
// `lxdstar -i`, whose script globals Starlark froze.
func (m *Model) Thaw() starlark.Value {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &Model{t: m.t, c: m.c, parent: m.parent, etag: m.etag, op: m.op,
		order: append([]string(nil), m.order...), fields: make(map[string]starlark.Value, len(m.fields)),
		server: make(map[string]string, len(m.server))}
	for k, v := range m.fields {
		c.fields[k] = deepCopy(v)
	}
	for k, v := range m.server {
		c.server[k] = v
	}
	return c
}

// deepCopy copies the JSON-like values model fields hold. Below
// maxGoDepth levels (only a list or dict containing itself gets there)
// values are shared rather than copied, so a cycle cannot recurse forever.
func deepCopy(v starlark.Value) starlark.Value { return deepCopyAt(v, 0) }

func deepCopyAt(v starlark.Value, depth int) starlark.Value {
	if depth > maxGoDepth {
		return v
	}
	switch x := v.(type) {
	case *starlark.Dict:
		d := starlark.NewDict(x.Len())
		for _, kv := range x.Items() {
			_ = d.SetKey(kv[0], deepCopyAt(kv[1], depth+1))
		}
		return d
	case *starlark.List:
		elems := make([]starlark.Value, x.Len())
		for i := range elems {
			elems[i] = deepCopyAt(x.Index(i), depth+1)
		}
		return starlark.NewList(elems)
	}
	return v
}

// Freeze follows Starlark's rule for module globals: the local copy becomes
// read-only; server actions (start, delete, ...) still work.
func (m *Model) Freeze() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.frozen {
		return
	}
	m.frozen = true
	for _, v := range m.fields {
		v.Freeze()
	}
}

// CompareSameType compares identity only: no I/O, no field comparison.
func (m *Model) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	o := y.(*Model)
	switch op {
	case syntax.EQL:
		return m.identity() == o.identity(), nil
	case syntax.NEQ:
		return m.identity() != o.identity(), nil
	}
	return false, fmt.Errorf("%s values are not ordered", m.t.name)
}

// Dirty reports whether a writable field differs from the server's copy.
func (m *Model) Dirty() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.changedLocked()) > 0
}

func (m *Model) changedLocked() []string {
	var out []string
	for _, f := range m.t.writable {
		v, ok := m.fields[f]
		if !ok {
			continue
		}
		if canonical(v) != m.server[f] {
			out = append(out, f)
		}
	}
	return out
}

func (m *Model) Attr(name string) (starlark.Value, error) {
	switch name {
	case "dirty":
		return starlark.Bool(m.Dirty()), nil
	case "operation":
		m.mu.Lock()
		op := m.op
		m.mu.Unlock()
		if op == nil || op.finished() {
			return starlark.None, nil
		}
		return op, nil
	}
	if fn, ok := m.t.methods[name]; ok {
		return bind(m.t.name, name, fn, m), nil
	}
	if fn, ok := commonMethods[name]; ok && m.hasCommon(name) {
		return bind(m.t.name, name, fn, m), nil
	}
	if a, ok := m.t.attrs[name]; ok {
		return a(m)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.fields[name]; ok {
		return v, nil
	}
	if m.t.isWritable(name) {
		return starlark.None, nil
	}
	return nil, nil // starlark reports "no .x field or method"
}

func (m *Model) hasCommon(name string) bool {
	switch name {
	case "save":
		return !m.t.noSave
	case "delete":
		return !m.t.noDelete
	}
	return true
}

func (m *Model) AttrNames() []string {
	m.mu.Lock()
	names := append([]string{"dirty"}, m.order...)
	m.mu.Unlock()
	for n := range m.t.methods {
		names = append(names, n)
	}
	for n := range commonMethods {
		if m.hasCommon(n) {
			names = append(names, n)
		}
	}
	for n := range m.t.attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return dedupe(names)
}

func dedupe(sorted []string) []string {
	out := sorted[:0]
	for i, s := range sorted {
		if i == 0 || s != sorted[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// SetField assigns a writable field. The value must be of the same kind as
// what the server holds (a dict for config, a string for description, ...)
// so a typo fails here rather than in LXD.
func (m *Model) SetField(name string, v starlark.Value) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.frozen {
		return fmt.Errorf("cannot set %s.%s: the object is frozen (it is a global of a module that finished loading)", m.t.name, name)
	}
	if !m.t.isWritable(name) {
		if name == m.t.renameHint {
			return fmt.Errorf("%s.%s is read-only: use %s.rename(new_name) to rename", m.t.name, name, strings.ToLower(m.t.name))
		}
		if _, ok := m.fields[name]; ok {
			return fmt.Errorf("%s.%s is read-only (writable fields: %s)", m.t.name, name, strings.Join(m.t.writable, ", "))
		}
		return fmt.Errorf("%s has no field %q (writable fields: %s)", m.t.name, name, strings.Join(m.t.writable, ", "))
	}
	if old, ok := m.fields[name]; ok && old != starlark.None && !sameKind(old, v) && (v != starlark.None || !nullable(old)) {
		return fmt.Errorf("%s.%s: got %s, want %s", m.t.name, name, v.Type(), old.Type())
	}
	if _, err := fieldToGo(v, m.t.name+"."+name); err != nil {
		return err
	}
	if _, seen := m.fields[name]; !seen {
		m.order = append(m.order, name)
	}
	m.fields[name] = v
	return nil
}

// nullable reports whether None may replace a field holding old: a string
// (None clears a description or an expiry date, as JSON null does in LXD)
// but not a dict, list, bool or number, where null would silently wipe
// config, devices or profiles, or mean nothing at all.
func nullable(old starlark.Value) bool {
	_, ok := old.(starlark.String)
	return ok
}

// sameKind accepts a list where a list is held and so on; ints and floats
// are interchangeable, tuples pass for lists.
func sameKind(old, v starlark.Value) bool {
	kind := func(x starlark.Value) string {
		switch x.(type) {
		case *starlark.List, starlark.Tuple:
			return "list"
		case starlark.Int, starlark.Float:
			return "number"
		}
		return x.Type()
	}
	return kind(old) == kind(v)
}

// toDict returns every field as a fresh plain dict (json-encodable).
func (m *Model) toDict() *starlark.Dict {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := starlark.NewDict(len(m.order))
	for _, f := range m.order {
		_ = d.SetKey(starlark.String(f), m.fields[f])
	}
	return d
}

// changedBody builds the PUT body: every writable field as held locally,
// except that config's volatile.* keys the user did not touch are sent back
// exactly as last read. (LXD refuses a PUT that drops volatile.idmap.*, and
// If-Match guarantees those values are still the server's.)
func (m *Model) putBodyLocked() (map[string]any, error) {
	body := map[string]any{}
	for _, f := range m.t.writable {
		v, ok := m.fields[f]
		if !ok {
			continue
		}
		g, err := fieldToGo(v, m.t.name+"."+f)
		if err != nil {
			return nil, err
		}
		body[f] = g
	}
	if m.t.fixBody != nil {
		m.t.fixBody(m, body)
	}
	return body, nil
}

// serverValue decodes a field's last server copy (nil when absent). A
// read-only field cannot differ from it, so its local value serves. The
// caller holds m.mu.
func (m *Model) serverValue(field string) any {
	var v any
	if s, ok := m.server[field]; ok {
		_ = json.Unmarshal([]byte(s), &v)
	} else if local, ok := m.fields[field]; ok {
		v, _ = fieldToGo(local, field)
	}
	return v
}

// rename renames the object on the server (POST {"name": new}); the object
// itself takes the new name once the server has done it (pylxd leaves it
// stale).
func (m *Model) rename(thread *starlark.Thread, name string, wait bool) (starlark.Value, error) {
	req := &rest.Request{Method: "POST", Path: m.path(), Body: map[string]any{"name": name}}
	return m.c.async(thread, req, wait, func(thread *starlark.Thread) (starlark.Value, error) {
		m.mu.Lock()
		m.setServerField(m.t.key, starlark.String(name))
		m.mu.Unlock()
		return starlark.None, m.refresh(ctxOf(thread), true)
	})
}

// refresh re-reads the object. keepLocal keeps unsaved changes to writable
// fields (sync); otherwise they are discarded (rollback).
func (m *Model) refresh(ctx context.Context, keepLocal bool) error {
	data, etag, err := m.c.getObject(ctx, m.path())
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var kept map[string]starlark.Value
	if keepLocal {
		kept = map[string]starlark.Value{}
		for _, f := range m.changedLocked() {
			kept[f] = m.fields[f]
		}
	}
	m.loadLocked(data, etag)
	for f, v := range kept {
		m.fields[f] = v
	}
	return nil
}

// save PUTs the writable fields with If-Match. Nothing is sent when the
// object is clean.
func (m *Model) save(thread *starlark.Thread, wait bool) (starlark.Value, error) {
	m.mu.Lock()
	if len(m.changedLocked()) == 0 {
		m.mu.Unlock()
		return starlark.None, nil
	}
	body, err := m.putBodyLocked()
	etag := m.etag
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	req := &rest.Request{Method: "PUT", Path: m.path(), Body: body}
	if etag != "" {
		req.Header = map[string][]string{"If-Match": {etag}}
	}
	return m.c.async(thread, req, wait, func(thread *starlark.Thread) (starlark.Value, error) {
		return starlark.None, m.refresh(ctxOf(thread), false)
	})
}

package lxdmod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/lxdstar/lxdstar/internal/jsonscan"
	"github.com/lxdstar/lxdstar/internal/starjson"
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
	// sub replaces collection for objects whose owner takes more than its
	// key to find (a volume's snapshots: pool, type and volume): their
	// collection is the owner's URL path + "/" + sub.
	sub string
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
	// newType builds them into table.
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

	// table is every method of the type's objects, built once (newType).
	table methodTable
}

// newType completes a model type's declaration (var xType =
// newType(&modelType{...})): it builds the type's method table once, its
// own methods and the common ones that apply to it, each method that talks
// to the server wrapped by ordered.
func newType(t *modelType) *modelType {
	common := map[string]methodFn{}
	for name, fn := range commonMethods {
		if t.hasCommon(name) {
			common[name] = fn
		}
	}
	t.table = newMethodTable(t.name, ordered, common)
	t.table.add(t.name, nil, map[string]methodFn{"to_dict": modelToDict}) // local: nothing to wait for
	t.addMethods(t.methods)
	return t
}

// addMethods adds type-specific methods to the table. Types whose methods
// make objects of the type itself (image.copy, instance.copy) add them in
// an init function: referring to the type from its own declaration would
// be an initialisation cycle.
func (t *modelType) addMethods(fns map[string]methodFn) {
	t.table.add(t.name, ordered, fns)
}

// hasCommon reports whether the type's objects have the common method
// name (clusters and the like cannot be saved or deleted).
func (t *modelType) hasCommon(name string) bool {
	switch name {
	case "save":
		return !t.noSave
	case "delete":
		return !t.noDelete
	}
	return true
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
	// owner is the owning object itself when the script reached this one
	// through it (inst.snapshots): its renames then carry over, and its
	// pending changes are not overtaken either.
	owner *Model

	mu     sync.Mutex
	order  []string // field names, in server order
	fields map[string]starlark.Value
	// lazy holds the fields loaded from a response and not yet read: their
	// JSON, decoded on first use (fieldLocked). Until the script reads a
	// field it cannot have changed it, so most of a listing is never
	// decoded at all.
	lazy   []serverField
	server map[string]string // canonical JSON of the server's values (see serverCopyLocked)
	etag   string
	// op is the object's own pending state-changing operation (create,
	// start, rename, save, delete, ...): nothing overtakes it (await).
	op *Operation
	// failed is an operation of the object that failed while nobody was
	// waiting; the object's next call reports it.
	failed *Operation
	frozen bool
}

var (
	_ starlark.HasSetField = (*Model)(nil)
	_ starlark.Comparable  = (*Model)(nil)
)

func newModel(t *modelType, c *Client, parent string) *Model {
	if t.table == nil {
		panic("lxdmod: model type " + t.name + " was not declared with newType")
	}
	return &Model{t: t, c: c, parent: parent, fields: map[string]starlark.Value{}, server: map[string]string{}}
}

// parentKey is the owning object's name (for sub-resources), current even
// after the owner was renamed.
func (m *Model) parentKey() string {
	if m.owner != nil {
		return m.owner.key()
	}
	return m.parent
}

// serverField is one field of a server object as loaded: a value (an
// object built locally from a seed) or, from a response, the field's JSON
// (checked when the response was read), decoded when first read.
type serverField struct {
	name string
	v    starlark.Value // nil: decode json when first read
	json []byte
}

// dictFields lists a dict's string-keyed items as fields.
func dictFields(d *starlark.Dict) []serverField {
	out := make([]serverField, 0, d.Len())
	for _, item := range d.Items() {
		if k, ok := item[0].(starlark.String); ok {
			out = append(out, serverField{name: string(k), v: item[1]})
		}
	}
	return out
}

// objectFields splits one JSON object into fields, checking all of it (as
// strictly as starjson.Decode) but decoding none.
func objectFields(data []byte) ([]serverField, error) {
	var r fieldReader
	return r.object(data)
}

// fieldReader splits the objects of one answer into fields. The objects
// share one string per key name and a few large arrays of fields, rather
// than allocating their own: a listing of a thousand instances has 25
// thousand fields.
type fieldReader struct {
	names map[string]string // key literal → name
	slab  []serverField
}

func (r *fieldReader) object(data []byte) ([]serverField, error) {
	if cap(r.slab)-len(r.slab) < 64 {
		r.slab = make([]serverField, 0, 2048)
	}
	start := len(r.slab)
	err := jsonscan.Object(data, func(key, value []byte) error {
		r.slab = append(r.slab, serverField{name: r.name(key), json: value})
		return nil
	})
	// Capped: the object's fields are its own (loadLocked works in place).
	return r.slab[start:len(r.slab):len(r.slab)], err
}

func (r *fieldReader) name(key []byte) string {
	if name, ok := r.names[string(key)]; ok { // no allocation for the lookup
		return name
	}
	name := jsonscan.Unquote(key)
	if r.names == nil {
		r.names = map[string]string{}
	}
	r.names[string(key)] = name
	return name
}

// load replaces every field with the server's representation.
func (m *Model) load(fields []serverField, etag string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loadLocked(fields, etag)
}

// loadLocked takes fields over: the loaded fields' slice becomes the
// object's own.
func (m *Model) loadLocked(fields []serverField, etag string) {
	m.order = make([]string, 0, len(fields))
	clear(m.fields)
	clear(m.server)
	// The lazy fields are kept in fields' own array, in place: a field
	// is never written back to an index after the one being read.
	m.lazy = fields[:0]
	for _, f := range fields {
		if r, ok := m.t.rewrite[f.name]; ok {
			f.name = r
		}
		if f.v != nil {
			m.setServerField(f.name, f.v)
			continue
		}
		// A name sent twice (never by LXD) is listed twice; lookups take
		// the last, as a dict would.
		m.order = append(m.order, f.name)
		m.lazy = append(m.lazy, f)
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
	if !m.hasLocked(name) {
		m.order = append(m.order, name)
	}
	m.fields[name] = v
	if m.t.isWritable(name) {
		m.server[name] = starjson.Canonical(v)
	}
}

// hasLocked reports whether the object has the field, read or not.
func (m *Model) hasLocked(name string) bool {
	if _, ok := m.fields[name]; ok {
		return true
	}
	return m.lazyJSON(name) != nil
}

// lazyJSON is the server's JSON of a field not yet read (nil if none).
func (m *Model) lazyJSON(name string) []byte {
	for i := len(m.lazy) - 1; i >= 0; i-- {
		if m.lazy[i].name == name {
			return m.lazy[i].json
		}
	}
	return nil
}

// fieldLocked returns a field's value, decoding it from the server's JSON
// when it is first read; ok is false when the object has no such field.
func (m *Model) fieldLocked(name string) (starlark.Value, bool) {
	if v, ok := m.fields[name]; ok {
		return v, true
	}
	js := m.lazyJSON(name)
	if js == nil {
		return nil, false
	}
	v, err := starjson.Decode(js)
	if err != nil {
		// Cannot happen: objectFields checked the text as strictly as
		// starjson.Decode decodes it.
		v = starlark.None
	}
	if m.frozen {
		v.Freeze()
	}
	m.fields[name] = v
	return v, true
}

// serverCopyLocked is the canonical form of a writable field as the server
// last had it: recorded at load or save, or made from the field's JSON
// when first needed (dirty tracking compares only fields that were read).
func (m *Model) serverCopyLocked(name string) (string, bool) {
	if c, ok := m.server[name]; ok {
		return c, true
	}
	js := m.lazyJSON(name)
	if js == nil {
		return "", false
	}
	v, err := starjson.Decode(js)
	if err != nil {
		return "", false
	}
	c := starjson.Canonical(v)
	m.server[name] = c
	return c, true
}

// collectionAt is the URL path of the collection of the objects of type t
// that owner (whose key is parent) owns.
func (t *modelType) collectionAt(owner *Model, parent string) string {
	if t.sub != "" {
		return owner.path() + "/" + t.sub
	}
	return t.collection(parent)
}

// collectionPath is the URL path of the object's collection.
func (m *Model) collectionPath() string { return m.t.collectionAt(m.owner, m.parentKey()) }

// path is the object's URL path.
func (m *Model) path() string {
	if m.t.path != nil {
		return m.t.path(m)
	}
	return m.collectionPath() + "/" + url.PathEscape(m.key())
}

// pathAs is the URL path the object will have under another key (after a
// rename). The caller must not hold m.mu.
func (m *Model) pathAs(key string) string {
	m.mu.Lock()
	s := &Model{t: m.t, c: m.c, parent: m.parent, owner: m.owner, fields: maps.Clone(m.fields), lazy: m.lazy}
	m.mu.Unlock()
	s.fields[m.t.key] = starlark.String(key)
	return s.path()
}

// subject names the object in messages: `instance "web1"`, `snapshot "s0"
// of instance "web1"`, with the project when it is not the default one.
func (m *Model) subject() string {
	s := fmt.Sprintf("%s %q", m.t.noun(), m.key())
	if m.owner != nil {
		return s + " of " + m.owner.subject()
	}
	if p := m.c.rest.Project(); p != "" && p != "default" {
		s += fmt.Sprintf(" in project %q", p)
	}
	return s
}

// noun is how messages call objects of the type: "storage volume" for
// StorageVolume, "network acl" for NetworkACL.
func (t *modelType) noun() string {
	var b strings.Builder
	for i, r := range t.name {
		if i > 0 && unicode.IsUpper(r) && unicode.IsLower(rune(t.name[i-1])) {
			b.WriteByte(' ')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

func (m *Model) field(name string) starlark.Value {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.fieldLocked(name); ok {
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
	m.settle()
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

// Hash leaves out the name, which a rename changes: a renamed object must
// stay findable in a dict. Equal objects still hash alike.
func (m *Model) Hash() (uint32, error) {
	return starlark.String(m.t.name + "\x00" + m.c.rest.Endpoint() + "\x00" + m.c.rest.Project()).Hash()
}

// identity is what == compares: the object's URL path names it exactly
// (a volume's type, a snapshot's pool and volume included), on one server
// and in one project.
func (m *Model) identity() string {
	m.settle()
	return m.t.name + "\x00" + m.c.rest.Endpoint() + "\x00" + m.c.rest.Project() + "\x00" + m.path()
}

// Thaw returns an unfrozen copy of a frozen object: same server object,
// same last-read server copy, its own fields. The REPL uses it after
// `lxdstar -i`, whose script globals Starlark froze.
func (m *Model) Thaw() starlark.Value {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &Model{t: m.t, c: m.c, parent: m.parent, owner: m.owner, etag: m.etag, op: m.op, failed: m.failed,
		order: append([]string(nil), m.order...), fields: make(map[string]starlark.Value, len(m.fields)),
		lazy: m.lazy, server: make(map[string]string, len(m.server))}
	for k, v := range m.fields {
		c.fields[k] = deepCopy(v)
	}
	for k, v := range m.server {
		c.server[k] = v
	}
	return c
}

// deepCopy copies the JSON-like values model fields hold. Below
// starjson.MaxDepth levels (only a list or dict containing itself gets there)
// values are shared rather than copied, so a cycle cannot recurse forever.
func deepCopy(v starlark.Value) starlark.Value { return deepCopyAt(v, 0) }

func deepCopyAt(v starlark.Value, depth int) starlark.Value {
	if depth > starjson.MaxDepth {
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

// Dirty reports whether the script changed a writable field since the
// server's copy was read.
func (m *Model) Dirty() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settleLocked()
	return len(m.editsLocked()) > 0
}

// settle brings the object up to date once its pending operation has
// ended: on success with the operation's local effect (a new name) and the
// state re-read in the background, merged as sync() merges; on failure it
// keeps the failure for the object's next call. It never blocks and never
// does I/O, so attribute reads can call it.
func (m *Model) settle() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settleLocked()
}

func (m *Model) settleLocked() {
	o := m.op
	if o == nil || !o.ended() {
		return
	}
	m.op = nil
	if o.outcome() != nil {
		m.failed = o
		return
	}
	for _, f := range o.spec.follows {
		if f.m != m {
			continue
		}
		if f.apply != nil {
			f.apply(m)
		}
		if f.saved != nil {
			m.server = f.saved
		}
		if f.data != nil {
			if fields, err := objectFields(f.data); err == nil {
				m.mergeLocked(fields, f.etag)
			}
		}
	}
}

// await lets nothing overtake the object's own pending change (nor its
// owner's: a snapshot of an instance being renamed): it waits for it to
// end, then reports, once, a failure the script has not seen. Every method
// that talks to the server calls it first.
func (m *Model) await(thread *starlark.Thread) error {
	if m.owner != nil {
		if err := m.owner.await(thread); err != nil {
			return err
		}
	}
	m.mu.Lock()
	o := m.op
	m.mu.Unlock()
	if o != nil {
		p := o.watch()
		done := m.c.showProgress(o.snapshot())
		_, err := p.Wait(ctxOf(thread), 0)
		done()
		if !p.Ended() {
			return err
		}
	}
	m.mu.Lock()
	m.settleLocked()
	f := m.failed
	m.failed = nil
	m.mu.Unlock()
	if f != nil && f.markReported() {
		f.c.ledger.drop(f)
		return f.failureSeenLater()
	}
	return nil
}

// failureSeenLater is the error of an operation that failed while nobody
// was waiting, as the next call on its object reports it.
func (o *Operation) failureSeenLater() error {
	err := o.outcome()
	e, ok := err.(*rest.Error)
	if !ok {
		return fmt.Errorf("%s (started at %s with wait=False) failed: %w", o.spec.label(), o.spec.where, err)
	}
	cp := *e
	cp.Message = fmt.Sprintf("%s (started at %s with wait=False) failed: %s", o.spec.what, o.spec.where, e.Message)
	cp.Err = e
	return &cp
}

func (m *Model) Attr(name string) (starlark.Value, error) {
	m.settle()
	switch name {
	case "dirty":
		return starlark.Bool(m.Dirty()), nil
	case "operation":
		m.mu.Lock()
		op := m.op
		m.mu.Unlock()
		if op == nil {
			return starlark.None, nil
		}
		return op, nil
	}
	if b := m.t.table.bind(m, name); b != nil {
		return b, nil
	}
	if a, ok := m.t.attrs[name]; ok {
		return a(m)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.fieldLocked(name); ok {
		return v, nil
	}
	if m.t.isWritable(name) {
		return starlark.None, nil
	}
	return nil, nil // starlark reports "no .x field or method"
}

func (m *Model) AttrNames() []string {
	m.mu.Lock()
	m.settleLocked()
	names := append([]string{"dirty", "operation"}, m.order...)
	m.mu.Unlock()
	names = append(names, m.t.table.names()...)
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
	m.settleLocked()
	if m.frozen {
		return fmt.Errorf("cannot set %s.%s: the object is frozen (it is a global of a module that finished loading)", m.t.name, name)
	}
	if !m.t.isWritable(name) {
		if name == m.t.renameHint {
			return fmt.Errorf("%s.%s is read-only: use %s.rename(new_name) to rename", m.t.name, name, strings.ToLower(m.t.name))
		}
		if m.hasLocked(name) {
			return fmt.Errorf("%s.%s is read-only (writable fields: %s)", m.t.name, name, strings.Join(m.t.writable, ", "))
		}
		return fmt.Errorf("%s has no field %q (writable fields: %s)", m.t.name, name, strings.Join(m.t.writable, ", "))
	}
	if old, ok := m.fieldLocked(name); ok && old != starlark.None && !sameKind(old, v) && (v != starlark.None || !nullable(old)) {
		return fmt.Errorf("%s.%s: got %s, want %s", m.t.name, name, v.Type(), old.Type())
	}
	if _, err := starjson.ToGoData(v, m.t.name+"."+name); err != nil {
		return err
	}
	if !m.hasLocked(name) {
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
func (m *Model) ToDict() *starlark.Dict {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settleLocked()
	d := starlark.NewDict(len(m.order))
	for _, f := range m.order {
		v, _ := m.fieldLocked(f)
		_ = d.SetKey(starlark.String(f), v)
	}
	return d
}

// MarshalJSON makes json.encode(obj) encode obj.to_dict().
func (m *Model) MarshalJSON() ([]byte, error) {
	g, err := starjson.ToGo(m.ToDict(), m.t.name)
	if err != nil {
		return nil, err
	}
	return json.Marshal(g)
}

// fieldEdit is the script's unsaved change to one writable field: a whole
// new value, or, for a dict field the server also holds as a dict, the
// keys set and deleted. Key by key is what lets sync() and the re-read
// after an operation keep another writer's keys.
type fieldEdit struct {
	whole starlark.Value // non-nil: the field's new value
	set   []starlark.Tuple
	del   []string
}

// keepsKey tells deletions that are no change: LXD's own volatile.* state
// (LXD refuses to lose volatile.idmap.*), so that assigning a whole new
// config dict replaces the script's keys and keeps LXD's.
func keepsKey(field, key string) bool {
	return field == "config" && strings.HasPrefix(key, "volatile.")
}

// editsLocked compares the writable fields with the server's copy.
func (m *Model) editsLocked() map[string]*fieldEdit {
	var out map[string]*fieldEdit
	for _, f := range m.t.writable {
		// A field not read yet is the server's: it cannot have changed.
		v, ok := m.fields[f]
		if !ok {
			continue
		}
		srv, known := m.serverCopyLocked(f)
		if starjson.Canonical(v) == srv {
			continue
		}
		e := &fieldEdit{whole: v}
		if d, isDict := v.(*starlark.Dict); isDict && known {
			if old, isObject := decodeCanonical(srv).(map[string]any); isObject {
				e = dictEdit(f, d, old)
			}
		}
		if e.whole == nil && len(e.set) == 0 && len(e.del) == 0 {
			continue
		}
		if out == nil {
			out = map[string]*fieldEdit{}
		}
		out[f] = e
	}
	return out
}

// dictEdit is the key-by-key difference of a dict field from the server's.
func dictEdit(field string, local *starlark.Dict, server map[string]any) *fieldEdit {
	e := &fieldEdit{}
	seen := make(map[string]bool, local.Len())
	for _, kv := range local.Items() {
		k, ok := kv[0].(starlark.String)
		if !ok {
			return &fieldEdit{whole: local} // not sendable; save will say why
		}
		seen[string(k)] = true
		old, had := server[string(k)]
		if !had || canonicalGo(old) != starjson.Canonical(kv[1]) {
			e.set = append(e.set, starlark.Tuple{k, kv[1]})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(server)) {
		if !seen[k] && !keepsKey(field, k) {
			e.del = append(e.del, k)
		}
	}
	return e
}

// decodeCanonical decodes a canonical JSON copy, numbers kept exact.
func decodeCanonical(s string) any {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	return v
}

func canonicalGo(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// applyEditsLocked re-applies edits on top of freshly loaded fields.
func (m *Model) applyEditsLocked(edits map[string]*fieldEdit) {
	for f, e := range edits {
		if e.whole != nil {
			if !m.hasLocked(f) {
				m.order = append(m.order, f)
			}
			m.fields[f] = e.whole
			continue
		}
		v, _ := m.fieldLocked(f)
		d, ok := v.(*starlark.Dict)
		if !ok {
			continue // the server changed the field's kind: its value wins
		}
		for _, kv := range e.set {
			_ = d.SetKey(kv[0], kv[1])
		}
		for _, k := range e.del {
			_, _, _ = d.Delete(starlark.String(k))
		}
	}
}

// mergeLocked loads a fresh server copy and re-applies the script's
// unsaved changes on top of it (sync()'s merge).
func (m *Model) mergeLocked(fields []serverField, etag string) {
	edits := m.editsLocked()
	frozen := m.frozen
	m.frozen = false // edits go in before the values are frozen again
	m.loadLocked(fields, etag)
	m.applyEditsLocked(edits)
	m.frozen = frozen
	if frozen {
		for _, v := range m.fields {
			v.Freeze()
		}
	}
}

// putBodyLocked builds save()'s PUT body: the server's copy of every
// writable field with the script's edits applied, so nothing the script did
// not change is sent differently from how the server has it.
func (m *Model) putBodyLocked(edits map[string]*fieldEdit) (map[string]any, error) {
	body := map[string]any{}
	for _, f := range m.t.writable {
		if !m.hasLocked(f) {
			continue
		}
		e := edits[f]
		srv, known := m.serverCopyLocked(f)
		var g any
		var err error
		switch {
		case e != nil && e.whole != nil:
			g, err = starjson.ToGoData(e.whole, m.t.name+"."+f)
		case e != nil:
			obj, _ := decodeCanonical(srv).(map[string]any)
			for _, kv := range e.set {
				k, _ := starlark.AsString(kv[0])
				if obj[k], err = starjson.ToGoData(kv[1], m.t.name+"."+f+"["+strconv.Quote(k)+"]"); err != nil {
					return nil, err
				}
			}
			for _, k := range e.del {
				delete(obj, k)
			}
			g = obj
		case known:
			g = decodeCanonical(srv)
		default:
			v, _ := m.fieldLocked(f)
			g, err = starjson.ToGoData(v, m.t.name+"."+f)
		}
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
	if s, ok := m.serverCopyLocked(field); ok {
		_ = json.Unmarshal([]byte(s), &v)
	} else if local, ok := m.fieldLocked(field); ok {
		v, _ = starjson.ToGoData(local, field)
	}
	return v
}

// changeSpec describes an operation that changes the object itself: the
// object follows it (.operation until it ends) and is re-read once it
// succeeded.
func (m *Model) changeSpec(what string) opSpec {
	spec := opSpec{what: what, subject: m.subject(), follows: []*follow{{m: m, path: m.path()}}}
	if m.owner != nil {
		// A snapshot's changes are its instance's too (LXD locks it):
		// nothing on the instance overtakes them either.
		spec.follows = append(spec.follows, &follow{m: m.owner})
	}
	return spec
}

// createSpec describes the operation that creates the object: it follows
// it, and wait=False returns the object itself with .operation pending.
func (m *Model) createSpec() opSpec {
	spec := m.changeSpec("create")
	spec.returnsObject = true
	spec.result = func(*starlark.Thread, *rest.Operation) (starlark.Value, error) { return m, nil }
	return spec
}

// rename renames the object on the server (POST {"name": new}); the object
// itself takes the new name once the server has done it (pylxd leaves it
// stale), whether or not the script waits.
func (m *Model) rename(thread *starlark.Thread, name string, wait bool) (starlark.Value, error) {
	spec := m.changeSpec(fmt.Sprintf("rename to %q", name))
	spec.follows[0].path = m.pathAs(name)
	spec.follows[0].apply = func(m *Model) { m.setServerField(m.t.key, starlark.String(name)) }
	return m.c.run(thread, rest.Post(m.path(), map[string]any{"name": name}), wait, spec)
}

// refresh re-reads the object. keepLocal keeps unsaved changes to writable
// fields, merged key by key (sync); otherwise they are discarded (rollback).
func (m *Model) refresh(ctx context.Context, keepLocal bool) error {
	data, etag, err := m.c.getFields(ctx, m.path())
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if keepLocal {
		m.mergeLocked(data, etag)
	} else {
		m.loadLocked(data, etag)
	}
	return nil
}

// save PUTs the writable fields, conditional on the ETag of the last read.
// Nothing is sent when the object is clean.
func (m *Model) save(thread *starlark.Thread, wait bool) (starlark.Value, error) {
	m.mu.Lock()
	edits := m.editsLocked()
	if len(edits) == 0 {
		m.mu.Unlock()
		return starlark.None, nil
	}
	body, err := m.putBodyLocked(edits)
	etag := m.etag
	saved := make(map[string]string, len(m.server))
	for f, v := range m.server {
		saved[f] = v
	}
	for f := range edits {
		saved[f] = starjson.Canonical(m.fields[f])
	}
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	spec := m.changeSpec("save")
	spec.follows[0].saved = saved
	v, err := m.c.run(thread, rest.Put(m.path(), body, etag), wait, spec)
	var e *rest.Error
	if rest.IsStale(err) && errors.As(err, &e) {
		return nil, &rest.Error{Kind: rest.KindConflict, StatusCode: e.StatusCode, Subject: e.Subject, Err: e,
			Message: "it changed on the server since it was read (" + e.Message + "); nothing was saved: " +
				"call sync() to merge your changes onto the server's copy, then save() again"}
	}
	return v, err
}

package lxdmod

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/internal/starjson"
	"go.starlark.net/syntax"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

var instanceType = newType(&modelType{
	name:       "Instance",
	writable:   []string{"architecture", "config", "devices", "ephemeral", "profiles", "description"},
	key:        "name",
	renameHint: "name",
	collection: func(string) string { return rest.Path("instances") },
	rewrite:    map[string]string{"state": "full_state", "snapshots": "full_snapshots", "backups": "full_backups"},
	describe:   describeField("status"),
	afterLoad: func(m *Model) {
		// recursion=2 sends "snapshots": null for an instance without any.
		if v, ok := m.fieldLocked("full_snapshots"); ok && v == starlark.None {
			m.setServerField("full_snapshots", starlark.NewList(nil))
		}
	},
	attrs: map[string]func(m *Model) (starlark.Value, error){
		"snapshots": snapshotsKind.ownedBy,       // snapshots.go
		"files":     filesKind.ownedBy,           // files.go
		"backups":   instanceBackupsKind.ownedBy, // backups.go
		"logs":      instanceLogsKind.ownedBy,    // logs.go
	},
})

// The instance methods are added in init: copy and migrate make instances.
func init() {
	instanceType.addMethods(map[string]methodFn{
		"start":    instanceAction("start"),
		"stop":     instanceAction("stop"),
		"restart":  instanceAction("restart"),
		"freeze":   instanceAction("freeze"),
		"unfreeze": instanceAction("unfreeze"),
		"rename":   renameMethod("name"),
		"state":    instanceState,
		"wait_for": instanceWaitFor, // wait_for.go
		// exec.go
		"execute":                 instanceExecute,
		"raw_interactive_execute": instanceRawInteractiveExecute,
		// snapshots.go
		"publish":          instancePublish,
		"restore_snapshot": instanceRestoreSnapshot,
		"copy":             instanceCopy,
		// migrate.go
		"migrate": instanceMigrate,
		// logs.go
		"console_log":       instanceConsoleLog,
		"clear_console_log": instanceClearConsoleLog,
		"raw_console":       instanceRawConsole,
	})
}

var instanceManagerMethods = map[string]methodFn{
	"exists": instancesExists,
	"all":    instancesAll,
	"get":    instancesGet,
	"create": instancesCreate,
	// backups.go
	"create_from_backup": instancesCreateFromBackup,
}

// client.instances and its typed views, client.containers and
// client.virtual_machines: one kind each, as their methods' names differ.
var (
	instancesKind       = instanceKind("instances", "")
	containersKind      = instanceKind("containers", "container")
	virtualMachinesKind = instanceKind("virtual_machines", "virtual-machine")
)

// instanceKind declares the managers of instances of type itype ("": any).
func instanceKind(name, itype string) *managerKind {
	k := newKind(name, instanceType, instanceManagerMethods)
	k.itype = itype
	return k
}

// typeLabel is how a typed manager names its objects in errors.
func (g *manager) typeLabel() string {
	switch g.itype {
	case "container":
		return "Container"
	case "virtual-machine":
		return "Virtual machine"
	}
	return "Instance"
}

func (g *manager) checkType(m *Model, name string) error {
	if g.itype != "" && m.str("type") != g.itype {
		return &rest.Error{Kind: rest.KindNotFound, StatusCode: 404,
			Message: fmt.Sprintf("%s %q not found (it is a %s)", g.typeLabel(), name, m.str("type"))}
	}
	return nil
}

func instancesExists(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var name nonEmpty
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	if g.itype == "" {
		return exists(thread, g.c, g.itemPath(string(name)))
	}
	_, err := instanceGet(thread, g, string(name))
	if rest.IsKind(err, rest.KindNotFound) {
		return starlark.False, nil
	}
	return starlark.Bool(err == nil), err
}

func instanceGet(thread *starlark.Thread, g *manager, name string) (*Model, error) {
	m, err := g.fetch(thread, g.itemPath(name), name)
	if err != nil {
		return nil, err
	}
	return m, g.checkType(m, name)
}

func instancesGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var name nonEmpty
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	return instanceGet(thread, g, string(name))
}

func instancesAll(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var recursion recursionLevel
	var filter string
	var fields starargs.Strings
	if len(args) > 0 {
		return nil, fmt.Errorf("%s: takes keyword arguments only (recursion=, filter=, fields=)", g.fn(b))
	}
	if err := starlark.UnpackArgs(g.fn(b), nil, kwargs, "recursion?", &recursion, "filter??", &filter, "fields?", &fields); err != nil {
		return nil, err
	}
	q := url.Values{}
	if recursion == 2 {
		q.Set("recursion", "2") // with state, snapshots and backups
	}
	if fields != nil {
		if recursion != 2 {
			return nil, fmt.Errorf("%s: for parameter fields: only recursion=2 reads state, got recursion=1", g.fn(b))
		}
		// A server without the extension reads "2;fields=…" as no
		// recursion at all (a list of URLs): it gets a plain recursion=2,
		// whose state holds every field asked for, as pylxd falls back.
		if g.c.exts["instances_state_selective_recursion"] {
			q.Set("recursion", "2;fields="+strings.Join(fields, ","))
		}
	}
	if filter != "" {
		q.Set("filter", filter)
	}
	if g.itype != "" {
		q.Set("instance-type", g.itype)
	}
	items, err := g.c.getList(ctxOf(thread), rest.Path("instances"), q)
	if err != nil {
		return nil, err
	}
	out := make([]starlark.Value, 0, len(items))
	for _, d := range items {
		m := g.model(d, "")
		// Belt and braces: older servers ignore instance-type.
		if g.itype != "" && m.str("type") != g.itype {
			continue
		}
		out = append(out, m)
	}
	return starlark.NewList(out), nil
}

// recursionLevel is how much of each instance all() reads: 1 (the
// default, also its zero value) or 2.
type recursionLevel int

func (r *recursionLevel) Unpack(v starlark.Value) error {
	var n int
	if err := starlark.AsInt(v, &n); err != nil {
		return fmt.Errorf("got %s, want int", v.Type())
	}
	if n != 1 && n != 2 {
		return fmt.Errorf("want 1 or 2, got %d", n)
	}
	*r = recursionLevel(n)
	return nil
}

// clusterTarget is where in a cluster to put an instance: a member's name
// or "@group".
type clusterTarget string

func (t *clusterTarget) Unpack(v starlark.Value) error {
	s, ok := v.(starlark.String)
	if !ok || s == "" {
		return errors.New(`want a cluster member name or "@group"`)
	}
	*t = clusterTarget(s)
	return nil
}

func instancesCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var (
		config *starlark.Dict
		wait   bool
		target clusterTarget
	)
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs, "config", &config, "wait?", &wait, "target??", &target); err != nil {
		return nil, err
	}
	body, err := starjson.ToGo(config, g.fn(b)+": config")
	if err != nil {
		return nil, err
	}
	req := body.(map[string]any)
	if g.itype != "" {
		if t, ok := req["type"]; ok && t != g.itype {
			return nil, fmt.Errorf("%s: config type %q conflicts with the %s manager", g.fn(b), t, g.name)
		}
		req["type"] = g.itype
	}
	name, _ := req["name"].(string)
	if _, given := req["name"]; given && name == "" {
		return nil, fmt.Errorf("%s: for parameter config: \"name\" is empty (leave it out to let LXD pick one)", g.fn(b))
	}
	q := url.Values{}
	if target != "" {
		q.Set("target", string(target))
	}
	// Until the server answers, the object holds what was asked for.
	seed := starlark.NewDict(8)
	for _, k := range []string{"name", "type", "architecture", "config", "devices", "ephemeral", "profiles", "description"} {
		if v, found, _ := config.Get(starlark.String(k)); found {
			_ = seed.SetKey(starlark.String(k), v)
		}
	}
	if _, found, _ := seed.Get(starlark.String("type")); !found {
		t := g.itype
		if t == "" {
			t = "container"
		}
		_ = seed.SetKey(starlark.String("type"), starlark.String(t))
	}
	_ = seed.SetKey(starlark.String("status"), starlark.String("Creating"))
	post := rest.Post(rest.Path("instances"), req).WithQuery(q)
	if name == "" {
		// LXD picks the name: known only from the finished operation, so
		// wait=False returns the Operation, whose wait() gives the Instance.
		return g.c.run(thread, post, wait, pickedName("create", "a new instance", "instances",
			func(thread *starlark.Thread, name string) (starlark.Value, error) {
				return instanceGet(thread, g, name)
			}))
	}
	m := g.model(dictFields(seed), "")
	return g.c.run(thread, post, wait, m.createSpec())
}

// createdName is the name of the object a finished create operation lists
// in its resources (LXD: "instances": ["/1.0/instances/<name>"]).
func createdName(op *rest.Operation, collection string) string {
	if op == nil {
		return ""
	}
	for _, u := range op.Resources[collection] {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		seg := u[strings.LastIndex(u, "/")+1:]
		if name, err := url.PathUnescape(seg); err == nil && name != "" {
			return name
		}
	}
	return ""
}

// instanceAction implements start/stop/restart/freeze/unfreeze. Once the
// action ends the object is re-read, so inst.status is current.
func instanceAction(action string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		m := receiver(b)
		timeout, force, wait := 30, true, false
		if err := starlark.UnpackArgs(qualified(m, b), args, kwargs, "timeout?", &timeout, "force?", &force, "wait?", &wait); err != nil {
			return nil, err
		}
		body := map[string]any{"action": action, "timeout": timeout, "force": force}
		return m.c.run(thread, rest.Put(m.path()+"/state", body, ""), wait, m.changeSpec(action))
	}
}

func instanceState(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if err := starlark.UnpackArgs(qualified(m, b), args, kwargs); err != nil {
		return nil, err
	}
	data, _, err := m.c.getObject(ctxOf(thread), m.path()+"/state")
	if err != nil {
		return nil, err
	}
	return record("InstanceState", data), nil
}

// record turns a server object into a read-only value of its own type
// (type(inst.state()) is "InstanceState"), with the fields as attributes.
func record(name string, d *starlark.Dict) *Record {
	sd := make(starlark.StringDict, d.Len())
	for _, item := range d.Items() {
		if k, ok := item[0].(starlark.String); ok {
			sd[string(k)] = item[1]
		}
	}
	d.Freeze()
	return &Record{name: name, fields: sd}
}

// Record is a read-only server object such as an InstanceState: a struct
// whose type is named after what it is. json.encode encodes its fields.
type Record struct {
	name   string
	fields starlark.StringDict
}

var (
	_ starlark.HasAttrs   = (*Record)(nil)
	_ starlark.Comparable = (*Record)(nil)
)

func (r *Record) String() string {
	var b strings.Builder
	b.WriteString(r.name + "(")
	for i, k := range r.fields.Keys() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k + " = " + r.fields[k].String())
	}
	b.WriteString(")")
	return b.String()
}
func (r *Record) Type() string          { return r.name }
func (r *Record) Freeze()               {} // its values were frozen when it was made
func (r *Record) Truth() starlark.Bool  { return true }
func (r *Record) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: %s", r.name) }
func (r *Record) Attr(name string) (starlark.Value, error) {
	return r.fields[name], nil // nil: Starlark reports the missing field
}
func (r *Record) AttrNames() []string { return r.fields.Keys() }

// CompareSameType compares two records field by field (== and != only).
func (r *Record) CompareSameType(op syntax.Token, y starlark.Value, depth int) (bool, error) {
	o := y.(*Record)
	switch op {
	case syntax.EQL, syntax.NEQ:
		eq := r.name == o.name && len(r.fields) == len(o.fields)
		for k, v := range r.fields {
			if !eq {
				break
			}
			w, ok := o.fields[k]
			if !ok {
				eq = false
				break
			}
			var err error
			if eq, err = starlark.EqualDepth(v, w, depth-1); err != nil {
				return false, err
			}
		}
		return eq == (op == syntax.EQL), nil
	}
	return false, fmt.Errorf("%s values are not ordered", r.name)
}

// MarshalJSON makes json.encode(record) the object LXD sent.
func (r *Record) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(r.fields))
	for k, v := range r.fields {
		g, err := starjson.ToGo(v, r.name+"."+k)
		if err != nil {
			return nil, err
		}
		m[k] = g
	}
	return json.Marshal(m)
}

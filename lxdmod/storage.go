package lxdmod

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	starlarktime "go.starlark.net/lib/time"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.storage_pools (API.md §2.5).
func newStoragePoolManager(c *Client) starlark.Value {
	return newManager(c, "storage_pools", storagePoolType, nil, collectionMethods,
		map[string]methodFn{"create": storagePoolsCreate})
}

var storagePoolType = &modelType{
	name:       "StoragePool",
	writable:   []string{"description", "config"},
	key:        "name",
	collection: func(string) string { return rest.Path("storage-pools") },
	describe:   describeField("driver"),
	fixBody:    poolFixBody,
	methods: map[string]methodFn{
		"put":   sendAndSync("PUT"),
		"patch": sendAndSync("PATCH"),
	},
	attrs: map[string]func(m *Model) (starlark.Value, error){
		"resources": poolResources,
		"volumes":   poolVolumes,
	},
	afterLoad: listDefaults("used_by"),
}

// storage_pools.create(definition, wait=False): definition is LXD's
// StoragePoolsPost body ({"name", "driver", "config", "description"}).
func storagePoolsCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	body, name, wait, err := definitionArgs(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return g.createObject(thread, rest.Path("storage-pools"), map[string]any{"name": name}, body, wait)
}

// definitionArgs unpacks (definition, wait=False) and checks the name.
func definitionArgs(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (map[string]any, string, bool, error) {
	var def *starlark.Dict
	var wait bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "definition", &def, "wait?", &wait); err != nil {
		return nil, "", false, err
	}
	g, err := toGo(def, b.Name()+": definition")
	if err != nil {
		return nil, "", false, err
	}
	body := g.(map[string]any)
	name, _ := body["name"].(string)
	if err := checkNewName(b.Name(), "definition", name); err != nil {
		return nil, "", false, fmt.Errorf("%s: for parameter definition: a valid \"name\" is required", b.Name())
	}
	return body, name, wait, nil
}

// poolImmutableKeys are pool config keys fixed at creation: LXD refuses a
// PUT whose config drops them ("Pool source cannot be changed when not in
// pending state"), so save() sends the server's value when the script's
// config left them out (without touching the script's dict).
var poolImmutableKeys = []string{"source"}

func poolFixBody(m *Model, body map[string]any) {
	local, ok := body["config"].(map[string]any)
	server, _ := m.serverValue("config").(map[string]any)
	if !ok || server == nil {
		return
	}
	for _, k := range poolImmutableKeys {
		if v, onServer := server[k]; onServer {
			if _, kept := local[k]; !kept {
				local[k] = v
			}
		}
	}
}

// pool.resources: a one-method manager, as pylxd has it.
func poolResources(m *Model) (starlark.Value, error) {
	return newManager(m.c, "StoragePool.resources", nil, m,
		map[string]methodFn{"get": poolResourcesGet}), nil
}

// pool.resources.get() -> struct(space, inodes)
func poolResourcesGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	data, _, err := g.c.getObject(ctxOf(thread), g.parent.path()+"/resources")
	if err != nil {
		return nil, err
	}
	return record("StorageResources", data), nil
}

// --- volumes ---------------------------------------------------------------

// pool.volumes: volumes are keyed by (type, name) within their pool.
func poolVolumes(m *Model) (starlark.Value, error) {
	return newManager(m.c, "StoragePool.volumes", storageVolumeType, m, volumeManagerMethods), nil
}

var volumeManagerMethods = map[string]methodFn{
	"all":    collectionAll,
	"get":    volumesGet,
	"exists": volumesExists,
	"create": volumesCreate,
	// backups.go
	"create_from_backup": volumesCreateFromBackup,
}

var storageVolumeType = &modelType{
	name:       "StorageVolume",
	writable:   []string{"description", "config"},
	key:        "name",
	renameHint: "name",
	// parent is the pool's name.
	collection: func(pool string) string { return rest.Path("storage-pools", pool, "volumes") },
	path:       func(m *Model) string { return volumePath(m.parentKey(), m.str("type"), m.key()) },
	describe:   describeField("type"),
	methods: map[string]methodFn{
		"rename": volumeRename,
		"put":    sendAndSync("PUT"),
		"patch":  sendAndSync("PATCH"),
	},
	attrs: map[string]func(m *Model) (starlark.Value, error){
		"snapshots": volumeSnapshots,
		"backups":   volumeBackups, // backups.go
	},
	afterLoad: volumeAfterLoad,
}

func volumePath(pool, typ, name string) string {
	return rest.Path("storage-pools", pool, "volumes", typ, name)
}

// volumeAfterLoad adds the pool field (LXD 5.0 does not send it) and
// defaults used_by.
func volumeAfterLoad(m *Model) {
	if v, ok := m.fieldLocked("pool"); !ok || v == starlark.None {
		m.setServerField("pool", starlark.String(m.parentKey()))
	}
	listDefaults("used_by")(m)
}

// volumeKey unpacks (type, name) and checks both.
func volumeKey(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (string, string, error) {
	var typ, name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "type", &typ, "name", &name); err != nil {
		return "", "", err
	}
	if typ == "" {
		return "", "", fmt.Errorf("%s: for parameter type: empty volume type (want \"custom\", \"container\", \"virtual-machine\" or \"image\")", b.Name())
	}
	if name == "" {
		return "", "", fmt.Errorf("%s: for parameter name: empty name", b.Name())
	}
	return typ, name, nil
}

// volumes.get(type, name)
func volumesGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	typ, name, err := volumeKey(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return g.fetch(thread, volumePath(g.parentKey(), typ, name), name)
}

// volumes.exists(type, name)
func volumesExists(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	typ, name, err := volumeKey(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	return exists(thread, g.c, volumePath(g.parentKey(), typ, name))
}

// volumes.create(definition, wait=False): definition is LXD's
// StorageVolumesPost body; its type defaults to "custom".
func volumesCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	body, name, wait, err := definitionArgs(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	typ, _ := body["type"].(string)
	if typ == "" {
		typ = "custom"
		body["type"] = typ
	}
	path := rest.Path("storage-pools", g.parentKey(), "volumes", typ)
	return g.createObject(thread, path, map[string]any{"name": name, "type": typ}, body, wait)
}

// volume.rename(new_name, wait=False, *, pool=None, project=None): renames,
// and with pool/project moves the volume; the object follows it.
func volumeRename(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if len(args) > 2 {
		return nil, fmt.Errorf("%s: pool and project are keyword-only", b.Name())
	}
	var name string
	var wait bool
	var pool, project starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "new_name", &name, "wait?", &wait,
		"pool?", &pool, "project?", &project); err != nil {
		return nil, err
	}
	if err := checkNewName(b.Name(), "new_name", name); err != nil {
		return nil, err
	}
	toPool, err := optString(pool, b.Name(), "pool")
	if err != nil {
		return nil, err
	}
	toProject, err := optString(project, b.Name(), "project")
	if err != nil {
		return nil, err
	}
	body := map[string]any{"name": name}
	setIf(body, "pool", toPool)
	if toProject != "" {
		if err := m.c.requireExtension("storage_volume_project_move"); err != nil {
			return nil, err
		}
		body["project"] = toProject
		// LXD 5.0 looks the target pool up by name even when only the
		// project changes ("Storage pool not found" without it).
		if toPool == "" {
			body["pool"] = m.parentKey()
		}
	}
	req := &rest.Request{Method: "POST", Path: m.path(), Body: body}
	// Where the volume will be: its new name, pool and project.
	moved := m.c
	if toProject != "" {
		moved = m.c.inProject(toProject)
	}
	newPool := m.parentKey()
	if toPool != "" {
		newPool = toPool
	}
	spec := m.changeSpec(fmt.Sprintf("rename to %q", name))
	spec.follows[0].via = moved
	spec.follows[0].path = volumePath(newPool, m.str("type"), name)
	spec.follows[0].apply = func(m *Model) {
		m.setServerField("name", starlark.String(name))
		if toPool != "" {
			m.parent, m.owner = toPool, nil
			m.setServerField("pool", starlark.String(toPool))
		}
		m.c = moved
	}
	return m.c.run(thread, req, wait, spec)
}

// inProject returns a client like c whose requests run in project, for
// objects that moved there. It is never handed to scripts, so it has no
// managers of its own.
func (c *Client) inProject(project string) *Client {
	cp := *c
	cp.rest = c.rest.WithProject(project)
	cp.managers = nil
	return &cp
}

// --- volume snapshots -------------------------------------------------------

// volume.snapshots. A snapshot's URL hangs off its volume's (pool, type,
// name), more than the one parent key a model keeps, so each volume's
// snapshots get a model type whose collection is that volume's path.
func volumeSnapshots(m *Model) (starlark.Value, error) {
	return newManager(m.c, "StorageVolume.snapshots", volumeSnapshotType(m.path()), m,
		collectionMethods, map[string]methodFn{"create": volumeSnapshotsCreate}), nil
}

func volumeSnapshotType(volPath string) *modelType {
	return &modelType{
		name:       "StorageVolumeSnapshot",
		writable:   []string{"description", "config", "expires_at"},
		key:        "name",
		renameHint: "name",
		collection: func(string) string { return volPath + "/snapshots" },
		methods:    volumeSnapshotMethods,
		afterLoad:  bareNameAfterLoad,
	}
}

var volumeSnapshotMethods = map[string]methodFn{
	"rename":  renameMethod("new_name"),
	"restore": volumeSnapshotRestore,
}

// zeroTime is how LXD spells "never" in expires_at.
const zeroTime = "0001-01-01T00:00:00Z"

// bareNameAfterLoad serves objects owned by another (volume snapshots,
// backups): it strips the "owner/" prefix LXD puts on some names (volume
// snapshots in listings), and makes "no expiry" None whichever way LXD
// spelled it (the listing sends null, a single GET the zero time).
func bareNameAfterLoad(m *Model) {
	// afterLoad runs with m.mu held.
	name, _ := m.fieldLocked("name")
	if n, _ := starlark.AsString(name); strings.Contains(n, "/") {
		m.setServerField("name", starlark.String(n[strings.LastIndex(n, "/")+1:]))
	}
	expires, _ := m.fieldLocked("expires_at")
	if s, _ := starlark.AsString(expires); s == zeroTime {
		m.setServerField("expires_at", starlark.None)
	}
}

// expiryArg accepts None, an RFC 3339 string or a time.time value.
func expiryArg(fn string, v starlark.Value) (any, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.String:
		if _, err := time.Parse(time.RFC3339, string(x)); err != nil {
			return nil, fmt.Errorf("%s: for parameter expires_at: %q is not an RFC 3339 time", fn, string(x))
		}
		return string(x), nil
	case starlarktime.Time:
		return time.Time(x).Format(time.RFC3339Nano), nil
	}
	return nil, fmt.Errorf("%s: for parameter expires_at: got %s, want string, time or None", fn, v.Type())
}

// volume.snapshots.create(name=None, expires_at=None, wait=False). With a
// name the snapshot comes back (with .operation pending when wait=False);
// without one LXD picks the name, so the result is known only once the
// operation ended: wait=False then returns the Operation, whose wait()
// returns the snapshot.
func volumeSnapshotsCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var name, expires starlark.Value = starlark.None, starlark.None
	var wait bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name?", &name, "expires_at?", &expires, "wait?", &wait); err != nil {
		return nil, err
	}
	snap, err := optString(name, b.Name(), "name")
	if err != nil {
		return nil, err
	}
	expiry, err := expiryArg(b.Name(), expires)
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	setIf(body, "expires_at", expiry)
	path := g.t.collection("")
	// name=None lets LXD pick one; an empty string is a mistake, as it is
	// for instance snapshots.
	if name != starlark.None {
		if err := checkNewName(b.Name(), "name", snap); err != nil {
			return nil, err
		}
		body["name"] = snap
		return g.createObject(thread, path, map[string]any{"name": snap}, body, wait)
	}
	before, err := snapshotNames(thread, g.c, path)
	if err != nil {
		return nil, err
	}
	req := &rest.Request{Method: "POST", Path: path, Body: body}
	return g.c.run(thread, req, wait, opSpec{what: "snapshot", subject: g.parent.subject(),
		follows: []*follow{{m: g.parent}}, // nothing overtakes it on the volume
		result: func(thread *starlark.Thread, _ *rest.Operation) (starlark.Value, error) {
			return newSnapshot(thread, g, path, before)
		}})
}

// snapshotNames lists the snapshot names of a collection (recursion=0).
func snapshotNames(thread *starlark.Thread, c *Client, collection string) (map[string]bool, error) {
	resp, err := c.rest.Do(ctxOf(thread), &rest.Request{Method: "GET", Path: collection})
	if err != nil {
		return nil, err
	}
	var urls []string
	if err := resp.Decode(&urls); err != nil {
		return nil, err
	}
	names := make(map[string]bool, len(urls))
	for _, u := range urls {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		seg := u[strings.LastIndex(u, "/")+1:]
		if s, err := url.PathUnescape(seg); err == nil {
			seg = s
		}
		names[seg] = true
	}
	return names, nil
}

// newSnapshot finds the snapshot LXD named for us: the one that was not
// there before.
func newSnapshot(thread *starlark.Thread, g *manager, collection string, before map[string]bool) (starlark.Value, error) {
	after, err := snapshotNames(thread, g.c, collection)
	if err != nil {
		return nil, err
	}
	var added []string
	for n := range after {
		if !before[n] {
			added = append(added, n)
		}
	}
	if len(added) != 1 {
		return nil, fmt.Errorf("%s.create: the snapshot was created, but %d new snapshots appeared meanwhile (%s): pass name= to know which",
			g.name, len(added), strings.Join(added, ", "))
	}
	return g.getModel(thread, g.name+".create", added[0])
}

// snapshot.restore(wait=False): PUT the volume with {"restore": snapshot}.
func volumeSnapshotRestore(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	var wait bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "wait?", &wait); err != nil {
		return nil, err
	}
	volPath := strings.TrimSuffix(m.t.collection(m.parentKey()), "/snapshots")
	req := &rest.Request{Method: "PUT", Path: volPath, Body: map[string]any{"restore": m.key()}}
	return m.c.run(thread, req, wait, m.restoreSpec())
}

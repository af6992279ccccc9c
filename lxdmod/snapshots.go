package lxdmod

// Instance snapshots, and the instance methods that make new objects from
// an instance: publish, restore_snapshot and copy.

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

var snapshotType = newType(&modelType{
	name:       "Snapshot",
	writable:   []string{"expires_at"},
	key:        "name",
	renameHint: "name",
	collection: func(inst string) string { return rest.Path("instances", inst, "snapshots") },
	describe:   describeOwner,
	afterLoad:  stripSnapshotPrefix,
	methods: map[string]methodFn{
		"rename":  renameMethod("new_name"),
		"publish": snapshotPublish,
		"restore": snapshotRestore,
	},
})

// stripSnapshotPrefix keeps snapshot names bare: some LXD versions return
// "c1/snap0" where scripts (and the URL path) use "snap0".
func stripSnapshotPrefix(m *Model) {
	v, _ := m.fieldLocked("name")
	name, ok := v.(starlark.String)
	if !ok {
		return
	}
	if bare, found := strings.CutPrefix(string(name), m.parentKey()+"/"); found {
		m.setServerField("name", starlark.String(bare))
	}
}

// snapshotsKind is instance.snapshots.
var snapshotsKind = newSubKind("snapshots", snapshotType, collectionMethods, map[string]methodFn{"create": snapshotsCreate})

// snapshotsCreate implements snapshots.create(name, stateful=False,
// wait=False, *, expires_at=None): the Snapshot comes back in both wait
// modes (with .operation pending when wait=False).
func snapshotsCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	fn := g.fn(b)
	var (
		name           snapshotName
		stateful, wait bool
		expires        starargs.OptString // an RFC 3339 time
	)
	if err := maxPositional(fn, args, 3); err != nil {
		return nil, err
	}
	if err := starlark.UnpackArgs(fn, args, kwargs, "name", &name, "stateful?", &stateful, "wait?", &wait, "expires_at?", &expires); err != nil {
		return nil, err
	}
	body := map[string]any{"name": string(name), "stateful": stateful}
	seed := starlark.NewDict(3)
	_ = seed.SetKey(starlark.String("name"), starlark.String(name))
	_ = seed.SetKey(starlark.String("stateful"), starlark.Bool(stateful))
	if expires.Set {
		body["expires_at"] = expires.Value
		_ = seed.SetKey(starlark.String("expires_at"), starlark.String(expires.Value))
	}
	m := g.model(dictFields(seed), "")
	return g.c.run(thread, rest.Post(g.collectionPath(), body), wait, m.createSpec())
}

// snapshotRestore restores the instance to this snapshot.
func snapshotRestore(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	var wait bool
	if err := starlark.UnpackArgs(qualified(m, b), args, kwargs, "wait?", &wait); err != nil {
		return nil, err
	}
	body := map[string]any{"restore": m.key(), "stateful": false}
	return m.c.run(thread, rest.Put(rest.Path("instances", m.parentKey()), body, ""), wait, m.restoreSpec())
}

// restoreSpec describes restoring the owner (an instance or a volume) to
// the snapshot m: the snapshot follows the operation (nothing overtakes
// it), and so does the owner, when the script reached m through it.
func (m *Model) restoreSpec() opSpec {
	spec := m.changeSpec("restore")
	if m.owner != nil {
		spec.follows[1].path = m.owner.path() // re-read what was restored
	}
	return spec
}

// snapshotPublish makes an image from the snapshot: Image with wait=True,
// else the pending Operation whose wait() returns the Image.
func snapshotPublish(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	var public, wait bool
	if err := starlark.UnpackArgs(qualified(m, b), args, kwargs, "public?", &public, "wait?", &wait); err != nil {
		return nil, err
	}
	source := map[string]any{"type": "snapshot", "name": m.parentKey() + "/" + m.key()}
	return publishImage(thread, m.c, map[string]any{"public": public, "source": source}, wait)
}

// instancePublish is instance.publish(public=False, wait=False, *,
// alias=None): Image with wait=True, else the pending Operation.
func instancePublish(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	fn := qualified(m, b)
	var public, wait bool
	var alias nonEmpty
	if err := maxPositional(fn, args, 2); err != nil {
		return nil, err
	}
	if err := starlark.UnpackArgs(fn, args, kwargs, "public?", &public, "wait?", &wait, "alias??", &alias); err != nil {
		return nil, err
	}
	body := map[string]any{"public": public, "source": map[string]any{"type": "instance", "name": m.key()}}
	if alias != "" {
		body["aliases"] = []map[string]any{{"name": string(alias)}}
	}
	return publishImage(thread, m.c, body, wait)
}

func instanceRestoreSnapshot(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	fn := qualified(m, b)
	var name snapshotName
	var wait, stateful bool
	if err := maxPositional(fn, args, 2); err != nil {
		return nil, err
	}
	if err := starlark.UnpackArgs(fn, args, kwargs, "snapshot_name", &name, "wait?", &wait, "stateful?", &stateful); err != nil {
		return nil, err
	}
	req := rest.Put(m.path(), map[string]any{"restore": name, "stateful": stateful}, "")
	return m.c.run(thread, req, wait, m.changeSpec(fmt.Sprintf("restore of snapshot %q", name)))
}

// instanceCopy is instance.copy(name, *, new_client=None, target=None,
// instance_only=False, wait=False): a copy on the same server, returned in
// both wait modes. Like `lxc copy`, it sends the source's current writable
// fields (re-read, so unsaved local edits are not copied) without volatile
// keys; the same server, another server or a cluster member (migrate.go).
func instanceCopy(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	fn := qualified(m, b)
	var (
		name               newName
		newClient          destination
		target             starargs.OptString // a cluster member
		instanceOnly, wait bool
	)
	if err := maxPositional(fn, args, 1); err != nil {
		return nil, err
	}
	if err := starlark.UnpackArgs(fn, args, kwargs, "name", &name, "new_client?", &newClient, "target?", &target,
		"instance_only?", &instanceOnly, "wait?", &wait); err != nil {
		return nil, err
	}
	return copyElsewhere(thread, m, string(name), newClient.to(m), target.Value, instanceOnly, wait)
}

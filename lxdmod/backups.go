package lxdmod

// Backups of instances (inst.backups) and of custom volumes
// (volume.backups): sub-resources owned by their instance or volume, as
// snapshots are; their export to a host file; and new instances and
// volumes restored from such a file (create_from_backup).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/internal/starjson"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// newBackupType is the model of one kind of backup, in its owner's
// "backups". LXD answers no PUT of a backup (LXD 5.0 and Incus 6.0 say 501
// "not implemented"), so save() of expires_at fails with that, explained
// (backupSave).
func newBackupType(name string) *modelType {
	return newType(&modelType{
		name:       name,
		writable:   []string{"expires_at"},
		key:        "name",
		renameHint: "name",
		sub:        "backups",
		describe:   describeOwner,
		afterLoad:  bareNameAfterLoad,
		methods: map[string]methodFn{
			"rename":    renameMethod("new_name"),
			"export_to": backupExportTo,
			"save":      backupSave,
		},
	})
}

// Backup objects are only had from these managers: the gates on them
// cover the objects' methods too.
var (
	// instance.backups
	instanceBackupsKind = newSubKind("backups", newBackupType("Backup"),
		needsExtension("container_backup", collectionMethods, map[string]methodFn{"create": backupsCreate("instance_only")}))
	// volume.backups (custom volumes)
	volumeBackupsKind = newSubKind("StorageVolume.backups", newBackupType("StorageVolumeBackup"),
		needsExtension("custom_volume_backup", collectionMethods, map[string]methodFn{"create": backupsCreate("volume_only")}))
)

// backupsCreate is create(name=None, *, expires_at=None, <only>=False,
// optimized_storage=False, compression_algorithm=None, wait=False), where
// <only> ("instance_only", "volume_only": leave the snapshots out) is the
// field LXD names it by. With a name the Backup comes back in both wait
// modes; without one LXD picks it, so wait=False returns the Operation,
// whose wait() gives the Backup.
func backupsCreate(only string) methodFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		g := mgr(b)
		fn := g.fn(b)
		var (
			name                      newName // "": None, LXD picks one
			expires                   expiry
			compression               starargs.OptString
			onlyFlag, optimized, wait bool
		)
		if err := maxPositional(fn, args, 1); err != nil {
			return nil, err
		}
		if err := starlark.UnpackArgs(fn, args, kwargs, "name??", &name, "expires_at?", &expires, only+"?", &onlyFlag,
			"optimized_storage?", &optimized, "compression_algorithm?", &compression, "wait?", &wait); err != nil {
			return nil, err
		}
		if compression.Set {
			if compression.Value == "" {
				return nil, fmt.Errorf("%s: for parameter compression_algorithm: empty (want e.g. \"gzip\", \"xz\", \"zstd\" or \"none\"; None for the server's default)", fn)
			}
			if err := g.c.requireFor(fn, "backup_compression_algorithm"); err != nil {
				return nil, err
			}
		}
		body := map[string]any{only: onlyFlag, "optimized_storage": optimized}
		setIf(body, "expires_at", string(expires))
		setIf(body, "compression_algorithm", compression.Value)
		path := g.collectionPath()
		if name != "" {
			body["name"] = string(name)
			seed := map[string]any{"name": string(name), only: onlyFlag, "optimized_storage": optimized, "expires_at": expires.json()}
			return g.createObject(thread, path, seed, body, wait)
		}
		spec := pickedName("backup", g.parent.subject(), "backups", func(thread *starlark.Thread, name string) (starlark.Value, error) {
			return g.getModel(thread, name)
		})
		spec.follows = []*follow{{m: g.parent}} // nothing overtakes it on the owner
		return g.c.run(thread, rest.Post(path, body), wait, spec)
	}
}

// backupExportTo is backup.export_to(path): the backup's tarball streamed
// to the host file path, which appears only once it is complete.
var backupExportTo = exportToMethod(func(ctx context.Context, m *Model, dst string, put putFile) error {
	req := &rest.Request{Method: "GET", Path: m.path() + "/export", Label: m.subject()}
	return m.c.rest.Download(ctx, req, "exporting "+m.subject(), func(r io.Reader) error { return put(dst, r) })
})

// backupSave is save(): what LXD says when it cannot change a backup is
// explained, with the way to get an expiry date.
func backupSave(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	v, err := modelSave(thread, b, args, kwargs)
	var e *rest.Error
	if errors.As(err, &e) && e.StatusCode == http.StatusNotImplemented {
		cp := *e
		cp.Err = e
		cp.Message = e.Message + ": " + serverLabel(receiver(b).c) + " cannot change a backup once it is made; " +
			"nothing was saved (give expires_at to backups.create instead)"
		return nil, &cp
	}
	return v, err
}

// pickedName describes a create in which the server picks the new
// object's name: it is known only from the finished operation's resources
// (LXD: "instances": ["/1.0/instances/<name>"]), so wait=False returns
// the Operation, whose wait() gives the object get(name) returns.
func pickedName(what, subject, resources string, get func(thread *starlark.Thread, name string) (starlark.Value, error)) opSpec {
	return opSpec{what: what, subject: subject,
		result: func(thread *starlark.Thread, final *rest.Operation) (starlark.Value, error) {
			name := createdName(final, resources)
			if name == "" {
				return nil, &rest.Error{Kind: rest.KindAPI, Message: fmt.Sprintf("operation %s ended without naming what it made (%s)", final.ID, subject)}
			}
			return get(thread, name)
		}}
}

// --- restoring ---------------------------------------------------------------

// backupFileArgs unpacks (path, name=None, ...rest) for create_from_backup
// and checks the names; more are the further optional parameters.
func backupFileArgs(fn string, args starlark.Tuple, kwargs []starlark.Tuple, more ...any) (path, name string, err error) {
	var file nonEmpty
	var n newName // "": None
	pairs := append([]any{"path", &file, "name??", &n}, more...)
	if err := starlark.UnpackArgs(fn, args, kwargs, pairs...); err != nil {
		return "", "", err
	}
	return string(file), string(n), nil
}

// openBackupFile opens the host file a backup is restored from. It is
// streamed up as it is read, never held in memory.
func openBackupFile(fn, path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: for parameter path: %w", fn, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", path)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%s: for parameter path: %w", fn, err)
	}
	return f, fi.Size(), nil
}

// restoreKind is what a backup is restored as: an instance or a custom
// volume.
type restoreKind struct {
	request func(rest.BackupImport) *rest.Request // the upload
	object  func(name string) *Model              // the new object, until the server has it
	// resources is where the finished operation names the new object; get
	// fetches it by that name.
	resources string
	get       func(thread *starlark.Thread, name string) (starlark.Value, error)
}

// restore uploads the backup file and restores it as a new object: named
// (the object comes back in both wait modes, following the operation) or,
// name "", named by the backup itself (pickedName). Failures say which
// server refused and what, since a backup made by another server may not
// suit it (Incus's for LXD, for one).
func (k restoreKind) restore(thread *starlark.Thread, c *Client, fn, path string, upload rest.BackupImport, wait bool) (starlark.Value, error) {
	f, size, err := openBackupFile(fn, path)
	if err != nil {
		return nil, err
	}
	// LXD has read the whole body once it answers (it stores the file
	// before it starts the operation), so the file is done with by then.
	defer f.Close()
	upload.File, upload.Size, upload.Label = f, size, path
	subject := fmt.Sprintf("restoring backup %s on %s", path, serverLabel(c))
	if upload.Name == "" {
		return c.run(thread, k.request(upload), wait, pickedName("restore of backup "+path, subject, k.resources, k.get))
	}
	m := k.object(upload.Name)
	spec := m.createSpec()
	spec.what, spec.subject = "restore of backup "+path, m.subject()+": "+subject
	return c.run(thread, k.request(upload), wait, spec)
}

// instancesCreateFromBackup is instances.create_from_backup(path, *,
// name=None, pool=None, wait=False).
func instancesCreateFromBackup(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	fn := g.fn(b)
	var pool starargs.OptString
	var wait bool
	if err := maxPositional(fn, args, 1); err != nil {
		return nil, err
	}
	path, name, err := backupFileArgs(fn, args, kwargs, "pool?", &pool, "wait?", &wait)
	if err != nil {
		return nil, err
	}
	if pool.Set && pool.Value == "" {
		return nil, fmt.Errorf("%s: for parameter pool: empty pool name", fn)
	}
	poolName := pool.Value
	exts := []string{"container_backup"}
	if name != "" {
		exts = append(exts, "backup_override_name")
	}
	if poolName != "" {
		exts = append(exts, "container_backup_override_pool")
	}
	if err := g.c.requireAllFor(fn, exts...); err != nil {
		return nil, err
	}
	k := restoreKind{
		request: rest.InstanceBackupImportRequest,
		object: func(name string) *Model {
			return g.model(dictFields(starjson.FromGo(map[string]any{"name": name, "status": "Creating"}).(*starlark.Dict)), "")
		},
		resources: "instances",
		get: func(thread *starlark.Thread, name string) (starlark.Value, error) {
			return instanceGet(thread, g, name)
		},
	}
	return k.restore(thread, g.c, fn, path, rest.BackupImport{Name: name, Pool: poolName}, wait)
}

// volumesCreateFromBackup is pool.volumes.create_from_backup(path,
// name=None, wait=False): a custom volume.
func volumesCreateFromBackup(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	fn := g.fn(b)
	var wait bool
	path, name, err := backupFileArgs(fn, args, kwargs, "wait?", &wait)
	if err != nil {
		return nil, err
	}
	exts := []string{"custom_volume_backup"}
	if name != "" {
		exts = append(exts, "backup_override_name")
	}
	if err := g.c.requireAllFor(fn, exts...); err != nil {
		return nil, err
	}
	pool := g.parentKey()
	k := restoreKind{
		request: func(u rest.BackupImport) *rest.Request { return rest.VolumeBackupImportRequest(pool, u) },
		object: func(name string) *Model {
			return g.model(dictFields(starjson.FromGo(map[string]any{"name": name, "type": "custom"}).(*starlark.Dict)), "")
		},
		resources: "storage_volumes",
		get: func(thread *starlark.Thread, name string) (starlark.Value, error) {
			return g.fetch(thread, volumePath(pool, "custom", name), name)
		},
	}
	return k.restore(thread, g.c, fn, path, rest.BackupImport{Name: name}, wait)
}

// requireAllFor is requireFor of several extensions, the first missing
// one named.
func (c *Client) requireAllFor(fn string, extensions ...string) error {
	for _, ext := range extensions {
		if err := c.requireFor(fn, ext); err != nil {
			return err
		}
	}
	return nil
}

// serverLabel names the server in messages: "LXD 5.0.2 at <endpoint>".
func serverLabel(c *Client) string {
	name := c.server.Name()
	if c.server.Version != "" {
		name += " " + c.server.Version
	}
	return name + " at " + c.rest.Endpoint()
}

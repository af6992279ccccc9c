package fakelxd

// Instance backups as LXD 5.0.2 serves them: made, renamed and deleted in
// operations, never updated (PUT answers 501), exported as a file, and
// restored by POST /1.0/instances with the file as the body. A fake's
// backup file is not LXD's tarball but a JSON document holding the
// instance; only a fake restores it.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"
)

var backupKind = &kind{name: "instance-backup", pattern: []string{"instances", "*", "backups", "*"},
	notFound: "Load backup from database: Instance backup not found", scoped: true, noUpdate: true,
	async: map[string]string{"create": "Backing up instance", "rename": "Renaming instance backup",
		"delete": "Removing instance backup"},
	duplicateCode: http.StatusConflict, duplicateMsg: "Create backup: Backup %q already exists",
	defaults: func() Object {
		return Object{"created_at": time.Now().UTC().Format(time.RFC3339), "expires_at": zeroTime,
			"instance_only": false, "container_only": false, "optimized_storage": false}
	}}

// backupFile is what a fake's backup export holds.
type backupFile struct {
	Format   string `json:"format"` // backupFormat
	Instance Object `json:"instance"`
}

const backupFormat = "fakelxd-backup"

// backupDataLocked is the export of a new backup of the instance at
// instSegs. The caller holds the lock.
func (s *Server) backupDataLocked(project string, instSegs []string) []byte {
	inst := s.store.get(project, instSegs)
	if inst == nil {
		return nil
	}
	data, _ := json.Marshal(backupFile{Format: backupFormat, Instance: cloneObject(inst.obj)})
	return data
}

// exportBackup is GET /1.0/instances/<name>/backups/<backup>/export.
func (q *query) exportBackup(segs []string) {
	q.s.mu.Lock()
	e := q.s.store.get(q.project, segs)
	var data []byte
	if e != nil {
		data = e.data
	}
	q.s.mu.Unlock()
	if e == nil {
		q.fail(http.StatusNotFound, backupKind.notFound)
		return
	}
	q.w.Header().Set("Content-Type", "application/octet-stream")
	q.w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	_, _ = q.w.Write(data)
}

// isUpload reports whether the request body is a file rather than JSON.
func (q *query) isUpload() bool {
	ct, _, _ := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	return ct == "application/octet-stream"
}

// restoreBackup is POST /1.0/instances with a backup file as the body:
// X-LXD-name (or X-Incus-name) renames the instance, X-LXD-pool names a
// pool that must exist.
func (q *query) restoreBackup() {
	data, err := io.ReadAll(q.r.Body)
	var file backupFile
	if err == nil {
		err = json.Unmarshal(data, &file)
	}
	if err != nil || file.Format != backupFormat || file.Instance == nil {
		q.fail(http.StatusInternalServerError, "Unsupported compression") // LXD 5.0.2's answer to a file that is no backup
		return
	}
	obj := cloneObject(file.Instance)
	name, _ := obj["name"].(string)
	if n := header(q.r, "name"); n != "" {
		name = n
	}
	if pool := header(q.r, "pool"); pool != "" {
		q.s.mu.Lock()
		known := q.s.store.get("", []string{"storage-pools", pool}) != nil
		q.s.mu.Unlock()
		if !known {
			q.fail(http.StatusNotFound, "Storage pool not found")
			return
		}
	}
	obj["name"], obj["project"], obj["status"] = name, q.project, "Stopped"
	obj["created_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	s, project, segs := q.s, q.project, []string{"instances", name}
	q.async(q.start(opSpec{description: "Restoring backup", resources: resourcesOf(instanceKind, objectPath(segs...)),
		run: func(context.Context) (Object, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.store.get(project, segs) != nil {
				return nil, fmt.Errorf("Create instance from backup: Cannot restore volume, already exists on target")
			}
			e := s.store.put(project, segs, obj)
			s.lifecycleLocked("instance-created", e.url(), project)
			return nil, nil
		}}))
}

package rest

import (
	"io"
	"net/http"
)

// BackupImport is the upload of a backup tarball (as a backup's export
// gives it) that the server turns into a new instance or custom volume.
type BackupImport struct {
	// File is the tarball, streamed as the request body; Size is its
	// length in bytes (sent as Content-Length), or -1 when unknown.
	File io.Reader
	Size int64
	// Name, when set, replaces the name recorded in the backup (API
	// extension backup_override_name).
	Name string
	// Pool, when set, is the storage pool of a new instance (API
	// extension container_backup_override_pool).
	Pool string
	// Label names the transfer for progress reports.
	Label string
}

// InstanceBackupImportRequest builds POST /1.0/instances with a backup as
// the body: the answer is the operation that restores it.
func InstanceBackupImportRequest(b BackupImport) *Request {
	return backupImportRequest(Path("instances"), b)
}

// VolumeBackupImportRequest builds POST
// /1.0/storage-pools/<pool>/volumes/custom with a custom volume's backup as
// the body.
func VolumeBackupImportRequest(pool string, b BackupImport) *Request {
	return backupImportRequest(Path("storage-pools", pool, "volumes", "custom"), b)
}

// backupImportRequest is where the backup import headers are chosen. They
// are written with LXD's names; Raw sends Incus Incus's (X-Incus-name,
// X-Incus-pool), as Incus ignores the old ones here.
func backupImportRequest(path string, b BackupImport) *Request {
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	if b.Name != "" {
		h.Set("X-LXD-name", b.Name)
	}
	if b.Pool != "" {
		h.Set("X-LXD-pool", b.Pool)
	}
	var body io.Reader = b.File
	if b.Size >= 0 {
		body = &sizedReader{Reader: b.File, size: b.Size}
	}
	return &Request{Method: "POST", Path: path, Header: h, Body: body, NoTimeout: true, Label: b.Label}
}

// sizedReader tells Raw the length of a body that is not in memory (a host
// file), as bytes.Reader's Len does for one that is: the request then
// carries a Content-Length, and progress reports a total.
type sizedReader struct {
	io.Reader
	size int64
}

func (r *sizedReader) Len() int { return int(r.size) }

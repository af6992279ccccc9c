package lxdmod_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
	"github.com/lxdstar/lxdstar/internal/testfiles"
)

// backupExtensions are the API extensions backups, restores and the
// console need; each case below takes one away.
var backupExtensions = []string{"container_backup", "custom_volume_backup", "backup_compression_algorithm",
	"backup_override_name", "container_backup_override_pool", "console"}

// Every backup, restore and console call refuses to work on a server
// without its API extension: LXDAPIExtensionNotAvailable naming the
// method and the extension, and nothing sent.
func TestBackupsAndConsoleNeedTheirExtensions(t *testing.T) {
	cases := []struct {
		ext   string
		calls []string
	}{
		{"container_backup", []string{`inst.backups.all()`, `inst.backups.get("b")`, `inst.backups.exists("b")`,
			`inst.backups.create("b")`, `inst.backups.create()`, `c.instances.create_from_backup(PATH)`,
			`c.containers.create_from_backup(PATH, name="x")`}},
		{"custom_volume_backup", []string{`vol.backups.all()`, `vol.backups.get("b")`, `vol.backups.exists("b")`,
			`vol.backups.create("b")`, `pool.volumes.create_from_backup(PATH)`}},
		{"backup_compression_algorithm", []string{`inst.backups.create("b", compression_algorithm="xz")`,
			`vol.backups.create(compression_algorithm="none")`}},
		{"backup_override_name", []string{`c.instances.create_from_backup(PATH, name="x")`,
			`pool.volumes.create_from_backup(PATH, "x")`}},
		{"container_backup_override_pool", []string{`c.instances.create_from_backup(PATH, pool="default")`}},
		{"console", []string{`inst.console_log()`, `inst.clear_console_log()`, `inst.raw_console()`}},
	}
	path := filepath.Join(t.TempDir(), "b.tar.gz")
	require.NoError(t, os.WriteFile(path, []byte("a backup"), 0o644))
	for _, tc := range cases {
		t.Run(tc.ext, func(t *testing.T) {
			var exts []string
			for _, e := range backupExtensions {
				if e != tc.ext {
					exts = append(exts, e)
				}
			}
			s := newScript(t, fakelxd.Config{Extensions: exts})
			s.f.AddInstance("c1", nil)
			s.f.AddVolume("default", "custom", "v1", nil)
			s.run(fmt.Sprintf(`
				PATH = %q
				inst = c.instances.get("c1")
				pool = c.storage_pools.get("default")
				vol = pool.volumes.get("custom", "v1")
			`, path))
			for _, call := range tc.calls {
				before := s.mark()
				err := s.fail(call)
				assert.Empty(t, s.requests(before), "%s was refused but sent requests", call)
				msg := err.Error()
				assert.Contains(t, msg, "LXDAPIExtensionNotAvailable: ", call)
				assert.Contains(t, msg, `lacks the API extension "`+tc.ext+`"`, call)
				method := call[:strings.IndexByte(call, '(')]
				assert.Contains(t, msg, method[strings.LastIndexByte(method, '.')+1:]+":", "%s: the error names the method", call)
			}
		})
	}
}

// A backup made with wait=False is the Backup with its operation pending,
// and what comes after it on the backup waits for it; the export restores
// under another name; LXD's refusals come back explained.
func TestBackupRoundTripOnTheFake(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", fakelxd.Object{"description": "original"})
	dir := t.TempDir()
	s.run(fmt.Sprintf(`
		PATH = %q
		inst = c.instances.get("c1")
		release = hold("POST /1.0/instances/c1/backups")
		b = inst.backups.create("b1", instance_only=True)
		assert_eq(type(b), "Backup")
		assert_eq(b.operation != None, True)
		release()
		b.export_to(PATH)
		assert_eq(b.operation, None)
		assert_eq(b.instance_only, True)
		assert_eq(b.expires_at, None)
		c2 = c.instances.create_from_backup(PATH, name="c2", pool="default", wait=True)
		assert_eq(c2.description, "original")
		op = c.instances.create_from_backup(PATH)
		assert_eq(type(op), "Operation")
		r = catch(op.wait)
		b.expires_at = "2030-01-01T00:00:00Z"
		s = catch(b.save)
		picked = inst.backups.create(wait=True)
	`, filepath.Join(dir, "b.backup")))
	assert.Equal(t, fmt.Sprintf(`restoring backup %s on LXD 5.0.2 at %s: Create instance from backup: Cannot restore volume, already exists on target`,
		filepath.Join(dir, "b.backup"), s.f.Endpoint()), s.str("r.error.message"))
	assert.Equal(t, `backup "b1" of instance "c1": not implemented: LXD 5.0.2 at `+s.f.Endpoint()+
		` cannot change a backup once it is made; nothing was saved (give expires_at to backups.create instead)`, s.str("s.error.message"))
	assert.Equal(t, starlark.True, s.value(`r.error.is_a("LXDAPIException")`))
	assert.Equal(t, "LXDAPIException", s.str("s.error.kind"))
	assert.Equal(t, "backup1", s.str("picked.name"))
	assert.Equal(t, []string{"b.backup"}, testfiles.Names(t, dir))
	obj, ok := s.f.Get("/1.0/instances/c2")
	require.True(t, ok)
	assert.Equal(t, "original", obj["description"])
}

// Backups stream both ways: exporting or restoring a 128 MiB backup
// allocates a small fraction of that (a buffered transfer would allocate
// all of it), and the upload says its length.
func TestBackupTransfersStream(t *testing.T) {
	const size = 128 << 20
	s := withInstances(t, "c1")
	s.f.Add("/1.0/instances/c1/backups/big", fakelxd.Object{"name": "big"})
	s.f.Intercept("GET /1.0/instances/c1/backups/big/export", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", fmt.Sprint(size))
		chunk := make([]byte, 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	var received, declared int64
	s.f.Intercept("POST /1.0/instances", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		declared = r.ContentLength
		received, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"type":"error","error":"received","error_code":400}`)
	}))
	dir := t.TempDir()
	exported := filepath.Join(dir, "big.tar")
	s.run(fmt.Sprintf("b = c.instances.get(\"c1\").backups.get(\"big\")\nPATH = %q", exported))

	allocated := func(src string) uint64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := s.exec(src)
		runtime.ReadMemStats(&after)
		if err != nil && !strings.Contains(err.Error(), "received") {
			t.Fatalf("%s: %v", src, err)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	n := allocated("b.export_to(PATH)")
	fi, err := os.Stat(exported)
	require.NoError(t, err)
	assert.Equal(t, int64(size), fi.Size())
	assert.Less(t, n, uint64(size/8), "export_to allocated %d bytes for a %d-byte backup", n, size)

	n = allocated("c.instances.create_from_backup(PATH, name=\"c2\")")
	assert.Equal(t, int64(size), received)
	assert.Equal(t, int64(size), declared, "Content-Length")
	assert.Less(t, n, uint64(size/8), "create_from_backup allocated %d bytes for a %d-byte backup", n, size)
}

package tests

// Backups of instances and custom volumes, their export to host files and
// restores on the same and on other servers, against the real daemons.
// Effects are read back through the raw REST client, exported files are
// compared byte for byte with what the server serves.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/testfiles"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// rawBytes GETs path from the server and returns the body (a file answer).
func rawBytes(t testing.TB, c *rest.Client, path string, q url.Values) []byte {
	t.Helper()
	resp, cancel, err := c.Raw(context.Background(), &rest.Request{Method: "GET", Path: path, Query: q, NoTimeout: true})
	require.NoError(t, err, path)
	defer cancel()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err, path)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, body)
	return body
}

// serverNames lists the names in a collection (recursion=0), sorted.
func serverNames(t testing.TB, c *rest.Client, path string) []string {
	t.Helper()
	resp, err := c.Do(context.Background(), &rest.Request{Method: "GET", Path: path})
	require.NoError(t, err, path)
	var urls []string
	require.NoError(t, resp.Decode(&urls))
	names := make([]string, len(urls))
	for i, u := range urls {
		names[i], _ = url.PathUnescape(u[strings.LastIndexByte(u, '/')+1:])
	}
	sort.Strings(names)
	return names
}

// instanceFile reads a file of an instance through the raw REST client.
func instanceFile(t testing.TB, c *rest.Client, inst, path string) []byte {
	t.Helper()
	return rawBytes(t, c, rest.Path("instances", inst, "files"), url.Values{"path": {path}})
}

func TestBackupLifecycle(t *testing.T) { parallelOnEachServer(t, testBackupLifecycle) }

// testBackupLifecycle: create in both wait modes, with and without a name,
// with options; all/get/exists; rename; save; delete. Each effect is read
// back from the server.
func testBackupLifecycle(t *testing.T, srv server) {
	socket := srv.Socket
	name := newInstance(t, socket, "bk", false)
	c := restClient(t, socket)
	backups := rest.Path("instances", name, "backups")
	out := newScript(t, socket).with("NAME", starlark.String(name)).mustRun(`
c = lxd.Client()
inst = c.instances.get(NAME)
b1 = inst.backups.create("b1", wait=True)
print("b1", type(b1), b1.name, b1.instance_only, b1.optimized_storage, b1.expires_at, b1.operation)
b2 = inst.backups.create("b2", instance_only=True, expires_at="2031-02-03T04:05:06Z")
print("b2", b2.name, b2.operation != None)
b2.operation.wait()
print("b2 done", b2.operation, b2.instance_only, b2.expires_at)
picked = inst.backups.create(wait=True)
print("picked", type(picked), picked.name)
op = inst.backups.create()
print("op", type(op))
later = op.wait()
print("later", type(later), later.name != picked.name)
print("all", sorted([b.name for b in inst.backups.all()]))
print("get", inst.backups.get("b2").instance_only, inst.backups.exists("b2"), inst.backups.exists("nope"))
r = catch(inst.backups.get, "nope")
print("missing", r.error.kind)
b1.rename("b1-renamed", wait=True)
print("renamed", b1.name, inst.backups.exists("b1"), inst.backups.exists("b1-renamed"))
b2.expires_at = "2040-01-01T00:00:00Z"
print("dirty", b2.dirty)
r = catch(b2.save)
print("save", r.error.kind, r.error.status_code)
print("save message", r.error.message)
print("still dirty", b2.dirty)
b2.rollback()
print("rolled back", b2.expires_at, b2.dirty)
picked.delete(wait=True)
op = later.delete()
if op != None:
    op.wait()
print("after delete", sorted([b.name for b in inst.backups.all()]))
`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 16, out)
	assert.Equal(t, "b1 Backup b1 False False None None", lines[0])
	assert.Equal(t, "b2 b2 True", lines[1])
	assert.Equal(t, "b2 done None True 2031-02-03T04:05:06Z", lines[2])
	assert.Regexp(t, `^picked Backup backup\d+$`, lines[3])
	assert.Equal(t, "op Operation", lines[4])
	assert.Equal(t, "later Backup True", lines[5])
	picked := strings.TrimPrefix(lines[3], "picked Backup ")
	assert.Contains(t, lines[6], `"b1", "b2", "`+picked+`"`)
	assert.Equal(t, "get True True False", lines[7])
	assert.Equal(t, "missing NotFound", lines[8])
	assert.Equal(t, "renamed b1-renamed False True", lines[9])
	assert.Equal(t, "dirty True", lines[10])
	assert.Equal(t, "save LXDAPIException 501", lines[11])
	assert.Contains(t, lines[12], `backup "b2" of instance "`+name+`": not implemented: `)
	assert.Contains(t, lines[12], "cannot change a backup once it is made")
	assert.Equal(t, "still dirty True", lines[13])
	assert.Equal(t, "rolled back 2031-02-03T04:05:06Z False", lines[14])
	assert.Equal(t, `after delete ["b1-renamed", "b2"]`, lines[15])

	// What the server holds.
	assert.Equal(t, []string{"b1-renamed", "b2"}, serverNames(t, c, backups))
	b2 := serverObject(t, c, backups+"/b2")
	assert.Equal(t, true, b2["instance_only"])
	assert.Equal(t, false, b2["optimized_storage"])
	expires, err := time.Parse(time.RFC3339, b2["expires_at"].(string))
	require.NoError(t, err)
	assert.True(t, expires.Equal(time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC)), "expires_at %v", b2["expires_at"])
	assert.Equal(t, false, serverObject(t, c, backups+"/b1-renamed")["instance_only"])
}

func TestBackupExportRestore(t *testing.T) { parallelOnEachServer(t, testBackupExportRestore) }

// testBackupExportRestore: export_to writes exactly the server's export;
// create_from_backup restores it under a new name (the Instance in both
// wait modes) and under the backup's own name (wait=False: the
// Operation); the restored instances start and hold the file written
// before the backup.
func testBackupExportRestore(t *testing.T, srv server) {
	socket := srv.Socket
	name := uniqueName("bkx")
	copy1, copy2 := name+"-r1", name+"-r2"
	createInstance(t, socket, name, true)
	cleanupInstance(t, socket, copy1)
	cleanupInstance(t, socket, copy2)
	c := restClient(t, socket)
	dir := t.TempDir()
	path := filepath.Join(dir, "b.tar.gz")
	marker := "written before the backup " + name
	out := newScript(t, socket).with("NAME", starlark.String(name)).with("PATH", starlark.String(path)).
		with("MARKER", starlark.String(marker)).mustRun(`
c = lxd.Client()
inst = c.instances.get(NAME)
inst.files.put("/root/marker", MARKER)
b = inst.backups.create("full", wait=True)
print(b.export_to(PATH))
r1 = c.instances.create_from_backup(PATH, name=NAME + "-r1", wait=True)
print(type(r1), r1.name, r1.status)
r2 = c.instances.create_from_backup(PATH, name=NAME + "-r2")
print(type(r2), r2.name, r2.operation != None)
r2.start(wait=True)
print(r2.status)
`)
	assert.Equal(t, fmt.Sprintf("None\nInstance %s Stopped\nInstance %s True\nRunning\n", copy1, copy2), out)
	exported, err := os.ReadFile(path)
	require.NoError(t, err)
	served := rawBytes(t, c, rest.Path("instances", name, "backups", "full", "export"), nil)
	assert.True(t, bytes.Equal(served, exported), "export_to wrote %d bytes, the server serves %d", len(exported), len(served))
	assert.Equal(t, []string{"b.tar.gz"}, testfiles.Names(t, dir), "no temporary file left")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm())

	assert.Equal(t, "Running", serverObject(t, c, rest.Path("instances", copy2))["status"])
	assert.Equal(t, marker, string(instanceFile(t, c, copy2, "/root/marker")))
	assert.Equal(t, "Stopped", serverObject(t, c, rest.Path("instances", copy1))["status"])

	// Under the backup's own name: the original must go first.
	deleteInstance(c, name)
	require.False(t, serverExists(t, c, rest.Path("instances", name)))
	out = newScript(t, socket).with("NAME", starlark.String(name)).with("PATH", starlark.String(path)).mustRun(`
c = lxd.Client()
op = c.instances.create_from_backup(PATH)
print(type(op))
inst = op.wait()
print(type(inst), inst.name == NAME)
inst.start(wait=True)
print(inst.status)
`)
	assert.Equal(t, "Operation\nInstance True\nRunning\n", out)
	assert.Equal(t, marker, string(instanceFile(t, c, name, "/root/marker")))
}

// A backup exported from LXD restores on another LXD and on Incus; Incus's
// LXD 5.0 refuses, saying so.
func TestBackupRestoresOnAnotherServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, from, to string }{
		{"lxd-to-second", mainSocket, secondSocket},
		{"lxd-to-incus", mainSocket, incusSocket},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testBackupRestoresOnAnotherServer(t, tc.from, tc.to)
		})
	}
	t.Run("incus-to-lxd", func(t *testing.T) {
		t.Parallel()
		lxd := serverObject(t, restClient(t, mainSocket), "/1.0")["environment"].(map[string]any)
		testBackupRefusedByAnotherServer(t, incusSocket, mainSocket, "LXD "+lxd["server_version"].(string),
			"Unknown configuration key: volatile.uuid.generation")
	})
}

// testBackupRestoresOnAnotherServer exports a backup from one server and
// restores it on another: the instance is there, starts, and holds the
// file written before the backup.
func testBackupRestoresOnAnotherServer(t *testing.T, from, to string) {
	name := uniqueName("bkmv")
	restored := name + "-there"
	createInstance(t, from, name, true)
	cleanupInstance(t, to, restored)
	path := filepath.Join(t.TempDir(), "b.tar.gz")
	marker := "from " + from
	out := newScript(t, from).with("NAME", starlark.String(name)).with("PATH", starlark.String(path)).
		with("MARKER", starlark.String(marker)).with("TO", starlark.String(to)).mustRun(`
c = lxd.Client()
inst = c.instances.get(NAME)
inst.files.put("/root/marker", MARKER)
inst.backups.create("b", wait=True).export_to(PATH)
other = lxd.Client(TO)
there = other.instances.create_from_backup(PATH, name=NAME + "-there", wait=True)
there.start(wait=True)
print(there.name, there.status)
`)
	assert.Equal(t, restored+" Running\n", out)
	dst := restClient(t, to)
	assert.Equal(t, "Running", serverObject(t, dst, rest.Path("instances", restored))["status"])
	assert.Equal(t, marker, string(instanceFile(t, dst, restored, "/root/marker")))
}

func TestBackupExportAtomic(t *testing.T) { parallelOnEachServer(t, testBackupExportAtomic) }

// testBackupExportAtomic: an export whose connection breaks half way, and
// one cancelled half way (Ctrl-C), leave no file, half-written or
// temporary, and an existing file at the path untouched.
func testBackupExportAtomic(t *testing.T, srv server) {
	socket := srv.Socket
	name := newInstance(t, socket, "bkat", false)
	c := restClient(t, socket)
	require.NoError(t, sendAndWait(c, &rest.Request{Method: "POST", Path: rest.Path("instances", name, "backups"), Body: map[string]any{"name": "b"}}, time.Minute))
	exportPath := rest.Path("instances", name, "backups", "b", "export")
	full := rawBytes(t, c, exportPath, nil)
	require.Greater(t, len(full), 64<<10, "a backup big enough to cut")

	// The proxy passes everything through but the export's body, of which
	// it sends the first half and then breaks the connection (cut), or
	// stalls until the client gives up (stall).
	var stall atomic.Bool
	proxy := unixProxy(t, socket, func(rp *httputil.ReverseProxy) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != exportPath {
				rp.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", fmt.Sprint(len(full)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(full[:len(full)/2])
			w.(http.Flusher).Flush()
			if stall.Load() {
				<-r.Context().Done()
				return
			}
			panic(http.ErrAbortHandler) // cut the connection
		})
	})
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.tar.gz")
	require.NoError(t, os.WriteFile(existing, []byte("an older export"), 0o600))
	for _, m := range []string{"cut", "stall"} {
		stall.Store(m == "stall")
		for _, target := range []string{filepath.Join(dir, "new.tar.gz"), existing} {
			s := newScript(t, proxy).with("NAME", starlark.String(name)).with("PATH", starlark.String(target))
			if m == "stall" {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(2*time.Second, cancel) // Ctrl-C
				s.ctx = ctx
			}
			_, err := s.run(`
c = lxd.Client()
c.instances.get(NAME).backups.get("b").export_to(PATH)
`)
			require.Error(t, err, "%s into %s", m, target)
			if m == "cut" {
				assert.Contains(t, err.Error(), "ClientConnectionFailed: exporting backup \"b\" of instance \""+name+"\"", "%s: %v", m, err)
			} else {
				assert.Contains(t, err.Error(), "Cancelled", "%s: %v", m, err)
			}
			assert.Equal(t, []string{"existing.tar.gz"}, testfiles.Names(t, dir), "%s into %s: files left", m, target)
			data, err := os.ReadFile(existing)
			require.NoError(t, err)
			assert.Equal(t, "an older export", string(data), "%s: the existing file changed", m)
		}
	}
}

// Volume backups, restored on the same server and on the other kind of
// server (each accepts the other's).
func TestVolumeBackups(t *testing.T) {
	t.Parallel()
	eachServer(t, func(t *testing.T, srv server) {
		other := incusSocket
		if srv.Name == "incus" {
			other = mainSocket
		}
		testVolumeBackups(t, srv.Socket, other)
	})
}

// testVolumeBackups: a custom volume's backups (create in both wait modes,
// all/get/exists, rename, delete), export_to, and restores on the same
// server and on another.
func testVolumeBackups(t *testing.T, socket, other string) {
	vol := uniqueName("vbk")
	c, o := restClient(t, socket), restClient(t, other)
	volPath := rest.Path("storage-pools", "default", "volumes", "custom", vol)
	for _, p := range []string{volPath, volPath + "-copy", volPath + "-back"} {
		cleanupPath(t, c, p)
	}
	cleanupPath(t, o, volPath+"-there")
	_, err := c.Do(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("storage-pools", "default", "volumes", "custom"),
		Body: map[string]any{"name": vol, "type": "custom", "config": map[string]any{"user.tag": "v1"}}})
	require.NoError(t, err)
	// A file in the volume, written where the dir driver keeps it.
	marker := "in the volume " + vol
	require.NoError(t, os.WriteFile(filepath.Join(customVolumeDir(t, c, vol), "marker"), []byte(marker), 0o644))
	path := filepath.Join(t.TempDir(), "v.tar.gz")
	out := newScript(t, socket).with("VOL", starlark.String(vol)).with("PATH", starlark.String(path)).
		with("OTHER", starlark.String(other)).mustRun(`
c = lxd.Client()
pool = c.storage_pools.get("default")
vol = pool.volumes.get("custom", VOL)
b = vol.backups.create("vb1", volume_only=True, wait=True)
print(type(b), b.name, b.volume_only, b.optimized_storage)
b2 = vol.backups.create("vb2")
b2.operation.wait()
op = vol.backups.create()
picked = op.wait()
print(type(op), type(picked))
print(sorted([x.name for x in vol.backups.all()]) == sorted(["vb1", "vb2", picked.name]), vol.backups.exists("vb2"), vol.backups.exists("nope"))
b2.rename("vb2-renamed", wait=True)
print(b2.name, vol.backups.get("vb2-renamed").name)
picked.delete(wait=True)
b.export_to(PATH)
copy = pool.volumes.create_from_backup(PATH, name=VOL + "-copy", wait=True)
print(type(copy), copy.name, copy.type, copy.config.get("user.tag"))
there = lxd.Client(OTHER).storage_pools.get("default").volumes.create_from_backup(PATH, VOL + "-there")
print(there.name, there.operation != None)
there.operation.wait()
print(there.config.get("user.tag"))
vol.rename(VOL + "-back", wait=True)
op = pool.volumes.create_from_backup(PATH)
print(type(op), op.wait().name == VOL)
`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 8, out)
	assert.Equal(t, "StorageVolumeBackup vb1 True False", lines[0])
	assert.Equal(t, "Operation StorageVolumeBackup", lines[1])
	assert.Equal(t, "True True False", lines[2])
	assert.Equal(t, "vb2-renamed vb2-renamed", lines[3])
	assert.Equal(t, fmt.Sprintf("StorageVolume %s-copy custom v1", vol), lines[4])
	assert.Equal(t, vol+"-there True", lines[5])
	assert.Equal(t, "v1", lines[6])
	assert.Equal(t, "Operation True", lines[7])

	backups := volPath + "-back/backups"
	assert.Equal(t, []string{"vb1", "vb2-renamed"}, serverNames(t, c, backups))
	assert.Equal(t, true, serverObject(t, c, backups+"/vb1")["volume_only"])
	exported, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(rawBytes(t, c, backups+"/vb1/export", nil), exported), "export_to wrote other bytes than the server serves")
	for _, p := range []struct {
		c    *rest.Client
		name string
	}{{c, vol + "-copy"}, {o, vol + "-there"}, {c, vol}} {
		cfg := serverObject(t, p.c, rest.Path("storage-pools", "default", "volumes", "custom", p.name))["config"].(map[string]any)
		assert.Equal(t, "v1", cfg["user.tag"], p.name)
		data, err := os.ReadFile(filepath.Join(customVolumeDir(t, p.c, p.name), "marker"))
		require.NoError(t, err, p.name)
		assert.Equal(t, marker, string(data), p.name)
	}
}

// customVolumeDir is where the server's dir pool "default" keeps a custom
// volume of the default project.
func customVolumeDir(t testing.TB, c *rest.Client, vol string) string {
	t.Helper()
	pool := serverObject(t, c, rest.Path("storage-pools", "default"))
	require.Equal(t, "dir", pool["driver"], "the test bed's pools are dir pools")
	source, _ := pool["config"].(map[string]any)["source"].(string)
	require.NotEmpty(t, source)
	return filepath.Join(source, "custom", "default_"+vol)
}

// testBackupRefusedByAnotherServer restores a backup on a server that
// refuses it (LXD 5.0.2 refuses Incus 6.0's: "Unknown configuration key:
// volatile.uuid.generation"): the error says which server refused and
// why, and no instance appears there.
func testBackupRefusedByAnotherServer(t *testing.T, from, to, wantServer, wantReason string) {
	name := newInstance(t, from, "bkno", false)
	cleanupInstance(t, to, name+"-there")
	path := filepath.Join(t.TempDir(), "b.tar.gz")
	out := newScript(t, from).with("NAME", starlark.String(name)).with("PATH", starlark.String(path)).
		with("TO", starlark.String(to)).mustRun(`
c = lxd.Client()
c.instances.get(NAME).backups.create("b", wait=True).export_to(PATH)
for wait in [True, False]:
    def restore():
        r = lxd.Client(TO).instances.create_from_backup(PATH, name=NAME + "-there", wait=wait)
        return r.operation.wait() if not wait else r
    r = catch(restore)
    print(r.error.kind, r.error.message)
`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	for _, line := range lines {
		assert.True(t, strings.HasPrefix(line, "LXDAPIException "), line)
		assert.Contains(t, line, fmt.Sprintf(`instance "%s-there": restoring backup %s on %s at %s: `, name, path, wantServer, to))
		assert.Contains(t, line, wantReason)
	}
	assert.False(t, serverExists(t, restClient(t, to), rest.Path("instances", name+"-there")))
}

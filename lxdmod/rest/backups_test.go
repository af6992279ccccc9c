package rest

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

// A backup upload streams a host file with its length and the import
// headers; without a name or pool, no such header goes out.
func TestBackupImportRequest(t *testing.T) {
	f, c := newFake(t, Config{})
	path := filepath.Join(t.TempDir(), "b.tar.gz")
	require.NoError(t, os.WriteFile(path, []byte("a backup file"), 0o644))
	var got []*http.Request
	var bodies []string
	f.Intercept("POST /1.0/**", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		got, bodies = append(got, r), append(bodies, string(data))
		fakelxd.Reply(400, `{"type":"error","error":"seen","error_code":400}`).ServeHTTP(w, r)
	}))
	for _, req := range []*Request{
		InstanceBackupImportRequest(BackupImport{Size: 13, Name: "c2", Pool: "fast"}),
		VolumeBackupImportRequest("default", BackupImport{Size: 13}),
	} {
		fh, err := os.Open(path)
		require.NoError(t, err)
		req.Body.(*sizedReader).Reader = fh
		_, err = c.Do(context.Background(), req)
		fh.Close()
		assert.Equal(t, "LXDAPIException: seen", err.Error())
	}
	require.Len(t, got, 2)
	assert.Equal(t, "/1.0/instances", got[0].URL.Path)
	assert.Equal(t, "/1.0/storage-pools/default/volumes/custom", got[1].URL.Path)
	for i, r := range got {
		assert.Equal(t, int64(13), r.ContentLength, "request %d", i)
		assert.Equal(t, "application/octet-stream", r.Header.Get("Content-Type"))
		assert.Equal(t, "a backup file", bodies[i])
	}
	assert.Equal(t, "c2", got[0].Header.Get("X-LXD-name"))
	assert.Equal(t, "fast", got[0].Header.Get("X-LXD-pool"))
	assert.Empty(t, got[1].Header.Values("X-LXD-name"))
	assert.Empty(t, got[1].Header.Values("X-LXD-pool"))
}

// Download hands the body over as it comes; an error answer keeps LXD's
// kind and message, a body cut short is ClientConnectionFailed, a stall
// ends with the caller's context, and neither the client's timeout nor a
// slow consumer cuts a long download.
func TestDownload(t *testing.T) {
	f, c := newFake(t, Config{Timeout: 200 * time.Millisecond})
	// The newest intercept wins: these serve the reads below in turn.
	f.Intercept("GET /1.0/instances/c1/backups/b/export", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = io.WriteString(w, "the whole file")
	}))
	f.InterceptN("GET /1.0/instances/c1/backups/b/export", 1, fakelxd.Stall("half"))
	f.InterceptN("GET /1.0/instances/c1/backups/b/export", 1,
		fakelxd.Cut("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\nhalf"))
	f.InterceptN("GET /1.0/instances/c1/backups/b/export", 1, fakelxd.Reply(404, `{"type":"error","error":"Instance backup not found","error_code":404}`))
	req := &Request{Method: "GET", Path: "/1.0/instances/c1/backups/b/export"}
	read := func(ctx context.Context) (string, error) {
		var b strings.Builder
		err := c.Download(ctx, req, "exporting b", func(r io.Reader) error {
			time.Sleep(300 * time.Millisecond) // longer than the client's timeout
			_, err := io.Copy(&b, r)
			return err
		})
		return b.String(), err
	}
	_, err := read(context.Background())
	assert.Equal(t, "NotFound: exporting b: Instance backup not found", err.Error())
	_, err = read(context.Background())
	assert.Equal(t, KindConnection, kindOf(err), "%v", err)
	assert.True(t, strings.HasPrefix(err.Error(), "ClientConnectionFailed: exporting b: "), err.Error())
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = read(ctx)
	assert.Equal(t, KindTimeout, kindOf(err), "%v", err)
	got, err := read(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "the whole file", got)
}

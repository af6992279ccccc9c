package rest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseServerInfo(t *testing.T) {
	cases := []struct {
		name, meta string
		want       ServerInfo
	}{
		{"trusted LXD", `{"auth":"trusted","api_extensions":["restrict_devlxd"],"environment":{"server":"lxd","server_version":"5.0.2"}}`,
			ServerInfo{Kind: ServerLXD, Version: "5.0.2", Auth: "trusted", Extensions: []string{"restrict_devlxd"}}},
		{"trusted Incus", `{"auth":"trusted","environment":{"server":"incus","server_version":"6.0.4","server_clustered":true}}`,
			ServerInfo{Kind: ServerIncus, Version: "6.0.4", Auth: "trusted", Clustered: true}},
		// What an untrusted client sees (measured on LXD 5.0.2 and Incus 6.0.4).
		{"untrusted Incus", `{"auth":"untrusted","api_extensions":["etag","restrict_dev_incus","dev_incus_events"]}`,
			ServerInfo{Kind: ServerIncus, Auth: "untrusted", Extensions: []string{"etag", "restrict_dev_incus", "dev_incus_events"}}},
		{"untrusted LXD", `{"auth":"untrusted","api_extensions":["etag","restrict_devlxd","devlxd_events"]}`,
			ServerInfo{Kind: ServerLXD, Auth: "untrusted", Extensions: []string{"etag", "restrict_devlxd", "devlxd_events"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseServerInfo(json.RawMessage(tc.meta))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	_, err := ParseServerInfo(json.RawMessage(`[1]`))
	assert.Equal(t, KindConnection, kindOf(err))
}

// fakeServer answers GET /1.0 as server kind and records the headers of
// every other request; other requests get an empty sync answer.
type fakeServer struct {
	kind string
	mu   sync.Mutex
	seen []http.Header
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/1.0" {
		_, _ = w.Write([]byte(`{"type":"sync","status_code":200,"metadata":{"auth":"trusted","environment":{"server":"` + f.kind + `"}}}`))
		return
	}
	f.mu.Lock()
	f.seen = append(f.seen, r.Header.Clone())
	f.mu.Unlock()
	_, _ = w.Write([]byte(`{"type":"sync","status_code":200,"metadata":{}}`))
}

func serverHeaderNames(h http.Header) []string {
	var names []string
	for k := range h {
		if strings.HasPrefix(k, lxdHeaderPrefix) || strings.HasPrefix(k, incusHeaderPrefix) {
			names = append(names, k)
		}
	}
	return names
}

// Incus ignores the X-LXD-* names of image-upload and backup-import
// headers: each server gets its own names, learnt from one GET /1.0.
func TestHeadersNamedForTheServer(t *testing.T) {
	for _, tc := range []struct{ kind, prefix string }{{ServerLXD, "X-Lxd-"}, {ServerIncus, "X-Incus-"}} {
		t.Run(tc.kind, func(t *testing.T) {
			f := &fakeServer{kind: tc.kind}
			c := intercepting(t, f.serve, Config{})
			ctx := context.Background()
			require.NoError(t, c.PushFile(ctx, "c1", "/f", FilePush{Type: "file", Mode: 0o640, UID: 1, GID: 2, Content: strings.NewReader("x")}))
			up := ImageUploadRequest(ImageUpload{Rootfs: strings.NewReader("img"), Public: true, Filename: "a.tar",
				Fingerprint: "ab", Properties: map[string]string{"os": "busybox", "b": "1 2"}})
			_, err := c.Do(ctx, up)
			require.NoError(t, err)
			kind, err := c.ServerKind(ctx)
			require.NoError(t, err)
			assert.Equal(t, tc.kind, kind)

			require.Len(t, f.seen, 2)
			file, img := f.seen[0], f.seen[1]
			assert.ElementsMatch(t, []string{tc.prefix + "Type", tc.prefix + "Mode", tc.prefix + "Uid", tc.prefix + "Gid", tc.prefix + "Write"}, serverHeaderNames(file))
			assert.Equal(t, "0640", file.Get(tc.prefix+"mode"))
			assert.Equal(t, "overwrite", file.Get(tc.prefix+"write"))
			assert.ElementsMatch(t, []string{tc.prefix + "Public", tc.prefix + "Filename", tc.prefix + "Fingerprint", tc.prefix + "Properties"}, serverHeaderNames(img))
			assert.Equal(t, "1", img.Get(tc.prefix+"public"))
			assert.Equal(t, []string{"b=1+2", "os=busybox"}, img.Values(tc.prefix+"properties"), "one key=value per header, URL-encoded")
		})
	}
}

// A file answer is read whichever names the server used.
func TestFileHeadersReadFromEitherServer(t *testing.T) {
	for _, prefix := range []string{"X-LXD-", "X-Incus-"} {
		c := intercepting(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set(prefix+"type", "file")
			w.Header().Set(prefix+"mode", "0750")
			w.Header().Set(prefix+"uid", "1000")
			w.Header().Set(prefix+"gid", "100")
			_, _ = w.Write([]byte("data"))
		}, Config{})
		info, err := c.StatFile(context.Background(), "c1", "/f", false)
		require.NoError(t, err, prefix)
		assert.Equal(t, FileInfo{Type: "file", Mode: 0o750, UID: 1000, GID: 100}, info, prefix)
	}
	c := replying(t, "data", 200, Config{})
	_, err := c.StatFile(context.Background(), "c1", "/f", false)
	assert.ErrorContains(t, err, "no X-LXD-type or X-Incus-type header")
}

// Incus 6.0 answers a wait on an operation that outlived the wait's timeout,
// or that failed, with an error envelope under HTTP 200; the operation
// itself then tells which (measured on Incus 6.0.4).
func TestWaitOperationIncusErrorEnvelopes(t *testing.T) {
	var mu sync.Mutex
	waits := 0
	c := intercepting(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/wait"):
			waits++
			if waits == 1 {
				_, _ = w.Write([]byte(`{"type":"error","error_code":500,"error":"context deadline exceeded"}`))
				return
			}
			_, _ = w.Write([]byte(`{"type":"error","error_code":400,"error":"Command not found"}`))
		case waits == 1: // GET after the timed-out wait: still running
			_, _ = w.Write([]byte(`{"type":"sync","metadata":{"id":"op1","status":"Running","status_code":103}}`))
		default:
			_, _ = w.Write([]byte(`{"type":"sync","metadata":{"id":"op1","status":"Failure","status_code":400,"err":"Command not found","metadata":{"return":127}}}`))
		}
	}, Config{})
	op, err := c.WaitOperation(context.Background(), &Operation{ID: "op1", StatusCode: 103}, 0)
	assert.ErrorIs(t, err, ErrAPI)
	assert.ErrorContains(t, err, "Command not found")
	require.NotNil(t, op)
	assert.Equal(t, 400, op.StatusCode, "the final operation, read back")
	code, ok := exitCode(op)
	assert.True(t, ok)
	assert.Equal(t, 127, code)
	assert.Equal(t, 2, waits, "a wait that ran out is followed by another")
}

// Messages name the server as it is once the client knows it.
func TestMessagesNameIncus(t *testing.T) {
	f := &fakeServer{kind: ServerIncus}
	c := intercepting(t, f.serve, Config{})
	assert.Equal(t, "LXD", c.name(), "before GET /1.0: the API's name")
	_, err := c.Server(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "Incus", c.name())
	assert.Equal(t, "Incus", c.WithProject("p").name(), "copies share what was learnt")
}

// A client with a request timeout reports a refused connection as such,
// not as a cancellation (the timeout's context is released after the
// error is classified).
func TestTimeoutClientReportsConnectionFailure(t *testing.T) {
	c, err := New(Config{Endpoint: "/nonexistent/lxd.socket", Timeout: time.Minute})
	require.NoError(t, err)
	_, err = c.Server(context.Background())
	assert.Equal(t, KindConnection, kindOf(err), "%v", err)
	assert.ErrorContains(t, err, "cannot talk to LXD at /nonexistent/lxd.socket")
}

// intercepting is a client of the fake LXD (internal/fakelxd) whose every
// request h answers, for tests that shape the server's answers themselves.
func intercepting(t *testing.T, h http.HandlerFunc, cfg Config) *Client {
	f, c := newFake(t, cfg)
	f.Intercept("*", h)
	return c
}

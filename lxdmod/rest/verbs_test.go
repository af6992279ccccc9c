package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

func TestGetDecodesAndReturnsETag(t *testing.T) {
	f, c := newFake(t, Config{})
	ctx := context.Background()
	path := Path("profiles", "default")

	var p struct {
		Name string `json:"name"`
	}
	etag, err := c.Get(ctx, path, nil, &p)
	require.NoError(t, err)
	assert.Equal(t, "default", p.Name)
	assert.Equal(t, `"`+f.ETag(path)+`"`, etag, "the ETag header as sent")

	var raw json.RawMessage
	_, err = c.Get(ctx, Path("profiles"), url.Values{"recursion": {"1"}}, &raw)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"name":"default"`, "recursion=1 was sent: objects, not URLs")

	_, err = c.Get(ctx, Path("profiles", "nope"), nil, nil)
	assert.True(t, IsKind(err, KindNotFound), "%v", err)
	assert.True(t, IsKind(err, KindAPI), "NotFound is an API error too")
	assert.False(t, IsKind(err, KindConflict))
}

func TestPutWithETag(t *testing.T) {
	f, c := newFake(t, Config{})
	ctx := context.Background()
	path := Path("profiles", "default")
	etag, err := c.Get(ctx, path, nil, nil)
	require.NoError(t, err)

	op, err := c.Send(ctx, Put(path, map[string]any{"description": "one"}, etag))
	require.NoError(t, err)
	assert.Nil(t, op, "LXD changes profiles synchronously")
	got, _ := f.Get(path)
	assert.Equal(t, "one", got["description"])

	// The same ETag again: the profile changed since.
	_, err = c.Send(ctx, Put(path, map[string]any{"description": "two"}, etag))
	assert.True(t, IsStale(err), "%v", err)
	assert.True(t, IsKind(err, KindConflict), "%v", err)
	_, err = c.Send(ctx, Patch(path, map[string]any{"description": "two"}, etag))
	assert.True(t, IsStale(err), "%v", err)
	got, _ = f.Get(path)
	assert.Equal(t, "one", got["description"], "a stale write changes nothing")

	// No ETag: unconditional.
	_, err = c.Send(ctx, Patch(path, map[string]any{"description": "three"}, ""))
	require.NoError(t, err)
	got, _ = f.Get(path)
	assert.Equal(t, "three", got["description"])
	assert.False(t, IsStale(nil))
}

func TestSendReturnsTheOperation(t *testing.T) {
	f, c := newFake(t, Config{})
	ctx := context.Background()
	f.AddInstance("c1", fakelxd.Object{"status": "Stopped"})

	op, err := c.Send(ctx, Put(Path("instances", "c1", "state"), map[string]any{"action": "start"}, ""))
	require.NoError(t, err)
	require.NotNil(t, op, "starting an instance is an operation")
	final, err := c.WaitOperation(ctx, op, 0)
	require.NoError(t, err)
	assert.Equal(t, "Success", final.Status)

	require.NoError(t, c.SendAndWait(ctx, Put(Path("instances", "c1", "state"), map[string]any{"action": "stop"}, "")))
	got, _ := f.Get(Path("instances", "c1"))
	assert.Equal(t, "Stopped", got["status"], "stopped once SendAndWait returned")
	require.NoError(t, c.SendAndWait(ctx, Post(Path("instances", "c1"), map[string]any{"name": "c2"})))
	_, ok := f.Get(Path("instances", "c2"))
	assert.True(t, ok, "renamed once SendAndWait returned")

	require.NoError(t, c.SendAndWait(ctx, Delete(Path("profiles", "default"))))
	_, ok = f.Get(Path("profiles", "default"))
	assert.False(t, ok)
}

func TestCancelOperationAndServerWide(t *testing.T) {
	f, c := newFake(t, Config{Project: "p1"})
	ctx := context.Background()
	err := c.CancelOperation(ctx, "nonexistent")
	assert.True(t, IsKind(err, KindNotFound), "%v", err)
	_, err = c.ServerWide().Get(ctx, Path("projects", "default"), nil, nil)
	require.NoError(t, err)
	_, _ = c.Get(ctx, Path("profiles"), nil, nil)

	var sent []string
	for _, r := range f.Requests() {
		sent = append(sent, r.String())
	}
	assert.Contains(t, sent, "DELETE /1.0/operations/nonexistent", "no ?project= on operations")
	assert.Contains(t, sent, "GET /1.0/projects/default", "no ?project= server-wide")
	assert.Contains(t, sent, "GET /1.0/profiles?project=p1", "the client's project otherwise")
}

func TestIsKindWrapped(t *testing.T) {
	err := fmt.Errorf("doing it: %w", &Error{Kind: KindConflict, StatusCode: 412})
	assert.True(t, IsKind(err, KindConflict))
	assert.True(t, IsKind(err, KindAPI))
	assert.True(t, IsStale(err))
	assert.False(t, IsKind(err, KindNotFound))
	assert.False(t, IsKind(fmt.Errorf("plain"), KindAPI))
	assert.False(t, IsStale(&Error{Kind: KindConflict, StatusCode: 409}))
}

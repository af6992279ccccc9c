package lxdmod

// Fields loaded from a response are decoded when first read (see
// Model.fieldLocked): these tests pin that this changes nothing a script
// can see.

import (
	"testing"

	"github.com/lxdstar/lxdstar/internal/starjson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"
)

const lazyInstance = `{"name": "c1", "description": "d",
	"config": {"user.a": "1", "volatile.idmap.next": "[{\"Isuid\":true}]"},
	"devices": {"root": {"path": "/", "pool": "default", "type": "disk"}},
	"profiles": ["default"], "ephemeral": false, "architecture": "x86_64",
	"limits": {"n": 1.5e3, "big": 123456789012345678901234567890}}`

func lazyModel(t *testing.T, data string) *Model {
	t.Helper()
	fields, err := objectFields([]byte(data))
	require.NoError(t, err)
	m := newModel(instanceType, &Client{}, "")
	m.load(fields, "etag")
	return m
}

func TestLazyFieldsDecodeOnFirstRead(t *testing.T) {
	m := lazyModel(t, lazyInstance)
	assert.Empty(t, m.fields, "nothing decoded at load")
	assert.False(t, m.Dirty(), "unread fields are clean")
	cfg, err := m.Attr("config")
	require.NoError(t, err)
	assert.Equal(t, `{"user.a": "1", "volatile.idmap.next": "[{\"Isuid\":true}]"}`, cfg.String())
	again, _ := m.Attr("config")
	assert.Same(t, cfg.(*starlark.Dict), again.(*starlark.Dict), "decoded once")
	assert.False(t, m.Dirty(), "read but unchanged")
	require.NoError(t, cfg.(*starlark.Dict).SetKey(starlark.String("user.b"), starlark.String("2")))
	assert.True(t, m.Dirty(), "changed in place")
	lim, _ := m.Attr("limits")
	assert.Equal(t, `{"n": 1500.0, "big": 123456789012345678901234567890}`, lim.String())
	assert.Equal(t, []string{"name", "description", "config", "devices", "profiles", "ephemeral", "architecture", "limits"}, m.order)
}

func TestLazyFieldsSaveAsTheServerHasThem(t *testing.T) {
	m := lazyModel(t, lazyInstance)
	require.NoError(t, m.SetField("description", starlark.String("new")))
	m.mu.Lock()
	edits := m.editsLocked()
	body, err := m.putBodyLocked(edits)
	m.mu.Unlock()
	require.NoError(t, err)
	assert.Len(t, edits, 1)
	assert.Equal(t, "new", body["description"])
	assert.Equal(t, map[string]any{"user.a": "1", "volatile.idmap.next": `[{"Isuid":true}]`}, body["config"], "an unread field goes back as read")
	assert.Equal(t, []any{"default"}, body["profiles"])
}

func TestLazyFieldsLastDuplicateWins(t *testing.T) {
	m := lazyModel(t, `{"name": "c1", "description": "a", "description": "b"}`)
	assert.Equal(t, starlark.String("b"), m.field("description"))
	assert.Equal(t, `{"name": "c1", "description": "b"}`, m.ToDict().String())
}

func TestLazyFieldsOfAFrozenModelDecodeFrozen(t *testing.T) {
	m := lazyModel(t, lazyInstance)
	m.Freeze()
	cfg, _ := m.Attr("config")
	assert.Error(t, cfg.(*starlark.Dict).SetKey(starlark.String("x"), starlark.None), "frozen")
	thawed := m.Thaw().(*Model)
	devices, _ := thawed.Attr("devices")
	assert.NoError(t, devices.(*starlark.Dict).SetKey(starlark.String("x"), starlark.NewDict(0)), "a thawed copy decodes its own values")
	assert.True(t, thawed.Dirty())
	assert.False(t, m.Dirty())
}

func TestObjectFieldsAreAsStrictAsFromJSON(t *testing.T) {
	for _, bad := range []string{`{"a": 1e400}`, `{"a": [1,]}`, `{"a": "\x"}`, `[1]`, `{"a": 1} x`} {
		_, err := objectFields([]byte(bad))
		assert.Error(t, err, bad)
		if _, ferr := starjson.Decode([]byte(bad)); ferr == nil && bad != `[1]` {
			t.Errorf("starjson.Decode accepts %s", bad)
		}
	}
}

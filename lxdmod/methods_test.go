package lxdmod_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

// Method tables are built once; reading a method binds it to its receiver
// and nothing more (go.starlark.net's own methods cost the same one
// allocation), and a sub-collection costs its manager value alone.
func TestReadingAMethodAllocatesOnlyItsBinding(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	s.f.AddVolume("default", "custom", "v1", nil)
	s.run(`
		i = c.instances.get("c1")
		v = c.storage_pools.get("default").volumes.get("custom", "v1")
	`)
	attr := func(v starlark.Value, name string) starlark.Value {
		x, err := v.(starlark.HasAttrs).Attr(name)
		if err != nil || x == nil {
			t.Fatalf("%s.%s: %v, %v", v.Type(), name, x, err)
		}
		return x
	}
	inst, vol, client := s.value("i"), s.value("v"), s.value("c")
	for _, tc := range []struct {
		what string
		read func()
		max  float64
	}{
		{"Instance.start", func() { attr(inst, "start") }, 1},
		{"Instance.save", func() { attr(inst, "save") }, 1},
		{"Instance.to_dict", func() { attr(inst, "to_dict") }, 1},
		{"instances.get", func() { attr(attr(client, "instances"), "get") }, 1},
		{"Client.events", func() { attr(client, "events") }, 1},
		{"inst.snapshots.create", func() { attr(attr(inst, "snapshots"), "create") }, 2},
		{"volume.snapshots.all", func() { attr(attr(vol, "snapshots"), "all") }, 2},
	} {
		assert.LessOrEqual(t, testing.AllocsPerRun(50, tc.read), tc.max, tc.what)
	}
	// The bound method keeps its qualified name for messages.
	assert.Equal(t, "Instance.start", attr(inst, "start").(*starlark.Builtin).Name())
	assert.Equal(t, "StorageVolume.snapshots.all", attr(attr(vol, "snapshots"), "all").(*starlark.Builtin).Name())
}

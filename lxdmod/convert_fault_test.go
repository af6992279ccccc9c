package lxdmod

import (
	"strings"
	"testing"
	"time"

	"github.com/lxdstar/lxdstar/internal/starjson"
	"go.starlark.net/starlark"
)

// A model object inside a model's field is refused, without touching the
// object's lock: inst.config["x"] = inst; inst.dirty used to deadlock.
func TestModelInsideItsOwnFieldDoesNotDeadlock(t *testing.T) {
	m := &Model{t: instanceType, fields: map[string]starlark.Value{}, server: map[string]string{}}
	cfg := starlark.NewDict(1)
	m.load(dictFields(dictOf("name", starlark.String("c1"), "config", cfg)), "")
	_ = cfg.SetKey(starlark.String("self"), m)
	done := make(chan bool)
	go func() { done <- m.Dirty() }()
	select {
	case dirty := <-done:
		if !dirty {
			t.Error("not dirty")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Dirty deadlocked")
	}
	m.mu.Lock()
	_, err := m.putBodyLocked(m.editsLocked())
	m.mu.Unlock()
	if err == nil || !strings.Contains(err.Error(), `Instance.config["self"]: cannot send a Instance to LXD`) {
		t.Errorf("put body: %v", err)
	}
	// Elsewhere (client.api ...post(json=obj)) an object is sent as its fields.
	g, err := starjson.ToGo(starlark.NewList([]starlark.Value{m}), "json")
	if err == nil {
		t.Errorf("a model holding itself converted: %v", g)
	}
}

func dictOf(kv ...any) *starlark.Dict {
	d := starlark.NewDict(len(kv) / 2)
	for i := 0; i < len(kv); i += 2 {
		_ = d.SetKey(starlark.String(kv[i].(string)), kv[i+1].(starlark.Value))
	}
	return d
}

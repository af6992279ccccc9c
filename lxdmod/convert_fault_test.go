package lxdmod

import (
	"strings"
	"testing"
	"time"

	"go.starlark.net/starlark"
)

// A list or dict that contains itself fails to convert, promptly, naming
// where; it used to recurse until the stack overflowed.
func TestToGoRefusesCycles(t *testing.T) {
	l := starlark.NewList(nil)
	_ = l.Append(l)
	d := starlark.NewDict(1)
	_ = d.SetKey(starlark.String("me"), d)
	outer := starlark.NewDict(1)
	_ = outer.SetKey(starlark.String("a"), starlark.NewList([]starlark.Value{starlark.MakeInt(1), d}))
	for _, tc := range []struct {
		v    starlark.Value
		want string
	}{
		{l, `json[0][0]`},
		{outer, `json["a"][1]["me"]["me"]`},
	} {
		start := time.Now()
		_, err := toGo(tc.v, "json")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !strings.Contains(err.Error(), "contain itself") {
			t.Errorf("got %v, want an error starting %q", err, tc.want)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("took %v", took)
		}
		if c := canonical(tc.v); c != "\x00unsendable" {
			t.Errorf("canonical: %q", c)
		}
	}
	// Deep but finite nesting within the limit converts.
	v := starlark.Value(starlark.NewList(nil))
	for range maxGoDepth - 1 {
		v = starlark.NewList([]starlark.Value{v})
	}
	if _, err := toGo(v, "json"); err != nil {
		t.Errorf("%d levels: %v", maxGoDepth, err)
	}
}

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
	g, err := toGo(starlark.NewList([]starlark.Value{m}), "json")
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

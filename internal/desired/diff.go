package desired

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
)

// keyed are the fields a spec enforces key by key: the keys it names, and
// no others. Every other field is enforced whole.
var keyed = map[string]bool{"config": true, "devices": true}

// diff is the changes (and notes) that bring cur (nil: absent) to s.
func diff(s Spec, cur *Object) ([]Change, []Note) {
	if cur == nil {
		return []Change{creation(s)}, nil
	}
	var notes []Note
	for _, k := range sortedKeys(s.Create) {
		have, ok := cur.Fields[k]
		if k == "name" || k == "source" || !ok || equal(have, s.Create[k]) {
			continue
		}
		notes = append(notes, Note{Kind: s.Kind, Name: s.Name, Text: fmt.Sprintf(
			"%s is %s, the spec says %s: it is fixed at creation, and apply never re-creates an object", k, format(have), format(s.Create[k]))})
	}
	for _, n := range cur.Notes {
		notes = append(notes, Note{Kind: s.Kind, Name: s.Name, Text: n})
	}

	var changes []Change
	fields, body, basis := update(s, cur)
	if len(fields) > 0 {
		changes = append(changes, Change{Action: Update, Kind: s.Kind, Name: s.Name, Fields: fields,
			requests: []Request{{Method: "PUT", Path: s.Path, Body: body, IfMatch: cur.ETag, Basis: basis}}})
	}
	if s.Status != "" {
		status, _ := cur.Fields["status"].(string)
		action, steps, ok := transition(status, s.Status)
		switch {
		case !ok:
			notes = append(notes, Note{Kind: s.Kind, Name: s.Name, Text: fmt.Sprintf(
				"status is %q, the spec says %q: apply acts only on Running, Stopped and Frozen instances", status, s.Status)})
		case action != "":
			changes = append(changes, Change{Action: action, Kind: s.Kind, Name: s.Name, From: status, To: s.Status,
				Fields: []FieldChange{{Path: "status", Old: status, New: s.Status}}, requests: stateRequests(s.Path, steps)})
		}
	}
	return changes, notes
}

// update compares the fields s enforces with cur's and returns the
// differences, the body of the update that settles them (cur's writable
// fields with s's applied) and its basis (cur's writable fields).
func update(s Spec, cur *Object) (changes []FieldChange, body, basis map[string]any) {
	body, basis = map[string]any{}, map[string]any{}
	for _, f := range s.Writable {
		if v, ok := cur.Fields[f]; ok {
			body[f], basis[f] = clone(v), v
		}
	}
	for _, f := range sortedKeys(s.Fields) {
		want := s.Fields[f]
		if !keyed[f] {
			if !equal(cur.Fields[f], want) {
				changes = append(changes, FieldChange{Path: f, Old: cur.Fields[f], New: want})
				body[f] = clone(want)
			}
			continue
		}
		wantKeys, _ := want.(map[string]any)
		have, _ := cur.Fields[f].(map[string]any)
		next, _ := body[f].(map[string]any)
		if next == nil {
			next = map[string]any{}
		}
		changed := false
		for _, k := range sortedKeys(wantKeys) {
			w, h := wantKeys[k], have[k]
			if equal(h, w) {
				continue
			}
			changed = true
			if w == nil {
				delete(next, k)
			} else {
				next[k] = clone(w)
			}
			changes = append(changes, keyChanges(f+"."+k, h, w)...)
		}
		if changed {
			body[f] = next
		}
	}
	return changes, body, basis
}

// keyChanges words the change of one key. A device that exists before
// and after differs key by key ("devices.eth0.network"); otherwise the
// whole value changes.
func keyChanges(path string, old, new any) []FieldChange {
	o, oldMap := old.(map[string]any)
	n, newMap := new.(map[string]any)
	if !oldMap || !newMap {
		return []FieldChange{{Path: path, Old: old, New: new}}
	}
	keys := map[string]bool{}
	for k := range o {
		keys[k] = true
	}
	for k := range n {
		keys[k] = true
	}
	var out []FieldChange
	for _, k := range sortedKeys(keys) {
		if !equal(o[k], n[k]) {
			out = append(out, FieldChange{Path: path + "." + k, Old: o[k], New: n[k]})
		}
	}
	return out
}

// creation is the change that creates s's object: one POST of its
// creation fields and the fields it enforces (absent keys left out), then
// the state changes that bring a new (stopped) instance to its status.
func creation(s Spec) Change {
	body := map[string]any{}
	var fields []FieldChange
	for k, v := range s.Create {
		body[k] = clone(v)
		if k != "name" {
			fields = append(fields, FieldChange{Path: k, New: v})
		}
	}
	for f, want := range s.Fields {
		if !keyed[f] {
			body[f] = clone(want)
			fields = append(fields, FieldChange{Path: f, New: want})
			continue
		}
		m := map[string]any{}
		for k, v := range asMap(want) {
			if v != nil {
				m[k] = clone(v)
				fields = append(fields, FieldChange{Path: f + "." + k, New: v})
			}
		}
		body[f] = m
	}
	c := Change{Action: Create, Kind: s.Kind, Name: s.Name}
	c.requests = []Request{{Method: "POST", Path: s.Collection, Query: s.CreateQuery, Body: body}}
	if s.Status != "" {
		fields = append(fields, FieldChange{Path: "status", New: s.Status})
		c.To = s.Status
		if _, steps, ok := transition("Stopped", s.Status); ok {
			c.requests = append(c.requests, stateRequests(s.Path, steps)...)
		}
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Path < fields[j].Path })
	c.Fields = fields
	return c
}

// deletion is the change that deletes g, an instance stopped first.
func deletion(g Gone) Change {
	c := Change{Action: Delete, Kind: g.Kind, Name: g.Name, From: g.Status}
	if stopsFirst(g.Kind, g.Status) {
		c.requests = stateRequests(g.Path, []string{"stop"})
	}
	c.requests = append(c.requests, Request{Method: "DELETE", Path: g.Path})
	return c
}

// stopsFirst reports whether deleting an object in status means stopping
// it first: LXD deletes no running instance.
func stopsFirst(k Kind, status string) bool {
	return k == Instance && (status == "Running" || status == "Frozen")
}

// transition is the action, and the LXD state actions, that take an
// instance from status from to status to; ok is false for a status apply
// does not act on (Error, or a transitional one).
func transition(from, to string) (action Action, steps []string, ok bool) {
	type pair struct{ from, to string }
	switch (pair{from, to}) {
	case pair{"Running", "Running"}, pair{"Stopped", "Stopped"}, pair{"Frozen", "Frozen"}:
		return "", nil, true
	case pair{"Stopped", "Running"}:
		return Start, []string{"start"}, true
	case pair{"Frozen", "Running"}:
		return Unfreeze, []string{"unfreeze"}, true
	case pair{"Running", "Stopped"}, pair{"Frozen", "Stopped"}:
		return Stop, []string{"stop"}, true
	case pair{"Running", "Frozen"}:
		return Freeze, []string{"freeze"}, true
	case pair{"Stopped", "Frozen"}:
		return Freeze, []string{"start", "freeze"}, true
	}
	return "", nil, false
}

// stateRequests are the PUTs of path/state for each LXD action. A stop is
// forced, as Instance.stop() is by default: a frozen instance, or one
// whose init ignores the shutdown signal, stops all the same; and with no
// time limit (-1), as a forced stop has nothing to wait for but a busy
// server.
func stateRequests(path string, steps []string) []Request {
	out := make([]Request, len(steps))
	for i, a := range steps {
		body := map[string]any{"action": a, "timeout": 30}
		if a == "stop" {
			body["force"], body["timeout"] = true, -1
		}
		out[i] = Request{Method: "PUT", Path: path + "/state", Body: body}
	}
	return out
}

// equal compares JSON-like values by their canonical JSON (map keys
// sorted), so that a spec's values and the server's compare alike
// whatever Go types hold them.
func equal(a, b any) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// clone deep-copies a JSON-like value, so that a body never shares maps
// with the object it was built from.
func clone(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = clone(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = clone(e)
		}
		return l
	}
	return v
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

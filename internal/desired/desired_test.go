package desired

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func profileSpec(name string, fields map[string]any) Spec {
	return Spec{Kind: Profile, Name: name, Path: "/1.0/profiles/" + name, Collection: "/1.0/profiles",
		Writable: []string{"description", "config", "devices"}, Fields: fields, Create: map[string]any{"name": name}}
}

func instanceSpec(name, status string, fields map[string]any) Spec {
	return Spec{Kind: Instance, Name: name, Path: "/1.0/instances/" + name, Collection: "/1.0/instances",
		Writable: []string{"architecture", "config", "devices", "ephemeral", "profiles", "description"},
		Fields:   fields, Status: status,
		Create: map[string]any{"name": name, "type": "container", "source": map[string]any{"type": "image", "alias": "busybox"}}}
}

// runningInstance is an instance as LXD 5.0 returns it, with LXD's own keys.
func runningInstance(status string, config map[string]any) *Object {
	cfg := map[string]any{"volatile.base_image": "abc", "volatile.idmap.next": "[]", "image.os": "busybox"}
	for k, v := range config {
		cfg[k] = v
	}
	return &Object{ETag: "etag-1", Fields: map[string]any{
		"name": "web1", "type": "container", "status": status, "architecture": "x86_64", "ephemeral": false,
		"profiles": []any{"default"}, "description": "", "config": cfg,
		"devices":  map[string]any{"data": map[string]any{"type": "disk", "path": "/data", "source": "/srv"}},
		"stateful": false, "expanded_config": map[string]any{}}}
}

func TestDiff(t *testing.T) {
	cases := []struct {
		name    string
		spec    Spec
		cur     *Object
		changes []string // Headline of each change
		fields  [][]FieldChange
		notes   []string
		body    map[string]any // the update's body, when one is expected
	}{
		{
			name: "nothing differs: keys the spec does not name are left alone",
			spec: instanceSpec("web1", "Running", map[string]any{"config": map[string]any{"limits.memory": "128MB"},
				"profiles": []any{"default"}}),
			cur: runningInstance("Running", map[string]any{"limits.memory": "128MB", "user.foreign": "x"}),
		},
		{
			name:    "a key differs, another must be absent; LXD's and foreign keys stay",
			spec:    instanceSpec("web1", "", map[string]any{"config": map[string]any{"limits.memory": "256MB", "user.gone": nil, "user.never": nil}}),
			cur:     runningInstance("Running", map[string]any{"limits.memory": "128MB", "user.gone": "1", "user.foreign": "x"}),
			changes: []string{"~ instance web1"},
			fields: [][]FieldChange{{
				{Path: "config.limits.memory", Old: "128MB", New: "256MB"},
				{Path: "config.user.gone", Old: "1", New: nil},
			}},
			body: map[string]any{"architecture": "x86_64", "ephemeral": false, "profiles": []any{"default"}, "description": "",
				"config": map[string]any{"volatile.base_image": "abc", "volatile.idmap.next": "[]", "image.os": "busybox",
					"limits.memory": "256MB", "user.foreign": "x"},
				"devices": map[string]any{"data": map[string]any{"type": "disk", "path": "/data", "source": "/srv"}}},
		},
		{
			name: "a named device is enforced whole, None removes one, others stay",
			spec: instanceSpec("web1", "", map[string]any{"devices": map[string]any{
				"data": map[string]any{"type": "disk", "path": "/data", "source": "/srv2"},
				"eth9": nil,
				"new":  map[string]any{"type": "none"},
			}}),
			cur:     runningInstance("Running", nil),
			changes: []string{"~ instance web1"},
			fields: [][]FieldChange{{
				{Path: "devices.data.source", Old: "/srv", New: "/srv2"},
				{Path: "devices.new", Old: nil, New: map[string]any{"type": "none"}},
			}},
		},
		{
			name:    "profiles are enforced as given, in order; description whole",
			spec:    instanceSpec("web1", "", map[string]any{"profiles": []any{"web", "default"}, "description": "front"}),
			cur:     runningInstance("Running", nil),
			changes: []string{"~ instance web1"},
			fields: [][]FieldChange{{
				{Path: "description", Old: "", New: "front"},
				{Path: "profiles", Old: []any{"default"}, New: []any{"web", "default"}},
			}},
		},
		{
			name:    "a stopped instance is started",
			spec:    instanceSpec("web1", "Running", nil),
			cur:     runningInstance("Stopped", nil),
			changes: []string{"> instance web1: start (Stopped -> Running)"},
			fields:  [][]FieldChange{{{Path: "status", Old: "Stopped", New: "Running"}}},
		},
		{
			name:    "update first, then the state change",
			spec:    instanceSpec("web1", "Stopped", map[string]any{"config": map[string]any{"user.a": "1"}}),
			cur:     runningInstance("Frozen", nil),
			changes: []string{"~ instance web1", "> instance web1: stop (Frozen -> Stopped)"},
			fields:  [][]FieldChange{{{Path: "config.user.a", New: "1"}}, {{Path: "status", Old: "Frozen", New: "Stopped"}}},
		},
		{
			name:  "status None leaves the state alone; an Error status is a note",
			spec:  instanceSpec("web1", "Running", nil),
			cur:   runningInstance("Error", nil),
			notes: []string{`status is "Error", the spec says "Running": apply acts only on Running, Stopped and Frozen instances`},
		},
		{
			name: "creation fields are notes, never changes",
			spec: Spec{Kind: StoragePool, Name: "fast", Path: "/1.0/storage-pools/fast", Writable: []string{"description", "config"},
				Create: map[string]any{"name": "fast", "driver": "btrfs"}, Fields: map[string]any{"config": map[string]any{}}},
			cur:   &Object{Fields: map[string]any{"name": "fast", "driver": "dir", "config": map[string]any{"source": "/x"}}},
			notes: []string{`driver is "dir", the spec says "btrfs": it is fixed at creation, and apply never re-creates an object`},
		},
		{
			name: "the caller's notes are kept",
			spec: instanceSpec("web1", "", nil),
			cur: func() *Object {
				o := runningInstance("Running", nil)
				o.Notes = []string{"source differs"}
				return o
			}(),
			notes: []string{"source differs"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			changes, notes := diff(tc.spec, tc.cur)
			var heads []string
			var fields [][]FieldChange
			for _, c := range changes {
				heads = append(heads, c.Headline())
				fields = append(fields, c.Fields)
			}
			assert.Equal(t, tc.changes, heads)
			if tc.fields != nil {
				assert.Equal(t, tc.fields, fields)
			}
			var texts []string
			for _, n := range notes {
				texts = append(texts, n.Text)
			}
			assert.Equal(t, tc.notes, texts)
			if tc.body != nil {
				require.NotEmpty(t, changes)
				r := changes[0].Requests()
				require.Len(t, r, 1)
				assert.Equal(t, "PUT", r[0].Method)
				assert.Equal(t, "etag-1", r[0].IfMatch)
				assert.Equal(t, tc.body, r[0].Body)
			}
		})
	}
}

func TestDiffDoesNotTouchTheServerCopy(t *testing.T) {
	cur := runningInstance("Running", map[string]any{"limits.memory": "128MB"})
	before := format(cur.Fields)
	changes, _ := diff(instanceSpec("web1", "", map[string]any{"config": map[string]any{"limits.memory": "1GB"},
		"devices": map[string]any{"data": map[string]any{"type": "disk", "path": "/d", "source": "/s"}}}), cur)
	require.Len(t, changes, 1)
	assert.Equal(t, before, format(cur.Fields))
}

func TestCreation(t *testing.T) {
	s := instanceSpec("web1", "Frozen", map[string]any{"config": map[string]any{"limits.memory": "256MB", "user.x": nil},
		"devices": map[string]any{"gone": nil}, "profiles": []any{"default", "web"}})
	s.CreateQuery = map[string][]string{"target": {"node2"}}
	p := Make([]Spec{s}, []*Object{nil}, nil)
	require.Len(t, p.Changes, 1)
	c := p.Changes[0]
	assert.Equal(t, "+ instance web1", c.Headline())
	r := c.Requests()
	require.Len(t, r, 3)
	assert.Equal(t, Request{Method: "POST", Path: "/1.0/instances", Query: s.CreateQuery, Body: map[string]any{
		"name": "web1", "type": "container", "source": map[string]any{"type": "image", "alias": "busybox"},
		"config": map[string]any{"limits.memory": "256MB"}, "devices": map[string]any{}, "profiles": []any{"default", "web"}}}, r[0])
	assert.Equal(t, "start", r[1].Body.(map[string]any)["action"])
	assert.Equal(t, "freeze", r[2].Body.(map[string]any)["action"])
	assert.Equal(t, `plan: 1 to create
+ instance web1
    config.limits.memory: "256MB"
    profiles: ["default", "web"]
    source: {"alias": "busybox", "type": "image"}
    status: "Frozen"
    type: "container"`, p.String())
}

// thePlan is the example of the plan's documentation, plus a deletion and
// a note, specs given out of order.
func thePlan() *Plan {
	specs := []Spec{
		instanceSpec("web2", "Running", nil),
		instanceSpec("web1", "Running", map[string]any{"config": map[string]any{"limits.memory": "256MB"}}),
		profileSpec("web", map[string]any{"config": map[string]any{"limits.memory": "256MB"}}),
		{Kind: Network, Name: "net0", Path: "/1.0/networks/net0", Writable: []string{"description", "config"},
			Create: map[string]any{"name": "net0", "type": "macvlan"}},
	}
	cur := []*Object{
		runningInstance("Stopped", nil),
		runningInstance("Running", map[string]any{"limits.memory": "128MB"}),
		nil,
		{Fields: map[string]any{"name": "net0", "type": "bridge", "config": map[string]any{}}},
	}
	gone := []Gone{
		{Kind: Profile, Name: "old", Path: "/1.0/profiles/old"},
		{Kind: Instance, Name: "old1", Path: "/1.0/instances/old1", Status: "Running"},
		{Kind: Instance, Name: "old0", Path: "/1.0/instances/old0", Status: "Stopped"},
	}
	return Make(specs, cur, gone)
}

func TestPlanString(t *testing.T) {
	assert.Equal(t, `plan: 1 to create, 1 to update, 1 to start, 3 to delete, 1 note
+ profile web
    config.limits.memory: "256MB"
~ instance web1
    config.limits.memory: "128MB" -> "256MB"
> instance web2: start (Stopped -> Running)
- instance old0
- instance old1 (Running: stopped first)
- profile old
# network net0: type is "bridge", the spec says "macvlan": it is fixed at creation, and apply never re-creates an object`, thePlan().String())
	assert.Equal(t, "plan: no changes", (&Plan{}).String())
	assert.True(t, (&Plan{}).Empty())
	assert.Equal(t, "plan: no changes, 2 notes", (&Plan{Notes: make([]Note, 2)}).Summary())
}

func TestFormat(t *testing.T) {
	for v, want := range map[any]string{nil: "None", true: "True", false: "False", "a\"b": `"a\"b"`} {
		assert.Equal(t, want, format(v))
	}
	assert.Equal(t, `{"a": [1, "x"], "b": {}}`, format(map[string]any{"b": map[string]any{}, "a": []any{1, "x"}}))
}

func TestStages(t *testing.T) {
	p := thePlan()
	var got [][]string
	for _, st := range p.stages() {
		var names []string
		for _, u := range st {
			var us []string
			for _, i := range u {
				us = append(us, string(p.Changes[i].Action)+" "+p.Changes[i].Name)
			}
			names = append(names, strings.Join(us, "+"))
		}
		got = append(got, names)
	}
	assert.Equal(t, [][]string{
		{"create web"},
		{"update web1", "start web2"},
		{"delete old0", "delete old1"},
		{"delete old"},
	}, got)
}

// recorder is a Do that records requests, each taking delay.
type recorder struct {
	mu      sync.Mutex
	log     []string
	delay   time.Duration
	running atomic.Int32
	peak    atomic.Int32
}

type kindErr struct{ msg string }

func (e *kindErr) Error() string   { return "LXDAPIException: " + e.msg }
func (e *kindErr) Kinds() []string { return []string{"LXDAPIException"} }

func (r *recorder) do(ctx context.Context, c *Change, req Request) error {
	n := r.running.Add(1)
	defer r.running.Add(-1)
	for {
		p := r.peak.Load()
		if n <= p || r.peak.CompareAndSwap(p, n) {
			break
		}
	}
	select {
	case <-time.After(r.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	r.mu.Lock()
	r.log = append(r.log, req.Method+" "+req.Path)
	r.mu.Unlock()
	return nil
}

func TestRunInOrder(t *testing.T) {
	rec := &recorder{}
	require.NoError(t, thePlan().Run(context.Background(), MaxConcurrent, rec.do))
	// Stages run one after another; within one the order is free.
	idx := func(s string) int {
		for i, l := range rec.log {
			if l == s {
				return i
			}
		}
		t.Fatalf("%s was not sent: %v", s, rec.log)
		return -1
	}
	assert.Less(t, idx("POST /1.0/profiles"), idx("PUT /1.0/instances/web1"))
	assert.Less(t, idx("PUT /1.0/instances/web2/state"), idx("PUT /1.0/instances/old1/state"))
	assert.Less(t, idx("PUT /1.0/instances/old1/state"), idx("DELETE /1.0/instances/old1"))
	assert.Less(t, idx("DELETE /1.0/instances/old1"), idx("DELETE /1.0/profiles/old"))
	assert.Len(t, rec.log, 7)
}

func TestRunConcurrencyIsBounded(t *testing.T) {
	var specs []Spec
	for i := 0; i < 20; i++ {
		specs = append(specs, profileSpec(fmt.Sprintf("p%02d", i), nil))
	}
	p := Make(specs, make([]*Object, 20), nil)
	rec := &recorder{delay: 20 * time.Millisecond}
	require.NoError(t, p.Run(context.Background(), MaxConcurrent, rec.do))
	assert.Len(t, rec.log, 20)
	assert.LessOrEqual(t, rec.peak.Load(), int32(MaxConcurrent))
	assert.Greater(t, rec.peak.Load(), int32(1), "independent changes run concurrently")
}

func TestRunStopsAtAFailure(t *testing.T) {
	specs := []Spec{profileSpec("a", nil), profileSpec("bad", nil), instanceSpec("web1", "Running", nil)}
	p := Make(specs, make([]*Object, 3), nil)
	rec := &recorder{delay: 10 * time.Millisecond}
	aStarted := make(chan struct{})
	err := p.Run(context.Background(), MaxConcurrent, func(ctx context.Context, c *Change, r Request) error {
		switch c.Name {
		case "bad":
			<-aStarted // a is under way when bad fails: it is waited for
			return &kindErr{"Invalid value"}
		case "a":
			close(aStarted)
		}
		return rec.do(ctx, c, r)
	})
	var e *Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, `LXDAPIException: apply failed: 1 done, 1 failed, 1 not attempted
  done: + profile a
  failed: + profile bad: LXDAPIException: Invalid value
  not attempted: + instance web1`, err.Error())
	assert.Equal(t, []string{"LXDAPIException"}, e.Kinds())
	var ke *kindErr
	assert.True(t, errors.As(err, &ke), "the failure's own error is reachable")
	assert.NotContains(t, rec.log, "POST /1.0/instances", "nothing starts after a failure")
}

func TestRunLaterStepFails(t *testing.T) {
	p := Make([]Spec{instanceSpec("web1", "Running", nil)}, []*Object{nil}, nil)
	err := p.Run(context.Background(), 1, func(ctx context.Context, c *Change, r Request) error {
		if strings.HasSuffix(r.Path, "/state") {
			return &kindErr{"no init"}
		}
		return nil
	})
	assert.EqualError(t, err, `LXDAPIException: apply failed: 0 done, 1 failed, 0 not attempted
  failed: + instance web1: create done, then start failed: LXDAPIException: no init`)
}

func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := Make([]Spec{profileSpec("a", nil), instanceSpec("web1", "", nil)}, make([]*Object, 2), nil)
	err := p.Run(ctx, 1, func(ctx context.Context, c *Change, r Request) error {
		cancel() // interrupted while the first change is made; it succeeds
		return nil
	})
	assert.True(t, errors.Is(err, context.Canceled))
	assert.Contains(t, err.Error(), "apply interrupted: 1 done, 0 failed, 1 not attempted")
}

// LXD's instance ETag covers its profiles' content: the update of an
// instance that uses a profile the plan updates first re-reads it.
func TestRereadAfterAProfileUpdate(t *testing.T) {
	uses := runningInstance("Running", nil)
	uses.Fields["profiles"] = []any{"default", "web"}
	other := runningInstance("Running", nil)
	p := Make([]Spec{
		profileSpec("web", map[string]any{"description": "new"}),
		instanceSpec("web1", "", map[string]any{"description": "a"}),
		instanceSpec("web2", "", map[string]any{"description": "b"}),
	}, []*Object{{Fields: map[string]any{"name": "web", "description": "old"}}, uses, other}, nil)
	require.Len(t, p.Changes, 3)
	assert.False(t, p.Changes[0].Requests()[0].Reread)
	assert.True(t, p.Changes[1].Requests()[0].Reread, "web1 uses the updated profile")
	assert.False(t, p.Changes[2].Requests()[0].Reread)
	assert.True(t, Unchanged(p.Changes[1].Requests()[0].Basis, uses.Fields))
	changed := clone(uses.Fields).(map[string]any)
	changed["config"].(map[string]any)["volatile.last_state.power"] = "STOPPED"
	assert.False(t, Unchanged(p.Changes[1].Requests()[0].Basis, changed))
}

func TestRead(t *testing.T) {
	var started atomic.Int32
	err := Read(context.Background(), 100, func(ctx context.Context, i int) error {
		started.Add(1)
		if i == 3 {
			return &kindErr{"no"}
		}
		<-ctx.Done() // the others run until the failure cancels them
		return ctx.Err()
	})
	assert.EqualError(t, err, "LXDAPIException: no")
	assert.LessOrEqual(t, started.Load(), int32(MaxConcurrent+1), "nothing starts after the failure")
	assert.NoError(t, Read(context.Background(), 3, func(context.Context, int) error { return nil }))
}

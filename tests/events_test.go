package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// quietProject creates an empty project (which no other test touches) and
// removes it when the test ends: streams scoped to it are idle.
func quietProject(t *testing.T, socket string) string {
	t.Helper()
	name := uniqueName("evp")
	rc := restClient(t, socket)
	_, err := rc.Do(context.Background(), &rest.Request{Method: "POST", Path: rest.Path("projects"),
		Body: map[string]any{"name": name, "config": map[string]string{"features.images": "false", "features.profiles": "false"}}})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = rc.Do(context.Background(), &rest.Request{Method: "DELETE", Path: rest.Path("projects", name)})
	})
	return name
}

func TestEventsLifecycleAndOperationFilters(t *testing.T) {
	parallelOnEachServer(t, testEventsLifecycleAndOperationFilters)
}

func testEventsLifecycleAndOperationFilters(t *testing.T, srv server) {
	name := newInstance(t, srv.Socket, "ev", false)
	s := execScript(t, srv.Socket, name, 60*time.Second)
	s.mustRun(`
c = lxd.Client()
life = c.events([lxd.EventType.Lifecycle])
ops = c.events(event_types=set([lxd.EventType.Operation]))
inst = c.instances.get(name)
inst.start(wait=True)
inst.stop(force=True, wait=True)

actions, kinds = [], {}
for ev in life:
    kinds[ev["type"]] = True
    md = ev["metadata"]
    if md.get("source", "").endswith("/instances/" + name) or md.get("name") == name:
        actions.append(md["action"])
    if "instance-stopped" in actions:
        break

optypes, ours = {}, 0
for i in range(2000):
    ev = ops.next(timeout=0.5)
    if ev == None:
        break
    optypes[ev["type"]] = True
    if "/1.0/instances/" + name in str(ev["metadata"].get("resources", {})):
        ours += 1
life.close()
ops.close()
closed = life.closed
r = catch(life.next, timeout=0.1)
after_close = r.error.kind
`)
	assert.Equal(t, `["instance-started", "instance-stopped"]`, s.global("actions").String())
	assert.Equal(t, `{"lifecycle": True}`, s.global("kinds").String())
	assert.Equal(t, `{"operation": True}`, s.global("optypes").String(), "the operation stream has no lifecycle events")
	assert.Positive(t, globalInt(t, s, "ours"), "the operation stream saw the start and stop operations")
	assert.Equal(t, starlark.True, s.global("closed"))
	assert.Equal(t, "ClientConnectionFailed", globalString(t, s, "after_close"))
}

func TestEventsNextTimeoutAndRunLimit(t *testing.T) {
	parallelOnEachServer(t, testEventsNextTimeoutAndRunLimit)
}

func testEventsNextTimeoutAndRunLimit(t *testing.T, srv server) {
	project := quietProject(t, srv.Socket)
	name := newInstance(t, srv.Socket, "evrun", false)
	var marks []time.Time
	mark := starlark.NewBuiltin("mark", func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
		marks = append(marks, time.Now())
		return starlark.None, nil
	})
	s := execScript(t, srv.Socket, name, 60*time.Second).with("project", starlark.String(project)).with("mark", mark)
	s.mustRun(`
c = lxd.Client()
quiet = c.events([lxd.EventType.Lifecycle], project=project)
mark()
idle = quiet.next(timeout=0.5)
mark()
quiet.run(timeout=0.3)
mark()
idle_messages = len(quiet.messages)

stream = c.events([lxd.EventType.Lifecycle])
inst = c.instances.get(name)
inst.start(wait=True)
inst.stop(force=True, wait=True)
mark()
stream.run(limit=2, timeout=20)
mark()
got = len(stream.messages)
first = stream.messages[0]["type"]
`)
	assert.Equal(t, starlark.None, s.global("idle"))
	require.Len(t, marks, 5)
	assert.InDelta(t, 0.5, marks[1].Sub(marks[0]).Seconds(), 0.3, "next(timeout=0.5) waits about 0.5 s")
	assert.InDelta(t, 0.3, marks[2].Sub(marks[1]).Seconds(), 0.3, "run(timeout=0.3) waits about 0.3 s")
	assert.Equal(t, 0, globalInt(t, s, "idle_messages"))
	assert.Equal(t, 2, globalInt(t, s, "got"), "run(limit=2) collects exactly 2")
	assert.Less(t, marks[4].Sub(marks[3]), 10*time.Second, "run(limit=2) returns once it has 2")
	assert.Equal(t, "lifecycle", globalString(t, s, "first"))
}

func TestEventsIterationHonoursCancellation(t *testing.T) {
	parallelOnEachServer(t, testEventsIterationHonoursCancellation)
}

func testEventsIterationHonoursCancellation(t *testing.T, srv server) {
	project := quietProject(t, srv.Socket)
	s := newScript(t, srv.Socket).with("project", starlark.String(project))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.ctx = ctx
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := s.run(`
stream = lxd.Client().events(project=project)
for ev in stream:
    pass
`)
	assert.ErrorIs(t, err, context.Canceled)
	// The stream never ends by itself: only the cancel can have ended it.
	// The bound is loose so that a loaded -race run does not break it.
	assert.Less(t, time.Since(start), 30*time.Second)
}

func TestEventsStreamClosedWhenScriptEnds(t *testing.T) {
	parallelOnEachServer(t, testEventsStreamClosedWhenScriptEnds)
}

func testEventsStreamClosedWhenScriptEnds(t *testing.T, srv server) {
	s := newScript(t, srv.Socket)
	s.mustRun(`
stream = lxd.Client().events(all_projects=True)
text = str(stream)
`)
	stream, ok := s.global("stream").(*lxdmod.EventStream)
	require.True(t, ok, "stream is a %T", s.global("stream"))
	select {
	case <-stream.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("the event stream outlived its script")
	}
	assert.Equal(t, "<EventStream all open>", globalString(t, s, "text"))
}

func TestEventsBadArguments(t *testing.T) { parallelOnEachServer(t, testEventsBadArguments) }

func testEventsBadArguments(t *testing.T, srv server) {
	for _, tc := range []struct{ call, want string }{
		{`c.events("lifecycle")`, "want a list or set"},
		{`c.events([1])`, "not an event type"},
		{`c.events(None, "p")`, "keyword-only"},
		{`c.events(project="p", all_projects=True)`, "exclude each other"},
		{`c.events().next(timeout=-1)`, "timeout"},
		{`c.events().run(limit=-2)`, "limit"},
	} {
		_, err := newScript(t, srv.Socket).run("c = lxd.Client()\n" + tc.call)
		if assert.Error(t, err, tc.call) {
			assert.Contains(t, err.Error(), tc.want, tc.call)
		}
	}
}

package tests

// Concurrency under the race detector (make test runs go test -race): 50
// operations waited for together with lxd.wait_all, and 10 executes at
// once from separate runs of one Runtime.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/lxdmod"
)

func TestConcurrentOperationsAndExecs(t *testing.T) {
	t.Parallel()
	eachServer(t, testConcurrentOperationsAndExecs)
}

func testConcurrentOperationsAndExecs(t *testing.T, srv server) {
	needSocket(t, srv.Socket)
	const n = 25
	prefix := uniqueName("conc")
	names := make([]starlark.Value, n)
	for i := range names {
		names[i] = starlark.String(fmt.Sprintf("%s-%02d", prefix, i))
	}
	t.Cleanup(func() {
		c := restClient(t, srv.Socket)
		var wg sync.WaitGroup
		for _, name := range names {
			wg.Go(func() { deleteInstance(c, string(name.(starlark.String))) })
		}
		wg.Wait()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// 25 creations, then 25 starts, each lot waited for with wait_all:
	// 50 operations, each followed by its own watcher goroutine.
	s := newScript(t, srv.Socket).with("NAMES", starlark.NewList(names))
	s.ctx = ctx
	out := s.mustRun(`
c = lxd.Client()
created = [c.instances.create({"name": n, "source": {"type": "image", "alias": "busybox"}}) for n in NAMES]
if all([i.operation == None for i in created]):
    fail("wait=False creations have no pending operation")
done = lxd.wait_all(created, timeout=120)
if [i.name for i in done] != NAMES:
    fail("wait_all returned %s" % done)
starts = [i.start() for i in done]
results = lxd.wait_all(timeout=120, *starts)
if results != [None] * len(starts):
    fail("start results %s" % results)
running = [i for i in c.instances.all() if i.name in NAMES and i.status == "Running"]
print(len(starts) + len(created), len(running))
`)
	require.Equal(t, fmt.Sprintf("%d %d\n", 2*n, n), out)

	// 10 executes at once, each in its own run of one shared Runtime, each
	// producing output on both streams and reading stdin.
	rt := lxdstar.New(lxdstar.WithLXD(lxdmod.Config{Endpoint: srv.Socket}), lxdstar.WithPrint(func(string) {}))
	var wg sync.WaitGroup
	errs := make([]error, 10)
	outs := make([]starlark.StringDict, 10)
	for i := range 10 {
		wg.Go(func() {
			src := fmt.Sprintf(`
inst = lxd.Client().instances.get(%q)
r = inst.execute(["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' o; echo err-%d >&2; cat; exit %d"], stdin_payload="in-%d")
code, stdout, stderr = r.exit_code, r.stdout, r.stderr
`, string(names[i].(starlark.String)), i, i, i)
			outs[i], errs[i] = rt.Run(ctx, fmt.Sprintf("exec%d.star", i), []byte(src))
		})
	}
	wg.Wait()
	for i := range 10 {
		if !assert.NoError(t, errs[i], "run %d", i) {
			continue
		}
		g := outs[i]
		assert.Equal(t, starlark.MakeInt(i), g["code"], "run %d: exit code", i)
		stdout := string(g["stdout"].(starlark.String))
		assert.Equal(t, strings.Repeat("o", 200000)+fmt.Sprintf("in-%d", i), stdout, "run %d: stdout", i)
		assert.Equal(t, starlark.String(fmt.Sprintf("err-%d\n", i)), g["stderr"], "run %d: stderr", i)
	}
}

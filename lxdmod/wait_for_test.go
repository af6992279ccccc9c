package lxdmod_test

// Instance.wait_for: each condition, several at once, events rather than
// polling for status, the Timeout message, bad arguments.

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
)

// fakeState serves GET /1.0/instances/c1/state from a value the test
// changes, and counts the requests.
type fakeState struct {
	mu    sync.Mutex
	state map[string]any
	reads atomic.Int64
}

func serveState(s *script, state map[string]any) *fakeState {
	fs := &fakeState{state: state}
	s.f.Intercept("GET /1.0/instances/c1/state", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fs.reads.Add(1)
		fs.mu.Lock()
		body, _ := json.Marshal(map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": fs.state})
		fs.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	return fs
}

func (fs *fakeState) set(k string, v any) {
	fs.mu.Lock()
	fs.state[k] = v
	fs.mu.Unlock()
}

func nic(addrs ...[3]string) map[string]any {
	var list []any
	for _, a := range addrs {
		list = append(list, map[string]any{"family": a[0], "address": a[1], "netmask": a[2], "scope": "global"})
	}
	return map[string]any{"addresses": list, "type": "broadcast", "state": "up"}
}

func TestWaitForStatusFollowsEvents(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", nil)
	s.run(`i = c.instances.get("c1")`)
	go func() {
		s.f.WaitListeners(1)
		time.Sleep(300 * time.Millisecond)
		// Another client starts it: LXD announces it with a lifecycle event.
		s.f.Set("/1.0/instances/c1", fakelxd.Object{"status": "Running"})
		s.f.Emit(fakelxd.Object{"type": "lifecycle", "project": "default",
			"metadata": fakelxd.Object{"action": "instance-started", "source": "/1.0/instances/c1"}})
	}()
	n := s.mark()
	s.run(`
		st = i.wait_for(status="Running", timeout=30)
		assert_eq(type(st), "InstanceState")
		assert_eq(st.status, "Running")
	`)
	reads := 0
	for _, r := range s.requests(n) {
		if strings.HasPrefix(r, "GET /1.0/instances/c1/state") {
			reads++
		}
	}
	// One read before the event, one after it: polling from 100 ms up
	// would have read it 3 or 4 times in those 300 ms.
	assert.Equal(t, 2, reads, "status is event-driven: %v", s.requests(n))
}

func TestWaitForAddressesPolls(t *testing.T) {
	s := running(t)
	fs := serveState(s, map[string]any{"status": "Running", "status_code": 103, "processes": 1,
		"network": map[string]any{
			"lo":   map[string]any{"addresses": []any{map[string]any{"family": "inet", "address": "127.0.0.1", "netmask": "8", "scope": "local"}}, "type": "loopback"},
			"eth0": nic([3]string{"inet6", "fe80::216:3eff:fe00:1", "64"}),
		}})
	go func() {
		time.Sleep(400 * time.Millisecond)
		fs.set("network", map[string]any{"eth0": nic([3]string{"inet6", "fe80::216:3eff:fe00:1", "64"}, [3]string{"inet", "198.18.9.20", "24"})})
	}()
	start := time.Now()
	s.run(`
		st = i.wait_for(ipv4=True, interface="eth0", timeout=30)
		addrs = [a["address"] for a in st.network["eth0"]["addresses"]]
	`)
	assert.Equal(t, `["fe80::216:3eff:fe00:1", "198.18.9.20"]`, s.value(`addrs`).String())
	assert.Less(t, time.Since(start), 20*time.Second)
	assert.GreaterOrEqual(t, fs.reads.Load(), int64(2), "polled")
	assert.Less(t, fs.reads.Load(), int64(20), "at a growing interval, not in a busy loop")

	// IPv6 on any interface: link-local and loopback do not count.
	err := s.fail(`i.wait_for(ipv6=True, timeout=0.5)`)
	requireKind(t, err, "Timeout", "c1: no global IPv6 address on any interface after 0.5 s (status Running; eth0: fe80::216:3eff:fe00:1/64, 198.18.9.20/24)")
	fs.set("network", map[string]any{"eth0": nic([3]string{"inet6", "2001:db8::5", "64"})})
	s.run(`i.wait_for(ipv6=True, timeout=5)`)
}

func TestWaitForTimeoutNamesWhatIsMissing(t *testing.T) {
	s := running(t)
	serveState(s, map[string]any{"status": "Running", "status_code": 103, "processes": 3,
		"network": map[string]any{"eth0": nic([3]string{"inet6", "fe80::1", "64"})}})
	err := s.fail(`i.wait_for(ipv4=True, interface="eth0", timeout=0.3)`)
	requireKind(t, err, "Timeout", "c1: no global IPv4 address on eth0 after 0.3 s (status Running; eth0: fe80::1/64)")
	err = s.fail(`i.wait_for(ipv4=True, interface="eth9", timeout=0.3)`)
	requireKind(t, err, "Timeout", "c1: no global IPv4 address on eth9 after 0.3 s (status Running; no interface eth9)")
	err = s.fail(`i.wait_for(status="Stopped", timeout=0.3)`)
	requireKind(t, err, "Timeout", "c1: not Stopped after 0.3 s (status Running)")
}

func TestWaitForAgent(t *testing.T) {
	s := newScript(t, fakelxd.Config{})
	s.f.AddInstance("c1", fakelxd.Object{"status": "Running", "type": "virtual-machine"})
	fs := serveState(s, map[string]any{"status": "Running", "status_code": 103, "processes": -1})
	s.run(`i = c.instances.get("c1")`)
	requireKind(t, s.fail(`i.wait_for(agent=True, timeout=0.3)`), "Timeout", "c1: no VM agent answering after 0.3 s (status Running)")
	fs.set("processes", 12)
	s.run(`assert_eq(i.wait_for(agent=True).processes, 12)`)

	// A container's agent is LXD itself: Running is enough.
	s2 := newScript(t, fakelxd.Config{})
	s2.f.AddInstance("c1", nil)
	s2.run(`i = c.instances.get("c1")`)
	requireKind(t, s2.fail(`i.wait_for(agent=True, timeout=0.3)`), "Timeout", "c1: not Running after 0.3 s (status Stopped)")
}

func TestWaitForCommand(t *testing.T) {
	s := running(t)
	var calls atomic.Int64
	s.f.HandleExec(func(x *fakelxd.Exec) int {
		if x.Command[0] != "ready" {
			return fakelxd.DefaultExec(x)
		}
		if calls.Add(1) < 3 {
			_, _ = x.Stderr.Write([]byte("not yet\n"))
			return 1
		}
		return 0
	})
	s.run(`assert_eq(i.wait_for(command=["ready"], status="Running").status, "Running")`)
	assert.Equal(t, int64(3), calls.Load(), "run until it exits 0")
	// Long enough for one exec to finish on a loaded machine.
	requireKind(t, s.fail(`i.wait_for(command=["false"], timeout=2)`), "Timeout", `c1: command ["false"] exited 1 after 2 s (status Running)`)
	calls.Store(-100)
	requireKind(t, s.fail(`i.wait_for(command=["ready"], timeout=2)`), "Timeout", `command ["ready"] exited 1 (not yet)`)
	start := time.Now()
	requireKind(t, s.fail(`i.wait_for(command=["sleep", "30"], timeout=0.5)`), "Timeout", `command ["sleep", "30"] still running after 0.5 s`)
	assert.Less(t, time.Since(start), 5*time.Second, "the command is killed at the deadline")
}

func TestWaitForPath(t *testing.T) {
	s := running(t)
	var exists atomic.Bool
	s.f.Intercept("/1.0/instances/c1/files", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("path") != "/run/ready" || !exists.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"type":"error","error":"not found","error_code":404}`))
			return
		}
		w.Header().Set("X-LXD-Type", "file")
		w.Header().Set("X-LXD-Mode", "0644")
		w.Header().Set("X-LXD-Uid", "0")
		w.Header().Set("X-LXD-Gid", "0")
		_, _ = w.Write([]byte("ok"))
	}))
	requireKind(t, s.fail(`i.wait_for(path="/run/ready", timeout=0.3)`), "Timeout", "c1: no /run/ready after 0.3 s (status Running)")
	time.AfterFunc(300*time.Millisecond, func() { exists.Store(true) })
	s.run(`i.wait_for(path="/run/ready", status="Running", timeout=10)`)
}

func TestWaitForFailsAtOnceOnAnError(t *testing.T) {
	s := running(t)
	s.run(`gone = c.instances.get("c1")`)
	s.f.Delete("/1.0/instances/c1")
	start := time.Now()
	requireKind(t, s.fail(`gone.wait_for(status="Running", timeout=30)`), "NotFound", `instance "c1"`)
	assert.Less(t, time.Since(start), 20*time.Second)
}

func TestWaitForBadArguments(t *testing.T) {
	s := running(t)
	n := s.mark()
	for _, tc := range []struct{ src, want string }{
		{`i.wait_for()`, "no condition given"},
		{`i.wait_for("Running")`, "keyword arguments only"},
		{`i.wait_for(status="running")`, `for parameter "status": got "running", want "Running", "Stopped" or "Frozen"`},
		{`i.wait_for(status=1)`, `for parameter "status"`},
		{`i.wait_for(ipv4="yes")`, "ipv4"},
		{`i.wait_for(interface="eth0")`, "for parameter interface"},
		{`i.wait_for(ipv4=True, interface=3)`, `for parameter "interface"`},
		{`i.wait_for(path="etc/x")`, "not an absolute path"},
		{`i.wait_for(path=1)`, `for parameter "path"`},
		{`i.wait_for(command="cloud-init status")`, `use ["sh", "-c", "cloud-init status"]`},
		{`i.wait_for(command=[])`, "the command is empty"},
		{`i.wait_for(status="Running", timeout=0)`, `for parameter "timeout"`},
		{`i.wait_for(status="Running", timeout="x")`, `for parameter "timeout"`},
	} {
		err := s.fail(tc.src)
		assert.Contains(t, err.Error(), "Instance.wait_for", tc.src)
		assert.Contains(t, err.Error(), tc.want, tc.src)
	}
	assert.Empty(t, s.requests(n), "bad arguments send nothing")
}

func TestWaitForStatusAlreadyThere(t *testing.T) {
	s := running(t)
	n := s.mark()
	s.run(`assert_eq(i.wait_for(status="Running", timeout=None).status, "Running")`)
	var reads []string
	for _, r := range s.requests(n) {
		if !strings.HasPrefix(r, "GET /1.0/events") {
			reads = append(reads, r)
		}
	}
	require.Len(t, reads, 1, "one read of the state: %v", reads)
}

func TestWaitForRetriesAServerError(t *testing.T) {
	s := running(t)
	s.f.InterceptN("GET /1.0/instances/c1/state", 2, fakelxd.Reply(http.StatusInternalServerError,
		`{"type":"error","error":"Invalid PID","error_code":500}`))
	s.run(`assert_eq(i.wait_for(status="Running").status, "Running")`)
	s.f.Intercept("GET /1.0/instances/c1/state", fakelxd.Reply(http.StatusInternalServerError,
		`{"type":"error","error":"Invalid PID","error_code":500}`))
	requireKind(t, s.fail(`i.wait_for(status="Running", timeout=0.3)`), "Timeout", "c1: its state could not be read (Invalid PID) after 0.3 s")
}

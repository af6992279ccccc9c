package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Sizes is how much work each workload does per run.
type Sizes struct {
	List      int      // instances listed (created once, stopped)
	Exec      int      // sequential commands
	ExecCmd   []string // the command run by the exec workload
	ExecOut   string   // what one ExecCmd prints on stdout
	Lifecycle int      // containers created, started, stopped and deleted
	Files     int      // put+get round trips
	FileBytes int      // size of the file pushed and pulled
}

// Runs is how many measured runs each workload gets (the report shows
// medians).
type Runs struct {
	Startup, List, Exec, Lifecycle, Files int
	// ExecPylxd caps pylxd's exec runs (≈ 0.5 s a call); 0: no cap.
	ExecPylxd int
	// Memory runs (under GNU time, for the peak RSS) of workloads 1 and
	// 2; the exec runs are all memory runs too.
	MemStartup, MemList int
}

// Config configures one run of the harness.
type Config struct {
	Root    string // the repository (module) root; scripts live in Root/bench
	Lxdstar string // the lxdstar binary
	Python  string // a python3 that has pylxd (Debian's /usr/bin/python3)
	Lxc     string // the lxc CLI
	Curl    string
	Socket  string // the LXD daemon's unix socket
	Image   string // image alias of a container image whose init stops fast
	Sizes   Sizes
	Runs    Runs
	// Profile runs the profiles of the lxdstar workloads whose targets
	// were missed (a CPU profile through a compiled Go benchmark, a
	// per-request trace, Go init trace).
	Profile bool
	// ProfileAll profiles every lxdstar workload, targets met or not.
	ProfileAll bool
	Timeout    time.Duration // per process
	// TimeBin is GNU time, used to measure peak RSS ("": fall back to
	// wait4's ru_maxrss, which includes the harness's own peak).
	TimeBin string
	Log     io.Writer // progress; nil = discard
}

// FullSizes are the sizes of GitHub issue #8.
func FullSizes() Sizes {
	return Sizes{List: 100, Exec: 50, ExecCmd: []string{"true"}, Lifecycle: 20, Files: 50, FileBytes: 1 << 20}
}

// FullRuns keep `make bench` within about ten minutes on two cores. Exec
// gets 9 runs: a single exec's cost at LXD varies by a factor of two from
// call to call, and each run is only a second or two (but pylxd's 27 s).
func FullRuns() Runs {
	return Runs{Startup: 20, List: 15, Exec: 9, ExecPylxd: 3, Lifecycle: 3, Files: 3, MemStartup: 3, MemList: 3}
}

// Tool is one tool's part in a workload.
type Tool struct {
	Key     string // "lxdstar", "pylxd", "lxc", "curl", …
	Name    string // shown in the report
	Command string // shown in the report (the first run's command)
	Ref     bool   // a reference point (floor), not a competitor
	// InProcess marks a measurement made inside the harness (no process
	// start, no RSS).
	InProcess bool
	Samples   []Sample
	RSS       []int64  // peak RSS (KiB) of each memory run
	Failed    []string // runs that failed (the tool may still have numbers)
	Err       string   // why it has no numbers ("n/a (…)")
	Stats     Stats
}

// Workload is one workload's results.
type Workload struct {
	Key, Title string
	Ops        int    // operations per run (0: not a per-operation workload)
	OpName     string // "call", "instance", …
	Notes      []string
	Tools      []*Tool
}

func (w *Workload) tool(key string) *Tool {
	for _, t := range w.Tools {
		if t.Key == key {
			return t
		}
	}
	return nil
}

// Results is everything the report is made of.
type Results struct {
	Config   Config
	Machine  Machine
	Prefix   string
	Started  time.Time
	Duration time.Duration
	Load     [2]string // /proc/loadavg before and after
	Work     []*Workload
	Targets  []Target
	Profiles []Profile
}

func (r *Results) workload(key string) *Workload {
	for _, w := range r.Work {
		if w.Key == key {
			return w
		}
	}
	return nil
}

// Failures lists every tool that failed to do its work (not those that
// could not run at all: "n/a (… is not installed)").
func (r *Results) Failures() []string {
	var out []string
	for _, w := range r.Work {
		for _, t := range w.Tools {
			if t.Err != "" && !strings.HasPrefix(t.Err, "n/a") {
				out = append(out, fmt.Sprintf("%s/%s: %s", w.Key, t.Key, t.Err))
			}
		}
	}
	return out
}

// FailedRuns lists the failed runs of tools that still have numbers.
func (r *Results) FailedRuns() []string {
	var out []string
	for _, w := range r.Work {
		for _, t := range w.Tools {
			if t.Err == "" {
				for _, f := range t.Failed {
					out = append(out, fmt.Sprintf("%s/%s %s", w.Key, t.Key, f))
				}
			}
		}
	}
	return out
}

// spec is how to run one tool of a workload.
type spec struct {
	key, name string
	ref       bool
	argv      func(run int) []string
	before    func(ctx context.Context, run int) error
	verify    func(ctx context.Context, run int, out string) error
	// inProcess, when set, replaces argv: the harness measures it itself.
	inProcess func(ctx context.Context) (time.Duration, error)
	// maxRuns, when positive, caps this tool's measured runs (failed
	// ones included) below the workload's: for the slowest tools.
	maxRuns int
}

type harness struct {
	cfg    Config
	raw    *rawClient
	log    io.Writer
	prefix string
	tmp    string
	res    *Results
}

// Run runs every workload and returns the results; the bench instances are
// deleted before it returns, whatever happens. The error is set when the
// harness could not run at all; a tool that failed has its Err set instead.
func Run(ctx context.Context, cfg Config) (*Results, error) {
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 3 * time.Minute
	}
	for _, p := range []*string{&cfg.Lxdstar} {
		if abs, err := filepath.Abs(*p); err == nil {
			*p = abs
		}
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	h := &harness{cfg: cfg, raw: newRawClient(cfg.Socket), log: cfg.Log, prefix: "bench-" + hex.EncodeToString(b)}
	h.res = &Results{Config: cfg, Prefix: h.prefix, Started: time.Now()}
	h.res.Load[0] = loadavg()

	if _, _, err := h.raw.serverVersion(ctx); err != nil {
		return nil, fmt.Errorf("no LXD at %s (start it with `make testbed-up-main`): %w", cfg.Socket, err)
	}
	tmp, err := os.MkdirTemp("", "lxdstar-bench-")
	if err != nil {
		return nil, err
	}
	h.tmp = tmp
	defer os.RemoveAll(tmp)
	defer h.cleanup()
	h.removeStale(ctx)

	h.res.Machine = collectMachine(ctx, cfg, h.raw)
	if err := h.setup(ctx); err != nil {
		return nil, err
	}
	steps := []func(context.Context) *Workload{h.startup, h.list, h.exec, h.lifecycle, h.files}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h.res.Work = append(h.res.Work, step(ctx))
	}
	h.res.Targets = evaluateTargets(h.res)
	if cfg.Profile {
		h.res.Profiles = h.profiles(ctx)
	}
	h.res.Load[1] = loadavg()
	h.res.Duration = time.Since(h.res.Started)
	return h.res, ctx.Err()
}

func (h *harness) logf(format string, args ...any) {
	fmt.Fprintf(h.log, "bench: "+format+"\n", args...)
}

// Names of the bench instances.
func (h *harness) listPrefix() string { return h.prefix + "-list-" }
func (h *harness) runName() string    { return h.prefix + "-run" }
func (h *harness) lifecyclePrefix(tool string, run int) string {
	return fmt.Sprintf("%s-lc%s%d", h.prefix, tool, run)
}

const payloadPath = "/tmp/bench-payload"

func (h *harness) payloadFile() string { return filepath.Join(h.tmp, "payload.bin") }

// setup creates the listed instances (stopped), the running instance used
// by exec and files, and the payload file.
func (h *harness) setup(ctx context.Context) error {
	payload := make([]byte, h.cfg.Sizes.FileBytes)
	_, _ = rand.Read(payload)
	if err := os.WriteFile(h.payloadFile(), payload, 0o644); err != nil {
		return err
	}
	start := time.Now()
	names := make([]string, h.cfg.Sizes.List)
	for i := range names {
		names[i] = fmt.Sprintf("%s%03d", h.listPrefix(), i)
	}
	h.logf("creating %d stopped instances %s… and %s", len(names), h.listPrefix(), h.runName())
	if err := h.raw.createInstance(ctx, h.runName(), h.cfg.Image, true); err != nil {
		return err
	}
	if err := h.raw.createMany(ctx, names, h.cfg.Image, 8); err != nil {
		return err
	}
	// Warm LXD's per-instance helpers (the first exec and the first file
	// request on an instance are slower) so that no tool pays for them.
	if _, err := h.raw.execNoWebsocket(ctx, h.runName(), []string{"true"}); err != nil {
		return fmt.Errorf("warm-up exec: %w", err)
	}
	if err := h.raw.putFile(ctx, h.runName(), payloadPath, payload); err != nil {
		return fmt.Errorf("warm-up file push: %w", err)
	}
	h.logf("set up in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

// cleanup deletes every instance carrying this run's prefix.
func (h *harness) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	names, err := h.raw.namesWithPrefix(ctx, h.prefix+"-")
	if err != nil {
		h.logf("cleanup: %v", err)
		return
	}
	h.logf("deleting %d bench instances", len(names))
	if err := h.raw.deleteMany(ctx, names, 8); err != nil {
		h.logf("cleanup: %v", err)
	}
}

// stalePattern matches the names this harness gives its instances.
var stalePattern = regexp.MustCompile(`^bench-[0-9a-f]{6}-`)

// removeStale deletes bench instances left behind by a harness that was
// killed (SIGKILL leaves no chance to clean up) more than two hours ago;
// younger ones may belong to a harness still running.
func (h *harness) removeStale(ctx context.Context) {
	list, err := h.raw.instances(ctx)
	if err != nil {
		return
	}
	var stale []string
	for _, in := range list {
		if stalePattern.MatchString(in.Name) && time.Since(in.CreatedAt) > 2*time.Hour {
			stale = append(stale, in.Name)
		}
	}
	if len(stale) > 0 {
		h.logf("deleting %d stale bench instances", len(stale))
		_ = h.raw.deleteMany(ctx, stale, 8)
	}
}

// measure runs each spec runs times, interleaved and in rotating order so
// that drift and position favour no tool, after warmup unmeasured rounds;
// then memRuns more times under GNU time for the peak RSS. A failed run is
// recorded and the tool carries on with its next runs; a tool that fails
// twice, or whose command is not installed, gets no more runs.
//
// With memInTimed (long workloads, where GNU time's fork and exec, well
// under a millisecond, are noise) the timed runs are the memory runs.
func (h *harness) measure(ctx context.Context, w *Workload, specs []spec, runs, warmup, memRuns int, memInTimed bool) {
	for _, s := range specs {
		t := &Tool{Key: s.key, Name: s.name, Ref: s.ref, InProcess: s.inProcess != nil}
		if s.argv != nil {
			t.Command = h.display(s.argv(0))
		}
		w.Tools = append(w.Tools, t)
	}
	// Every run has a number of its own (lifecycle names derive from
	// it): measured runs 0…runs-1, then warm-ups, then memory runs.
	type round struct {
		run      int
		measured bool
		mem      bool
		label    string
	}
	var rounds []round
	for i := range warmup {
		rounds = append(rounds, round{run: runs + i, label: "warm-up"})
	}
	for i := range runs {
		rounds = append(rounds, round{run: i, measured: true, mem: memInTimed, label: fmt.Sprintf("run %d", i+1)})
	}
	for i := range memRuns {
		rounds = append(rounds, round{run: runs + warmup + i, mem: true, label: fmt.Sprintf("memory run %d", i+1)})
	}
	for ri, rd := range rounds {
		for i := range specs {
			k := (i + ri) % len(specs)
			s, t := specs[k], w.Tools[k]
			if t.Err != "" || len(t.Failed) >= 2 || ctx.Err() != nil {
				continue
			}
			if rd.mem && !rd.measured && s.inProcess != nil {
				continue // nothing to measure
			}
			if rd.measured && s.maxRuns > 0 && len(t.Samples)+len(t.Failed) >= s.maxRuns {
				continue
			}
			sample, err := h.one(ctx, s, rd.run, rd.mem)
			if err != nil {
				h.logf("%s/%s %s: FAILED: %v", w.Key, s.key, rd.label, err)
				if strings.HasPrefix(err.Error(), "n/a") {
					t.Err = err.Error()
				} else {
					t.Failed = append(t.Failed, rd.label+": "+err.Error())
				}
				continue
			}
			msg := ""
			if rd.measured {
				t.Samples = append(t.Samples, sample)
				msg = sample.Wall.Round(10 * time.Microsecond).String()
			}
			if rd.mem && s.inProcess == nil {
				t.RSS = append(t.RSS, sample.MaxRSSKiB)
				msg = strings.TrimSpace(msg + " peak RSS " + kib(sample.MaxRSSKiB))
			}
			if msg != "" {
				h.logf("%s/%s %s: %s", w.Key, s.key, rd.label, msg)
			}
		}
	}
	for _, t := range w.Tools {
		t.Stats = stats(t.Samples, w.Ops)
		t.Stats.MedianRSSKiB, t.Stats.MaxRSSKiB = rssStats(t.RSS)
		if t.Err == "" && len(t.Samples) == 0 && len(t.Failed) > 0 {
			t.Err = t.Failed[len(t.Failed)-1]
		}
	}
}

// one runs a spec once; mem runs it under GNU time for its peak RSS.
func (h *harness) one(ctx context.Context, s spec, run int, mem bool) (Sample, error) {
	if s.before != nil {
		if err := s.before(ctx, run); err != nil {
			return Sample{}, fmt.Errorf("preparing: %w", err)
		}
	}
	if s.inProcess != nil {
		d, err := s.inProcess(ctx)
		return Sample{Wall: d}, err
	}
	argv := s.argv(run)
	if _, err := exec.LookPath(argv[0]); err != nil {
		return Sample{}, fmt.Errorf("n/a (%s is not installed)", filepath.Base(argv[0]))
	}
	rssFile := filepath.Join(h.tmp, "rss")
	run1 := argv
	if mem && h.cfg.TimeBin != "" {
		_ = os.Remove(rssFile)
		run1 = withTimeRSS(h.cfg.TimeBin, rssFile, argv)
	}
	res, err := runProc(ctx, h.cfg.Root, childEnv(h.cfg.Socket), run1, h.cfg.Timeout)
	if err != nil {
		return Sample{}, err
	}
	if s.verify != nil {
		if err := s.verify(ctx, run, res.Stdout); err != nil {
			return Sample{}, fmt.Errorf("%s: wrong result: %w%s", h.display(argv), err, tail(res.Stderr, 300))
		}
	}
	sample := res.Sample
	if mem {
		if h.cfg.TimeBin == "" {
			sample.MaxRSSKiB = res.waitRSS
		} else if sample.MaxRSSKiB, err = readTimeRSS(rssFile); err != nil {
			return Sample{}, fmt.Errorf("reading the peak RSS from %s: %w", h.cfg.TimeBin, err)
		}
	}
	return sample, nil
}

// display shows a command as run from the repository root.
func (h *harness) display(argv []string) string {
	parts := make([]string, len(argv))
	for i, a := range argv {
		if rel, err := filepath.Rel(h.cfg.Root, a); err == nil && filepath.IsAbs(a) && !strings.HasPrefix(rel, "..") {
			a = rel
		}
		if strings.ContainsAny(a, " '\"?*&;$") || a == "" {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts[i] = a
	}
	return strings.Join(parts, " ")
}

func (h *harness) script(rel string) string { return filepath.Join("bench", rel) }

// expectLine checks that out's last line is want.
func expectLine(out, want string) error {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if got := lines[len(lines)-1]; got != want {
		return fmt.Errorf("printed %q, want %q", got, want)
	}
	return nil
}

// --- 1. startup ---------------------------------------------------------

func (h *harness) startup(ctx context.Context) *Workload {
	w := &Workload{Key: "startup", Title: "1. Startup", Notes: []string{
		"Start, do nothing, exit: `lxdstar -c 'pass'` (no LXD connection: `lxd.Client()` is never called) against `python3 -c 'import pylxd'`, with the bare interpreter for reference.",
	}}
	h.logf("workload: startup")
	h.measure(ctx, w, []spec{
		{key: "lxdstar", name: "lxdstar", argv: func(int) []string { return []string{h.cfg.Lxdstar, "-c", "pass"} }},
		{key: "pylxd", name: "pylxd", argv: func(int) []string { return []string{h.cfg.Python, "-c", "import pylxd"} }},
		{key: "python", name: "python3 alone (reference)", ref: true, argv: func(int) []string { return []string{h.cfg.Python, "-c", "pass"} }},
	}, h.cfg.Runs.Startup, 2, h.cfg.Runs.MemStartup, false)
	return w
}

// --- 2. list ------------------------------------------------------------

func (h *harness) list(ctx context.Context) *Workload {
	n := h.cfg.Sizes.List
	w := &Workload{Key: "list", Title: "2. List", Notes: []string{
		fmt.Sprintf("%d stopped busybox containers named `%s…` are created once; every tool lists all instances on the server (other engineers' instances included) and the harness checks that each one saw all %d bench instances with their config.", n, h.listPrefix(), n),
		"pylxd 2.2.10's `containers.all()` returns name-only objects: reading `.config` does one GET per container.",
		"`lxc list --format json` asks for `recursion=2` (state and snapshots too): that is what the CLI does.",
	}}
	h.logf("workload: list")
	want := fmt.Sprintf("list-ok %d %d", n, n)
	verifyScript := func(_ context.Context, _ int, out string) error {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if !strings.HasPrefix(lines[len(lines)-1]+" ", want+" ") {
			return fmt.Errorf("printed %q, want %q followed by the total", lines[len(lines)-1], want)
		}
		return nil
	}
	verifyJSON := func(wrapped bool) func(context.Context, int, string) error {
		return func(_ context.Context, _ int, out string) error {
			var list []instanceInfo
			data := []byte(out)
			if wrapped {
				var env envelope
				if err := json.Unmarshal(data, &env); err != nil {
					return err
				}
				data = env.Metadata
			}
			if err := json.Unmarshal(data, &list); err != nil {
				return err
			}
			matched, withConfig := 0, 0
			for _, in := range list {
				if strings.HasPrefix(in.Name, h.listPrefix()) {
					matched++
					if in.Config["volatile.base_image"] != "" {
						withConfig++
					}
				}
			}
			if matched != n || withConfig != n {
				return fmt.Errorf("saw %d bench instances, %d with config; want %d", matched, withConfig, n)
			}
			return nil
		}
	}
	h.measure(ctx, w, []spec{
		{key: "lxdstar", name: "lxdstar", verify: verifyScript,
			argv: func(int) []string { return []string{h.cfg.Lxdstar, h.script("star/list.star"), h.listPrefix()} }},
		{key: "pylxd", name: "pylxd", verify: verifyScript,
			argv: func(int) []string { return []string{h.cfg.Python, h.script("pylxd/list.py"), h.listPrefix()} }},
		{key: "lxc", name: "lxc list", verify: verifyJSON(false),
			argv: func(int) []string { return []string{h.cfg.Lxc, "list", "--format", "json"} }},
		{key: "curl", name: "curl (raw API, floor)", ref: true, verify: verifyJSON(true),
			argv: func(int) []string {
				return []string{h.cfg.Curl, "-sS", "--unix-socket", h.cfg.Socket, "http://x/1.0/instances?recursion=1"}
			}},
	}, h.cfg.Runs.List, 1, h.cfg.Runs.MemList, false)
	return w
}

// --- 3. exec ------------------------------------------------------------

func (h *harness) exec(ctx context.Context) *Workload {
	n := h.cfg.Sizes.Exec
	cmd := h.cfg.Sizes.ExecCmd
	w := &Workload{Key: "exec", Title: "3. Exec", Ops: n, OpName: "call", Notes: []string{
		fmt.Sprintf("%d sequential `%s` in one running busybox container, in one script/process (lxc: one process per call, from a shell loop). Per call = the whole run (process start included) / %d.", n, strings.Join(cmd, " "), n),
		"The two raw-API references are measured inside the harness (no process start, kept-alive connections), with a minimal client of net/http and gorilla/websocket. _No websockets_: `POST /1.0/instances/<name>/exec` with `wait-for-websocket: false` and `record-output: false`, then `GET /1.0/operations/<id>/wait` — LXD's own cost of running a command, with no output transport at all. _With websockets_: the same with `wait-for-websocket: true`, stdin, stdout and stderr dialled at once (the fewest sockets LXD accepts), both outputs read to their end: the least any client that returns a command's output can ask of LXD. Both are floors, give or take the noise of a shared machine.",
	}}
	h.logf("workload: exec")
	want := strings.Repeat(h.cfg.Sizes.ExecOut, n) + fmt.Sprintf("exec-ok %d\n", n)
	verify := func(_ context.Context, _ int, out string) error {
		if out != want {
			return fmt.Errorf("stdout %.200q, want %.200q", out, want)
		}
		return nil
	}
	args := append([]string{h.runName(), strconv.Itoa(n)}, cmd...)
	h.measure(ctx, w, []spec{
		{key: "lxdstar", name: "lxdstar", verify: verify,
			argv: func(int) []string { return append([]string{h.cfg.Lxdstar, h.script("star/exec.star")}, args...) }},
		{key: "pylxd", name: "pylxd", verify: verify, maxRuns: h.cfg.Runs.ExecPylxd,
			argv: func(int) []string { return append([]string{h.cfg.Python, h.script("pylxd/exec.py")}, args...) }},
		{key: "lxc", name: "lxc exec (shell loop)", verify: verify,
			argv: func(int) []string { return append([]string{"/bin/sh", h.script("sh/exec.sh")}, args...) }},
		h.rawExecSpec("raw", "raw API, no websockets (in-process reference)", n, func(ctx context.Context) (int, *string, error) {
			code, err := h.raw.execNoWebsocket(ctx, h.runName(), cmd)
			return code, nil, err
		}),
		h.rawExecSpec("rawws", "raw API with websockets (in-process reference)", n, func(ctx context.Context) (int, *string, error) {
			code, out, err := h.raw.execWithWebsockets(ctx, h.runName(), cmd)
			return code, &out, err
		}),
	}, h.cfg.Runs.Exec, 0, 0, h.cfg.TimeBin != "")
	return w
}

// rawExecSpec is an in-process raw-API reference for the exec workload: n
// sequential calls of one, each checked for exit status 0 and, when one
// returns the output (out not nil), the expected stdout.
func (h *harness) rawExecSpec(key, name string, n int, one func(context.Context) (code int, out *string, err error)) spec {
	want := h.cfg.Sizes.ExecOut
	return spec{key: key, name: name, ref: true,
		inProcess: func(ctx context.Context) (time.Duration, error) {
			start := time.Now()
			for range n {
				code, out, err := one(ctx)
				if err != nil {
					return 0, err
				}
				if code != 0 {
					return 0, fmt.Errorf("exit status %d, want 0", code)
				}
				if out != nil && *out != want {
					return 0, fmt.Errorf("stdout %.100q, want %q", *out, want)
				}
			}
			return time.Since(start), nil
		}}
}

// --- 4. lifecycle -------------------------------------------------------

func (h *harness) lifecycle(ctx context.Context) *Workload {
	n := h.cfg.Sizes.Lifecycle
	w := &Workload{Key: "lifecycle", Title: "4. Lifecycle fan-out", Ops: n, OpName: "container", Notes: []string{
		fmt.Sprintf("Create + start + stop + delete %d containers from the `%s` image. lxdstar concurrent: each phase launched for all containers with `wait=False`, then `lxd.wait_all`. The others: one container after the other, each step waited for. Stops are forced (pylxd's and lxdstar's default; `lxc stop --force`).", n, h.cfg.Image),
	}}
	h.logf("workload: lifecycle")
	want := fmt.Sprintf("lifecycle-ok %d %d %d", n, n, n)
	mk := func(key, name, short string, argv func(prefix string) []string) spec {
		return spec{key: key, name: name,
			argv: func(run int) []string { return argv(h.lifecyclePrefix(short, run)) },
			verify: func(ctx context.Context, run int, out string) error {
				if err := expectLine(out, want); err != nil {
					return err
				}
				left, err := h.raw.namesWithPrefix(ctx, h.lifecyclePrefix(short, run)+"-")
				if err != nil {
					return err
				}
				if len(left) > 0 {
					return fmt.Errorf("%d containers left behind: %v", len(left), left)
				}
				return nil
			}}
	}
	ns := strconv.Itoa(n)
	h.measure(ctx, w, []spec{
		mk("lxdstar-concurrent", "lxdstar concurrent (wait_all)", "c", func(p string) []string {
			return []string{h.cfg.Lxdstar, h.script("star/lifecycle_concurrent.star"), p, ns, h.cfg.Image}
		}),
		mk("lxdstar", "lxdstar sequential", "s", func(p string) []string {
			return []string{h.cfg.Lxdstar, h.script("star/lifecycle_sequential.star"), p, ns, h.cfg.Image}
		}),
		mk("pylxd", "pylxd sequential", "p", func(p string) []string {
			return []string{h.cfg.Python, h.script("pylxd/lifecycle.py"), p, ns, h.cfg.Image}
		}),
		mk("lxc", "lxc (shell loop)", "l", func(p string) []string {
			return []string{"/bin/sh", h.script("sh/lifecycle.sh"), p, ns, h.cfg.Image}
		}),
	}, h.cfg.Runs.Lifecycle, 0, 0, false)
	return w
}

// --- 5. files -----------------------------------------------------------

func (h *harness) files(ctx context.Context) *Workload {
	n := h.cfg.Sizes.Files
	size := h.cfg.Sizes.FileBytes
	w := &Workload{Key: "files", Title: "5. Files", Ops: n, OpName: "put+get", Notes: []string{
		fmt.Sprintf("%d × (put + get) of a %s random file to `%s` in the running container. Before each run the file is deleted; after it the harness reads it back through the raw API and compares it with the original.", n, humanBytes(int64(size)), payloadPath),
		"lxdstar and pylxd compare every copy read back in memory; the lxc loop compares the last one it pulled (`cmp`).",
	}}
	h.logf("workload: files")
	payload, err := os.ReadFile(h.payloadFile())
	if err != nil {
		w.Notes = append(w.Notes, "payload unreadable: "+err.Error())
		return w
	}
	want := fmt.Sprintf("files-ok %d %d", n, size)
	before := func(ctx context.Context, _ int) error { return h.raw.deleteFile(ctx, h.runName(), payloadPath) }
	verify := func(ctx context.Context, _ int, out string) error {
		if err := expectLine(out, want); err != nil {
			return err
		}
		got, err := h.raw.getFile(ctx, h.runName(), payloadPath)
		if err != nil {
			return err
		}
		if string(got) != string(payload) {
			return fmt.Errorf("the file in the instance has %d bytes, not the %d pushed", len(got), len(payload))
		}
		return nil
	}
	args := []string{h.runName(), strconv.Itoa(n), h.payloadFile(), payloadPath}
	h.measure(ctx, w, []spec{
		{key: "lxdstar", name: "lxdstar", before: before, verify: verify,
			argv: func(int) []string { return append([]string{h.cfg.Lxdstar, h.script("star/files.star")}, args...) }},
		{key: "pylxd", name: "pylxd", before: before, verify: verify,
			argv: func(int) []string { return append([]string{h.cfg.Python, h.script("pylxd/files.py")}, args...) }},
		{key: "lxc", name: "lxc file push/pull (shell loop)", before: before, verify: verify,
			argv: func(int) []string {
				return append([]string{"/bin/sh", h.script("sh/files.sh")}, append(args, filepath.Join(h.tmp, "pulled.bin"))...)
			}},
	}, h.cfg.Runs.Files, 0, 0, false)
	return w
}

// peakRSS returns the median max RSS of tool key in workload wk.
func (r *Results) peakRSS(wk, key string) (int64, bool) {
	w := r.workload(wk)
	if w == nil {
		return 0, false
	}
	t := w.tool(key)
	if t == nil || len(t.RSS) == 0 {
		return 0, false
	}
	return t.Stats.MedianRSSKiB, true
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

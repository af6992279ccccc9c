package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Sizes is how much work each workload does per run.
type Sizes struct {
	List      int      // instances listed (created once, stopped)
	ListLarge int      // instances of the large listing (List plus more)
	Exec      int      // sequential commands
	ExecCmd   []string // the command run by the exec workload
	ExecOut   string   // what one ExecCmd prints on stdout
	Conc      int      // running containers that run ConcCmd at once
	ConcCmd   []string
	ConcOut   string // what one ConcCmd prints on stdout
	Lifecycle int    // containers created, started, stopped and deleted
	Files     int    // put+get round trips
	FileBytes int    // size of the file pushed and pulled
	BigFile   int64  // size of the file the big-file workload pushes and pulls
	Soak      Soak
	IncusList int // instances listed on Incus
}

// Soak is the long run of one process: Execs commands and Files put+get
// round trips spread over Duration, with an event stream open.
type Soak struct {
	Execs, Files int
	Duration     time.Duration
}

// Runs is how many measured runs each workload gets (the report shows
// medians).
type Runs struct {
	Startup, List, ListLarge, Exec, Conc, Lifecycle, Files, BigFile int
	// ExecPylxd caps pylxd's exec runs (≈ 0.5 s a call), Slow the runs
	// of pylxd and the CLI in the large listing and the big file (seconds
	// each); 0: no cap.
	ExecPylxd, Slow int
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
	// IncusSocket is an Incus daemon's unix socket, for the list, exec
	// and files workloads against Incus; "" leaves them out.
	IncusSocket string
	Image       string // image alias of a container image whose init stops fast, on both servers
	// Only, when not empty, runs just these workloads (by key; the
	// Incus ones are "incus-…"): for trying a change, not for the report.
	Only map[string]bool
	// Baseline is another lxdstar binary (a build of main, say) measured
	// beside Lxdstar as a reference in every lxdstar workload; "": none.
	Baseline string
	Sizes    Sizes
	Runs     Runs
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

// FullSizes are the sizes of GitHub issues #8 and #18.
func FullSizes() Sizes {
	return Sizes{List: 100, ListLarge: 1000, Exec: 50, ExecCmd: []string{"true"},
		Conc: 20, ConcCmd: []string{"sh", "-c", "sleep 0.2; echo bench"}, ConcOut: "bench\n",
		Lifecycle: 20, Files: 50, FileBytes: 1 << 20, BigFile: 256 << 20,
		Soak: Soak{Execs: 2000, Files: 2000, Duration: 10 * time.Minute}, IncusList: 100}
}

// FullRuns keep `make bench` within about half an hour on two cores, ten
// minutes of it the soak. Exec gets 9 runs: a single exec's cost at LXD
// varies by a factor of two from call to call, and each run is only a
// second or two (but pylxd's 27 s).
func FullRuns() Runs {
	return Runs{Startup: 20, List: 15, ListLarge: 9, Exec: 9, ExecPylxd: 3, Slow: 3, Conc: 7, Lifecycle: 3, Files: 3, BigFile: 3,
		MemStartup: 3, MemList: 3}
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
	Soak     *SoakResult // nil: not run
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
	// env is the tool's environment (nil: the LXD server's).
	env []string
	// naWhen, when a failed run's error holds it, makes the tool n/a
	// for the reason naWhy rather than failed (a feature this lxdstar
	// lacks).
	naWhen, naWhy string
	// maxRuns, when positive, caps this tool's measured runs (failed
	// ones included) below the workload's, and leaves it no warm-up and
	// one separate memory run: for the slowest tools.
	maxRuns int
}

type harness struct {
	cfg    Config
	lxd    *server
	incus  *server // nil: no Incus workloads
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
	for _, p := range []*string{&cfg.Lxdstar, &cfg.Baseline} {
		if *p == "" {
			continue
		}
		if abs, err := filepath.Abs(*p); err == nil {
			*p = abs
		}
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	h := &harness{cfg: cfg, lxd: lxdServer(cfg.Socket, cfg.Lxc), log: cfg.Log, prefix: "bench-" + hex.EncodeToString(b)}
	h.res = &Results{Config: cfg, Prefix: h.prefix, Started: time.Now()}
	h.res.Load[0] = loadavg()

	if _, _, err := h.lxd.raw.serverVersion(ctx); err != nil {
		return nil, fmt.Errorf("no LXD at %s (start it with `make testbed-up-main`): %w", cfg.Socket, err)
	}
	if cfg.IncusSocket != "" {
		h.incus = incusServer(cfg.IncusSocket)
		if _, _, err := h.incus.raw.serverVersion(ctx); err != nil {
			return nil, fmt.Errorf("no Incus at %s (start it with `make testbed-up`, or leave Incus out with -incus ''): %w", cfg.IncusSocket, err)
		}
	}
	tmp, err := os.MkdirTemp("", "lxdstar-bench-")
	if err != nil {
		return nil, err
	}
	h.tmp = tmp
	defer os.RemoveAll(tmp)
	defer h.cleanup()
	h.removeStale(ctx)

	h.res.Machine = collectMachine(ctx, cfg, h.lxd, h.incus)
	// A run of some workloads (-only) creates only the instances they use.
	list, conc := h.cfg.Sizes.List, h.cfg.Sizes.Conc
	if len(cfg.Only) > 0 && !cfg.Only["list"] {
		list = 0
	}
	if len(cfg.Only) > 0 && !cfg.Only["conc"] {
		conc = 0
	}
	if err := h.setup(ctx, h.lxd, list, conc); err != nil {
		return nil, err
	}
	for _, step := range h.steps() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(cfg.Only) > 0 && !cfg.Only[step.key] {
			continue
		}
		if step.before != nil {
			if err := step.before(ctx); err != nil {
				return nil, err
			}
		}
		h.res.Work = append(h.res.Work, step.run(ctx))
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
func (h *harness) concPrefix() string { return h.prefix + "-conc-" }
func (h *harness) lifecyclePrefix(tool string, run int) string {
	return fmt.Sprintf("%s-lc%s%d", h.prefix, tool, run)
}

const payloadPath = "/tmp/bench-payload"

func (h *harness) payloadFile() string { return filepath.Join(h.tmp, "payload.bin") }
func (h *harness) bigPayload() string  { return filepath.Join(h.tmp, "big.bin") }

// step is one workload of the run, in the report's order; before
// prepares what it needs beyond setup.
type step struct {
	key    string
	before func(context.Context) error
	run    func(context.Context) *Workload
}

func (h *harness) steps() []step {
	lxd := h.lxd
	steps := []step{
		{key: "startup", run: h.startup},
		{key: "list", run: func(ctx context.Context) *Workload { return h.list(ctx, lxd, "list", "2. List", h.cfg.Sizes.List) }},
		{key: "exec", run: func(ctx context.Context) *Workload { return h.exec(ctx, lxd, "exec", "3. Exec") }},
		{key: "conc", run: h.concurrentExec},
		{key: "lifecycle", run: h.lifecycle},
		{key: "files", run: func(ctx context.Context) *Workload { return h.files(ctx, lxd, "files", "6. Files") }},
		{key: "bigfile", run: func(ctx context.Context) *Workload { return h.bigFile(ctx, lxd, "bigfile", "7. Big file") }},
		{key: "list-large", before: func(ctx context.Context) error { return h.createList(ctx, lxd, h.cfg.Sizes.ListLarge) },
			run: func(ctx context.Context) *Workload {
				return h.list(ctx, lxd, "list-large", fmt.Sprintf("8. List %d", h.cfg.Sizes.ListLarge), h.cfg.Sizes.ListLarge)
			}},
		{key: "soak", run: h.soak},
	}
	if h.incus == nil {
		return steps
	}
	inc := h.incus
	return append(steps,
		step{key: "incus-list", before: func(ctx context.Context) error { return h.setup(ctx, inc, h.cfg.Sizes.IncusList, 0) },
			run: func(ctx context.Context) *Workload {
				return h.list(ctx, inc, "incus-list", "10. Incus: list", h.cfg.Sizes.IncusList)
			}},
		step{key: "incus-exec", run: func(ctx context.Context) *Workload { return h.exec(ctx, inc, "incus-exec", "11. Incus: exec") }},
		step{key: "incus-files", run: func(ctx context.Context) *Workload { return h.files(ctx, inc, "incus-files", "12. Incus: files") }},
		step{key: "incus-bigfile", run: func(ctx context.Context) *Workload {
			return h.bigFile(ctx, inc, "incus-bigfile", "13. Incus: big file")
		}})
}

// servers are the servers this run uses.
func (h *harness) servers() []*server {
	if h.incus == nil {
		return []*server{h.lxd}
	}
	return []*server{h.lxd, h.incus}
}

// setup prepares a server: list stopped instances, the running instance
// used by exec and files, conc more running ones for the concurrent exec,
// and (once) the payload files.
func (h *harness) setup(ctx context.Context, srv *server, list, conc int) error {
	if _, err := os.Stat(h.payloadFile()); err != nil {
		payload := make([]byte, h.cfg.Sizes.FileBytes)
		_, _ = rand.Read(payload)
		if err := os.WriteFile(h.payloadFile(), payload, 0o644); err != nil {
			return err
		}
		if err := writeRandomFile(h.bigPayload(), h.cfg.Sizes.BigFile); err != nil {
			return err
		}
	}
	start := time.Now()
	h.logf("%s: creating %s and %d running instances %s…", srv.Name, h.runName(), conc, h.concPrefix())
	running := []string{h.runName()}
	for i := range conc {
		running = append(running, fmt.Sprintf("%s%02d", h.concPrefix(), i))
	}
	if err := forEach(running, 8, func(n string) error { return srv.raw.createInstance(ctx, n, h.cfg.Image, true) }); err != nil {
		return err
	}
	if err := h.createList(ctx, srv, list); err != nil {
		return err
	}
	// Warm the server's per-instance helpers (the first exec and the
	// first file request on an instance are slower) so that no tool pays
	// for them.
	for _, n := range running {
		if _, err := srv.raw.execNoWebsocket(ctx, n, []string{"true"}); err != nil {
			return fmt.Errorf("warm-up exec in %s: %w", n, err)
		}
	}
	if err := srv.raw.putFile(ctx, h.runName(), payloadPath, []byte("warm-up")); err != nil {
		return fmt.Errorf("warm-up file push: %w", err)
	}
	h.logf("%s: set up in %s", srv.Name, time.Since(start).Round(time.Millisecond))
	return nil
}

// createList makes sure n stopped instances named listPrefix000… exist.
func (h *harness) createList(ctx context.Context, srv *server, n int) error {
	have, err := srv.raw.namesWithPrefix(ctx, h.listPrefix())
	if err != nil {
		return err
	}
	exists := map[string]bool{}
	for _, name := range have {
		exists[name] = true
	}
	var names []string
	for i := range n {
		if name := fmt.Sprintf("%s%04d", h.listPrefix(), i); !exists[name] {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	start := time.Now()
	h.logf("%s: creating %d stopped instances %s…", srv.Name, len(names), h.listPrefix())
	if err := srv.raw.createMany(ctx, names, h.cfg.Image, 8); err != nil {
		return err
	}
	h.logf("%s: created them in %s", srv.Name, time.Since(start).Round(time.Millisecond))
	return nil
}

// cleanup deletes every instance carrying this run's prefix, on every
// server.
func (h *harness) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	for _, srv := range h.servers() {
		names, err := srv.raw.namesWithPrefix(ctx, h.prefix+"-")
		if err != nil {
			h.logf("cleanup: %v", err)
			continue
		}
		start := time.Now()
		h.logf("%s: deleting %d bench instances", srv.Name, len(names))
		if err := srv.raw.deleteMany(ctx, names, 8); err != nil {
			h.logf("cleanup: %v", err)
		}
		h.logf("%s: deleted them in %s", srv.Name, time.Since(start).Round(time.Millisecond))
	}
}

// stalePattern matches the names this harness gives its instances.
var stalePattern = regexp.MustCompile(`^bench-[0-9a-f]{6}-`)

// removeStale deletes bench instances left behind by a harness that was
// killed (SIGKILL leaves no chance to clean up) more than two hours ago;
// younger ones may belong to a harness still running.
func (h *harness) removeStale(ctx context.Context) {
	for _, srv := range h.servers() {
		list, err := srv.raw.instances(ctx)
		if err != nil {
			continue
		}
		var stale []string
		for _, in := range list {
			if stalePattern.MatchString(in.Name) && time.Since(in.CreatedAt) > 2*time.Hour {
				stale = append(stale, in.Name)
			}
		}
		if len(stale) > 0 {
			h.logf("%s: deleting %d stale bench instances", srv.Name, len(stale))
			_ = srv.raw.deleteMany(ctx, stale, 8)
		}
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
	specs = h.withBaseline(specs)
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
			if s.maxRuns > 0 && (rd.measured && len(t.Samples)+len(t.Failed) >= s.maxRuns ||
				!rd.measured && !rd.mem || !rd.measured && len(t.RSS) > 0) {
				continue // the slowest tools: no warm-up, one memory run
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

// withBaseline adds to the lxdstar tool of specs the same runs of the
// Baseline binary, as a reference: a change and what it changed measured
// side by side, in one run.
func (h *harness) withBaseline(specs []spec) []spec {
	if h.cfg.Baseline == "" {
		return specs
	}
	for _, s := range specs {
		if s.key != "lxdstar" || s.argv == nil {
			continue
		}
		b, argv := s, s.argv
		b.key, b.name, b.ref = "baseline", "lxdstar baseline", true
		b.argv = func(run int) []string {
			args := slices.Clone(argv(run))
			if i := slices.Index(args, h.cfg.Lxdstar); i >= 0 {
				args[i] = h.cfg.Baseline
			}
			return args
		}
		return append(specs, b)
	}
	return specs
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
	env := s.env
	if env == nil {
		env = h.lxd.env()
	}
	res, err := runProc(ctx, h.cfg.Root, env, run1, h.cfg.Timeout)
	if err != nil {
		if s.naWhen != "" && strings.Contains(err.Error(), s.naWhen) {
			return Sample{}, fmt.Errorf("n/a (%s)", s.naWhy)
		}
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

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Profile shows where lxdstar's time (or memory) goes in one workload
// whose target was missed.
type Profile struct {
	Title    string
	Sections []ProfileSection
}

// ProfileSection is a heading with text and/or preformatted output.
type ProfileSection struct {
	Heading string
	Text    string // markdown
	Code    string // preformatted
}

// profiles profiles every lxdstar workload with a missed target.
func (h *harness) profiles(ctx context.Context) []Profile {
	timeWk, memWk := map[string]bool{}, map[string]bool{}
	if h.cfg.ProfileAll {
		for _, wk := range profiled {
			timeWk[wk] = true
		}
	}
	for _, t := range h.res.Targets {
		if !t.Missed() {
			continue
		}
		if t.Memory {
			memWk[t.Workload] = true
		} else {
			timeWk[t.Workload] = true
		}
	}
	var out []Profile
	var testBin string
	build := func() (string, error) {
		if testBin != "" {
			return testBin, nil
		}
		bin := filepath.Join(h.tmp, "bench.test")
		cmd := exec.CommandContext(ctx, goTool(), "test", "-c", "-o", bin, "./bench")
		cmd.Dir = h.cfg.Root
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go test -c ./bench: %v: %s", err, b)
		}
		testBin = bin
		return bin, nil
	}
	for _, wk := range profiled {
		if !timeWk[wk] && !memWk[wk] {
			continue
		}
		h.logf("profiling lxdstar: %s", wk)
		p := Profile{Title: "lxdstar, workload " + wk}
		if wk == "startup" {
			p.Sections = h.startupProfile(ctx)
			out = append(out, p)
			continue
		}
		script, args, iters := h.profileScript(wk)
		if timeWk[wk] {
			if wk == "exec" {
				p.Sections = append(p.Sections, h.execFloor())
			}
			p.Sections = append(p.Sections, h.traceBreakdown(ctx, wk, script, args))
		}
		bin, err := build()
		if err != nil {
			p.Sections = append(p.Sections, ProfileSection{Heading: "Go profile", Text: "not available: " + err.Error()})
			out = append(out, p)
			continue
		}
		if timeWk[wk] {
			p.Sections = append(p.Sections, h.pprof(ctx, bin, "cpu", script, args(100), iters))
		}
		if memWk[wk] {
			p.Sections = append(p.Sections, h.memoryBaseline())
			p.Sections = append(p.Sections, h.pprof(ctx, bin, "mem", script, args(200), iters))
		}
		out = append(out, p)
	}
	return out
}

// profiled are the workloads that can be profiled, in the report's order.
var profiled = []string{"startup", "list", "exec", "conc", "lifecycle", "bigfile", "list-large"}

// profileScript returns the lxdstar script of workload wk, its arguments
// for run number n (names must be fresh for lifecycle) and how many times
// the Go benchmark should run it.
func (h *harness) profileScript(wk string) (string, func(n int) []string, int) {
	s := h.cfg.Sizes
	switch wk {
	case "list", "list-large":
		return "star/list.star", func(int) []string { return []string{h.listPrefix()} }, 20
	case "conc":
		return "star/exec_concurrent.star", func(int) []string { return append([]string{h.concPrefix()}, s.ConcCmd...) }, 3
	case "bigfile":
		return "star/bigfile.star", func(int) []string {
			return []string{h.runName(), h.bigPayload(), bigPath, h.tmp + "/big-profiled.bin"}
		}, 1
	case "exec":
		return "star/exec.star", func(int) []string {
			return append([]string{h.runName(), strconv.Itoa(s.Exec)}, s.ExecCmd...)
		}, 3
	default: // lifecycle
		return "star/lifecycle_concurrent.star", func(n int) []string {
			return []string{h.lifecyclePrefix("x", n), strconv.Itoa(s.Lifecycle), h.cfg.Image}
		}, 1
	}
}

// traceLine is one line of LXDSTAR_TRACE output.
var traceLine = regexp.MustCompile(`^lxdstar: (\S+) (\S+) (\S+) (\S+)$`)

var (
	instanceSeg  = regexp.MustCompile(`/1\.0/instances/[^/?]+`)
	operationSeg = regexp.MustCompile(`/1\.0/operations/[^/?]+`)
)

// normalizeTarget turns a request path into its kind: names and ids
// replaced, query values dropped.
func normalizeTarget(target string) string {
	path, query, _ := strings.Cut(target, "?")
	path = instanceSeg.ReplaceAllString(path, "/1.0/instances/{name}")
	path = operationSeg.ReplaceAllString(path, "/1.0/operations/{id}")
	if query == "" {
		return path
	}
	var keys []string
	for _, kv := range strings.Split(query, "&") {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, k+"=…")
	}
	return path + "?" + strings.Join(keys, "&")
}

// requestKind aggregates the traced requests of one kind.
type requestKind struct {
	Kind  string
	Count int
	Total time.Duration
}

// traceSummary is what a traced run spent in HTTP requests.
type traceSummary struct {
	Kinds    []requestKind // largest total first
	Sum      time.Duration // all request durations added up
	InFlight time.Duration // time during which at least one request was in flight
}

// parseTrace aggregates LXDSTAR_TRACE lines by request kind. A line is
// printed when the response headers arrive, so a request occupies
// [arrival − duration, arrival]; the union of these intervals is the time
// lxdstar was waiting on LXD.
func parseTrace(lines []timedLine) traceSummary {
	byKind := map[string]*requestKind{}
	type span struct{ from, to time.Duration }
	var spans []span
	var sum traceSummary
	for _, line := range lines {
		m := traceLine.FindStringSubmatch(strings.TrimSpace(line.Text))
		if m == nil {
			continue
		}
		d, err := time.ParseDuration(m[4])
		if err != nil {
			continue
		}
		kind := m[1] + " " + normalizeTarget(m[2])
		k := byKind[kind]
		if k == nil {
			k = &requestKind{Kind: kind}
			byKind[kind] = k
		}
		k.Count++
		k.Total += d
		sum.Sum += d
		spans = append(spans, span{max(line.At-d, 0), line.At})
	}
	for _, k := range byKind {
		sum.Kinds = append(sum.Kinds, *k)
	}
	slices.SortFunc(sum.Kinds, func(a, b requestKind) int {
		if a.Total != b.Total {
			return int(b.Total - a.Total)
		}
		return strings.Compare(a.Kind, b.Kind)
	})
	slices.SortFunc(spans, func(a, b span) int { return int(a.from - b.from) })
	var cur span
	for i, s := range spans {
		switch {
		case i == 0:
			cur = s
		case s.from > cur.to:
			sum.InFlight += cur.to - cur.from
			cur = s
		case s.to > cur.to:
			cur.to = s.to
		}
	}
	if len(spans) > 0 {
		sum.InFlight += cur.to - cur.from
	}
	return sum
}

// traceBreakdown runs the workload once with LXDSTAR_TRACE=1 and shows the
// wall time spent in each kind of request.
func (h *harness) traceBreakdown(ctx context.Context, wk, script string, args func(int) []string) ProfileSection {
	sec := ProfileSection{Heading: "Where the wall time goes (one run with `LXDSTAR_TRACE=1`)"}
	argv := append([]string{h.cfg.Lxdstar, h.script(script)}, args(0)...)
	res, lines, err := runTimed(ctx, h.cfg.Root, h.lxd.env("LXDSTAR_TRACE=1"), argv, h.cfg.Timeout)
	if err != nil {
		sec.Text = "trace run failed: " + err.Error()
		return sec
	}
	tr := parseTrace(lines)
	pct := func(d time.Duration) string { return fmt.Sprintf("%.0f%%", 100*float64(d)/float64(res.Wall)) }
	var b strings.Builder
	fmt.Fprintf(&b, "`%s`: wall %s, of which lxdstar was on a CPU (user+sys) for %s.\n\n", h.display(argv), ms(res.Wall), ms(res.CPU))
	if w := h.res.workload(wk); w != nil && w.Ops > 0 {
		n := time.Duration(w.Ops)
		fmt.Fprintf(&b, "Per %s: %s in all, %s waiting for LXD, %s elsewhere.\n\n", w.OpName, ms(res.Wall/n), ms(tr.InFlight/n), ms((res.Wall-tr.InFlight)/n))
	}
	fmt.Fprintf(&b, "* Waiting for LXD (at least one request in flight, from sending it to its response headers): **%s (%s of the wall time)**.\n", ms(tr.InFlight), pct(tr.InFlight))
	fmt.Fprintf(&b, "* No request in flight — process start, Starlark, building requests, reading and decoding response bodies, websocket traffic after the upgrade: **%s (%s)**.\n", ms(res.Wall-tr.InFlight), pct(res.Wall-tr.InFlight))
	if tr.Sum > tr.InFlight+tr.InFlight/20 {
		fmt.Fprintf(&b, "* Requests overlap (concurrent): their durations add up to %s.\n", ms(tr.Sum))
	}
	b.WriteString("\n| request kind | count | total | mean | total ÷ wall |\n|---|---:|---:|---:|---:|\n")
	for _, k := range tr.Kinds {
		fmt.Fprintf(&b, "| `%s` | %d | %s | %s | %s |\n", k.Kind, k.Count, ms(k.Total), ms(k.Total/time.Duration(k.Count)), pct(k.Total))
	}
	sec.Text = b.String()
	return sec
}

// pprof runs the workload's script in-process (lxdstar.New(…).RunFile) under
// the Go benchmark BenchmarkScript with a CPU or memory profile and shows
// the top of it.
func (h *harness) pprof(ctx context.Context, bin, kind, script string, args []string, iters int) ProfileSection {
	prof := filepath.Join(h.tmp, kind+".prof")
	flag := "cpuprofile"
	heading := "CPU profile"
	if kind == "mem" {
		flag = "memprofile"
		heading = "Memory profile (bytes allocated)"
		iters = 1
	}
	argsJSON, _ := json.Marshal(args)
	sec := ProfileSection{Heading: heading}
	cmdline := fmt.Sprintf("BENCH_SCRIPT=bench/%s BENCH_ARGS='%s' go test ./bench -run '^$' -bench '^BenchmarkScript$' -benchtime %dx -%s %s.prof", script, argsJSON, iters, flag, kind)
	cmd := exec.CommandContext(ctx, bin, "-test.run=^$", "-test.bench=^BenchmarkScript$", fmt.Sprintf("-test.benchtime=%dx", iters), "-test."+flag+"="+prof)
	cmd.Dir = h.tmp
	cmd.Env = append(h.lxd.env(),
		"BENCH_SCRIPT="+filepath.Join(h.cfg.Root, h.script(script)),
		"BENCH_ARGS="+string(argsJSON),
		"BENCH_SOCKET="+h.cfg.Socket)
	out, err := cmd.CombinedOutput()
	if err != nil {
		sec.Text = fmt.Sprintf("`%s` failed: %v\n\n```\n%s\n```", cmdline, err, tail(string(out), 1500))
		return sec
	}
	bench := ""
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "BenchmarkScript") {
			bench = strings.Join(strings.Fields(line), " ")
		}
	}
	top := func(extra ...string) string {
		args := append([]string{"tool", "pprof", "-top"}, extra...)
		out, err := exec.CommandContext(ctx, goTool(), append(args, bin, prof)...).CombinedOutput()
		if err != nil {
			return fmt.Sprintf("go tool pprof failed: %v: %s", err, out)
		}
		// Drop the lines that only identify the file.
		var keep []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if !strings.HasPrefix(l, "File:") && !strings.HasPrefix(l, "Build ID:") && !strings.HasPrefix(l, "Time:") {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	sec.Text = fmt.Sprintf("The same Starlark script run in-process %d× through `lxdstar.New(…).RunFile`, no process start (`%s`): `%s`.", iters, cmdline, bench)
	if kind == "cpu" {
		sec.Text += " `Total samples` against `Duration` is the share of the wall time lxdstar spent on a CPU; for the rest it was waiting for LXD. First the functions that use the CPU themselves, then the call paths through lxdstar's code (cumulative)."
		sec.Code = top("-nodecount=15") + "\n\n" + top("-cum", "-nodecount=30", "-focus=github.com/lxdstar")
	} else {
		sec.Code = top("-nodecount=20", "-sample_index=alloc_space")
	}
	return sec
}

// execFloor compares the exec tools with LXD's own cost of an exec (the
// in-process raw-API references): the best ratios any client could reach.
func (h *harness) execFloor() ProfileSection {
	sec := ProfileSection{Heading: "The floor set by LXD"}
	w := h.res.workload("exec")
	per := func(key string) (time.Duration, bool) {
		d, why := h.res.wallOf("exec", key)
		if why != "" || w.Ops == 0 {
			return 0, false
		}
		return d / time.Duration(w.Ops), true
	}
	bare, ok1 := per("raw")
	ws, ok2 := per("rawws")
	lx, ok3 := per("lxdstar")
	if !ok1 || !ok2 || !ok3 {
		sec.Text = "A raw-API reference or lxdstar was not measured."
		return sec
	}
	var b strings.Builder
	fmt.Fprintf(&b, "LXD itself needs %s per exec with no output transport at all (raw API, no websockets), and %s with the websockets that any client returning the output must use (raw API with websockets; both in-process, no process start). lxdstar needs %s per call: %s (%.0f%%) more than the latter, for its process start, Starlark and client.",
		ms(bare), ms(ws), ms(lx), ms(lx-ws), 100*float64(lx-ws)/float64(ws))
	var best, actual []string
	for _, other := range []struct{ key, name string }{{"cli", "`lxc exec`"}, {"pylxd", "pylxd"}} {
		if o, ok := per(other.key); ok {
			best = append(best, fmt.Sprintf("%.1f× faster than %s", float64(o)/float64(ws), other.name))
			actual = append(actual, fmt.Sprintf("%.1f×", float64(o)/float64(lx)))
		}
	}
	if len(best) > 0 {
		fmt.Fprintf(&b, " A client that returns the output and costs nothing beyond LXD's own work would be %s (lxdstar: %s): the exec targets are bounded by these ratios, whatever the client does per call.", strings.Join(best, " and "), strings.Join(actual, " and "))
	}
	sec.Text = b.String()
	return sec
}

// memoryBaseline reports the RSS of a script that does nothing.
func (h *harness) memoryBaseline() ProfileSection {
	sec := ProfileSection{Heading: "Baseline"}
	if rss, ok := h.res.peakRSS("startup", "lxdstar"); ok {
		sec.Text = fmt.Sprintf("`lxdstar -c pass` (no LXD connection) peaks at %s: the Go runtime and the binary's own pages, before any work.", kib(rss))
	}
	if fi, err := os.Stat(h.cfg.Lxdstar); err == nil {
		sec.Text += fmt.Sprintf(" The binary is %.1f MiB.", float64(fi.Size())/(1<<20))
	}
	return sec
}

// startupProfile shows what the lxdstar binary does before main: the Go
// runtime's init trace, slowest package initialisers first.
func (h *harness) startupProfile(ctx context.Context) []ProfileSection {
	sec := ProfileSection{Heading: "Package initialisation (`GODEBUG=inittrace=1 lxdstar -c pass`)"}
	res, err := runProc(ctx, h.cfg.Root, h.lxd.env("GODEBUG=inittrace=1"), []string{h.cfg.Lxdstar, "-c", "pass"}, h.cfg.Timeout)
	if err != nil {
		sec.Text = err.Error()
		return []ProfileSection{sec}
	}
	type initLine struct {
		clock float64
		text  string
	}
	re := regexp.MustCompile(`^init (\S+) @\S+ ms, ([0-9.]+) ms clock`)
	var lines []initLine
	var total float64
	for _, l := range strings.Split(res.Stderr, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			c, _ := strconv.ParseFloat(m[2], 64)
			total += c
			lines = append(lines, initLine{c, l})
		}
	}
	slices.SortFunc(lines, func(a, b initLine) int {
		switch {
		case a.clock > b.clock:
			return -1
		case a.clock < b.clock:
			return 1
		}
		return 0
	})
	var b strings.Builder
	for i, l := range lines {
		if i == 15 {
			break
		}
		b.WriteString(l.text + "\n")
	}
	sec.Text = fmt.Sprintf("Wall %s for the whole process; package initialisers take %.2f ms in all. Slowest first:", ms(res.Wall), total)
	sec.Code = strings.TrimSpace(b.String())
	return []ProfileSection{sec}
}

// goTool finds the go command.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testbedRoot fails the test unless the test bed's main daemon is up, and
// returns the module's root directory.
func testbedRoot(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat(defaultSocket); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no LXD socket at %s: start the test bed with `make testbed-up-main`", defaultSocket)
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestHarnessTiny runs the whole harness at a tiny size against the real
// daemon of the test bed: every tool must do every workload (the harness
// checks counts, exec output, file bytes and that created containers are
// gone), the report must be produced, and no bench instance may remain.
func TestHarnessTiny(t *testing.T) {
	root := testbedRoot(t)
	bin := filepath.Join(t.TempDir(), "lxdstar")
	build := exec.Command(goTool(), "build", "-o", bin, "./cmd/lxdstar")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building lxdstar: %v\n%s", err, out)
	}
	var log bytes.Buffer
	cfg := Config{
		Root: root, Lxdstar: bin, Python: "/usr/bin/python3", Lxc: "lxc", Curl: "curl",
		Socket: defaultSocket, Image: "busybox", Sizes: TinySizes(), Runs: TinyRuns(),
		Timeout: 40 * time.Second, Log: &log, TimeBin: gnuTime(),
	}
	if fi, err := os.Stat(defaultIncusSocket); err == nil && fi.Mode()&os.ModeSocket != 0 {
		cfg.IncusSocket = defaultIncusSocket
	}
	// Creating a dozen containers on a loaded test bed takes a while.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := Run(ctx, cfg)
	t.Logf("harness log:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Failures() {
		t.Errorf("a tool did not do its work: %s", f)
	}

	_, err = exec.LookPath("curl")
	curlInstalled := err == nil
	list := []string{"lxdstar", "pylxd", "pyraw", "cli", "curl"}
	want := map[string][]string{
		"startup":    {"lxdstar", "pylxd", "python"},
		"list":       list,
		"list-large": list,
		"exec":       {"lxdstar", "pylxd", "cli", "raw", "rawws"},
		"conc":       {"lxdstar", "cli", "raw"},
		"lifecycle":  {"lxdstar-concurrent", "lxdstar", "pylxd", "lxc"},
		"files":      {"lxdstar", "pylxd", "cli"},
		"bigfile":    {"lxdstar", "pylxd", "cli", "curl"},
	}
	if cfg.IncusSocket != "" {
		want["incus-list"] = []string{"lxdstar", "cli", "curl"}
		want["incus-exec"] = []string{"lxdstar", "cli", "raw", "rawws"}
		want["incus-files"] = []string{"lxdstar", "cli"}
		want["incus-bigfile"] = []string{"lxdstar", "cli", "curl"}
	}
	// lxdstar without execute(wait=False) cannot run workload 4.
	noWaitFalse := strings.HasPrefix(res.workload("conc").tool("lxdstar").Err, "n/a")
	for wk, tools := range want {
		w := res.workload(wk)
		if w == nil {
			t.Errorf("workload %s missing", wk)
			continue
		}
		for _, key := range tools {
			tl := w.tool(key)
			if key == "curl" && !curlInstalled || wk == "conc" && key == "lxdstar" && noWaitFalse {
				continue // make bench installs curl; make test need not
			}
			if tl == nil || len(tl.Samples) != 1 || tl.Stats.Median <= 0 {
				t.Errorf("%s/%s: no measurement", wk, key)
				continue
			}
			memory := wk == "startup" || strings.HasPrefix(wk, "list") || wk == "exec" || wk == "bigfile"
			if memory && !tl.InProcess && (len(tl.RSS) != 1 || tl.Stats.MedianRSSKiB <= 0) {
				t.Errorf("%s/%s: no peak RSS", wk, key)
			}
		}
	}
	if res.Soak == nil || res.Soak.Err != "" || res.Soak.End.Goroutines == 0 || res.Soak.After.FDs == 0 {
		t.Errorf("soak: %+v", res.Soak)
	}
	if len(res.Targets) != 17 {
		t.Errorf("%d targets evaluated, want 17", len(res.Targets))
	}
	for _, tg := range res.Targets {
		curlTarget := strings.Contains(tg.Name, "raw API") || strings.Contains(tg.Name, "curl")
		if tg.Status != "met" && tg.Status != "missed" && (curlInstalled || !curlTarget) &&
			!(noWaitFalse && strings.HasPrefix(tg.Name, "Concurrent exec")) {
			t.Errorf("target %s not evaluated: %s", tg.Name, tg.Status)
		}
	}

	var report bytes.Buffer
	if err := WriteReport(&report, res); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"## Machine", "`nproc`", "LXD", "## Targets", "List vs pylxd", "### 3. Exec", "### 4. Concurrent exec", "### 7. Big file",
		"#### Cost per instance", "### 9. Soak", "### 14. Peak memory", "bench/star/list.star", "bench/pylxd/exec.py", "bench/pylxd/list_raw.py", "bench/sh/files.sh", "bench/star/bigfile.star"} {
		if !strings.Contains(report.String(), s) {
			t.Errorf("report lacks %q", s)
		}
	}
	if t.Failed() {
		t.Logf("report:\n%s", report.String())
	}

	for _, socket := range []string{defaultSocket, cfg.IncusSocket} {
		if socket == "" {
			continue
		}
		left, err := newRawClient(socket).namesWithPrefix(context.Background(), res.Prefix+"-")
		if err != nil {
			t.Fatal(err)
		}
		if len(left) > 0 {
			t.Errorf("bench instances left behind on %s: %v", socket, left)
		}
	}
}

func TestParseTrace(t *testing.T) {
	ms := func(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }
	tr := parseTrace([]timedLine{
		{ms(10), "lxdstar: GET /1.0 200 2ms"},
		{ms(20), "lxdstar: POST /1.0/instances/c1/exec 202 6ms"},
		{ms(22), "lxdstar: WEBSOCKET /1.0/operations/2d5d/websocket?secret=REDACTED 101 1ms"},
		{ms(22.5), "lxdstar: WEBSOCKET /1.0/operations/2d5d/websocket?secret=REDACTED 101 1ms"},
		{ms(40), "lxdstar: GET /1.0/operations/2d5d/wait?timeout=30 200 15ms"},
		{ms(41), "unrelated line"},
	})
	if tr.Sum != ms(25) {
		t.Errorf("sum %s, want 25ms", tr.Sum)
	}
	// [8,10] [14,20] [21,22.5] [25,40]
	if tr.InFlight != ms(24.5) {
		t.Errorf("in flight %s, want 24.5ms", tr.InFlight)
	}
	got := map[string]int{}
	for _, k := range tr.Kinds {
		got[k.Kind] = k.Count
	}
	if got["WEBSOCKET /1.0/operations/{id}/websocket?secret=…"] != 2 || got["POST /1.0/instances/{name}/exec"] != 1 || tr.Kinds[0].Kind != "GET /1.0/operations/{id}/wait?timeout=…" {
		t.Errorf("kinds %+v", tr.Kinds)
	}
}

func TestSizesOverride(t *testing.T) {
	s := FullSizes()
	if err := s.override("list-large=500, bigfile=64MiB,conc=3"); err != nil {
		t.Fatal(err)
	}
	if s.ListLarge != 500 || s.BigFile != 64<<20 || s.Conc != 3 || s.List != FullSizes().List {
		t.Errorf("got ListLarge %d, BigFile %d, Conc %d, List %d", s.ListLarge, s.BigFile, s.Conc, s.List)
	}
	if err := s.override("bigfile=4096"); err != nil || s.BigFile != 4096 {
		t.Errorf("bigfile=4096: %v, %d", err, s.BigFile)
	}
	for _, bad := range []string{"list", "lists=3", "list=0", "list=x", "bigfile=3MB", "bigfile=-1KiB"} {
		if err := s.override(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestWithBaseline(t *testing.T) {
	h := &harness{cfg: Config{Lxdstar: "/r/bin/lxdstar"}}
	specs := []spec{
		{key: "lxdstar", argv: func(int) []string { return []string{"/usr/bin/time", "/r/bin/lxdstar", "x.star"} }},
		{key: "curl", argv: func(int) []string { return []string{"curl"} }},
	}
	if got := h.withBaseline(specs); len(got) != 2 {
		t.Fatalf("no baseline configured: %d specs, want 2", len(got))
	}
	h.cfg.Baseline = "/r/bin/lxdstar-main"
	got := h.withBaseline(specs)
	if len(got) != 3 || got[2].key != "baseline" || !got[2].ref {
		t.Fatalf("got %+v", got)
	}
	if argv := strings.Join(got[2].argv(0), " "); argv != "/usr/bin/time /r/bin/lxdstar-main x.star" {
		t.Errorf("baseline runs %q", argv)
	}
	if argv := strings.Join(got[0].argv(0), " "); argv != "/usr/bin/time /r/bin/lxdstar x.star" {
		t.Errorf("lxdstar now runs %q", argv)
	}
}

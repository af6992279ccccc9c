package main

import (
	"fmt"
	"time"
)

// Target is one goal of GitHub issue #8 and whether it was met.
type Target struct {
	Name     string
	Goal     string
	Measured string
	Status   string // "met", "missed" or "n/a (reason)"
	// Workload is the lxdstar workload to profile when the target is
	// missed; Memory asks for a memory rather than a time profile.
	Workload string
	Memory   bool
}

// Missed reports whether the target was measured and missed.
func (t Target) Missed() bool { return t.Status == "missed" }

// wallOf returns the median wall time of tool key in workload wk.
func (r *Results) wallOf(wk, key string) (time.Duration, string) {
	w := r.workload(wk)
	if w == nil {
		return 0, "workload not run"
	}
	t := w.tool(key)
	switch {
	case t == nil:
		return 0, key + " not measured"
	case t.Err != "":
		return 0, t.Name + " failed"
	case len(t.Samples) == 0:
		return 0, t.Name + " not measured"
	}
	return t.Stats.Median, ""
}

func evaluateTargets(r *Results) []Target {
	var out []Target
	// speedup: other/lxdstar must be ≥ min.
	// compare looks up two tools' wall times for a workload and lets judge
	// word and grade the result; a missing measurement makes it n/a.
	compare := func(name, goal, wk, lx, other string, judge func(a, b time.Duration) (string, bool)) {
		t := Target{Name: name, Goal: goal, Workload: wk}
		a, why := r.wallOf(wk, lx)
		b, why2 := r.wallOf(wk, other)
		switch {
		case why != "":
			t.Status = "n/a (" + why + ")"
		case why2 != "":
			t.Status = "n/a (" + why2 + ")"
		default:
			var met bool
			t.Measured, met = judge(a, b)
			t.Status = metOrMissed(met)
		}
		out = append(out, t)
	}
	speedup := func(name, goal, wk, lx, other string, min float64) {
		compare(name, goal, wk, lx, other, func(a, b time.Duration) (string, bool) {
			ratio := float64(b) / float64(a)
			return fmt.Sprintf("%.1f× (%s vs %s)", ratio, r.perOp(wk, a), r.perOp(wk, b)), ratio >= min
		})
	}
	// within: lxdstar's time must be at most max × other's.
	within := func(name, goal, wk, lx, other, what string, max float64) {
		compare(name, goal, wk, lx, other, func(a, b time.Duration) (string, bool) {
			ratio := float64(a) / float64(b)
			return fmt.Sprintf("%.2f× %s (%s vs %s)", ratio, what, r.perOp(wk, a), r.perOp(wk, b)), ratio <= max
		})
	}
	large := fmt.Sprintf("list %d", r.Config.Sizes.ListLarge)
	speedup("List vs pylxd", "lxdstar ≥ 10× faster than pylxd", "list", "lxdstar", "pylxd", 10)
	within("List vs raw API", "lxdstar within 1.5× of `curl …?recursion=1`", "list", "lxdstar", "curl", "the raw call", 1.5)
	within("List 1000 vs raw API", "lxdstar within 1.25× of `curl …?recursion=1`", "list-large", "lxdstar", "curl", "the raw call", 1.25)
	speedup("List 1000 vs raw Python", "lxdstar faster than a raw Python client (http.client + json)", "list-large", "lxdstar", "pyraw", 1)
	within("Exec vs LXD's floor", "lxdstar per call within 1.1× of the raw API with websockets", "exec", "lxdstar", "rawws", "the floor", 1.1)
	speedup("Exec vs pylxd", "lxdstar per call ≥ 20× faster than pylxd", "exec", "lxdstar", "pylxd", 20)
	speedup("Concurrent exec vs lxc", "lxdstar ≥ 1.5× faster than `lxc exec … &` in a shell", "conc", "lxdstar", "cli", 1.5)
	within("Concurrent exec vs raw API", "lxdstar within 1.2× of an in-process raw-API client, concurrent", "conc", "lxdstar", "raw", "the raw client", 1.2)
	speedup("Lifecycle fan-out", "lxdstar concurrent ≥ 2× faster than pylxd sequential", "lifecycle", "lxdstar-concurrent", "pylxd", 2)
	speedup("Big file vs lxc", "lxdstar push + pull at least as fast as `lxc file push` + `pull`", "bigfile", "lxdstar", "cli", 1)
	within("Big file vs curl", "lxdstar push + pull within 1.1× of curl", "bigfile", "lxdstar", "curl", "curl", 1.1)
	speedup("Startup", "lxdstar ≤ 1/10 of pylxd's import time", "startup", "lxdstar", "pylxd", 10)
	for _, wk := range []string{"list", "exec"} {
		t := Target{Name: "Peak memory (" + wk + ")", Goal: "lxdstar max RSS below pylxd's", Workload: wk, Memory: true}
		a, ok := r.peakRSS(wk, "lxdstar")
		b, ok2 := r.peakRSS(wk, "pylxd")
		if !ok || !ok2 {
			t.Status = "n/a (not measured for both)"
		} else {
			t.Measured = fmt.Sprintf("%s vs %s (%.0f%%)", kib(a), kib(b), 100*float64(a)/float64(b))
			t.Status = metOrMissed(a < b)
		}
		out = append(out, t)
	}
	for _, c := range []struct {
		wk, name string
		limitKiB int64
	}{{"list-large", "Peak memory (" + large + ")", 24 << 10}, {"bigfile", "Peak memory (big file)", 48 << 10}} {
		t := Target{Name: c.name, Goal: "lxdstar max RSS ≤ " + kib(c.limitKiB), Workload: c.wk, Memory: true}
		if a, ok := r.peakRSS(c.wk, "lxdstar"); ok {
			t.Measured = kib(a)
			t.Status = metOrMissed(a <= c.limitKiB)
		} else {
			t.Status = "n/a (not measured)"
		}
		out = append(out, t)
	}
	out = append(out, soakTarget(r.Soak))
	return out
}

func metOrMissed(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

// perOp formats a whole-run duration per operation when the workload has
// operations ("12.3 ms/call"), else as is.
func (r *Results) perOp(wk string, d time.Duration) string {
	if w := r.workload(wk); w != nil && w.Ops > 0 {
		return ms(d/time.Duration(w.Ops)) + "/" + w.OpName
	}
	return ms(d)
}

func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	switch {
	case f >= 1000:
		return fmt.Sprintf("%.2f s", f/1000)
	case f >= 100:
		return fmt.Sprintf("%.0f ms", f)
	case f >= 10:
		return fmt.Sprintf("%.1f ms", f)
	}
	return fmt.Sprintf("%.2f ms", f)
}

func kib(k int64) string {
	return fmt.Sprintf("%.1f MiB", float64(k)/1024)
}

// soakTarget judges the soak: goroutines, open files and RSS flat.
func soakTarget(s *SoakResult) Target {
	t := Target{Name: "Soak", Goal: fmt.Sprintf("goroutines, open fds and RSS flat over the run (at most +%d, +%d, +%s), goroutines and fds back after it", soakGoroutines, soakFDs, kib(soakRSSKiB))}
	switch {
	case s == nil:
		t.Status = "n/a (not run)"
		return t
	case s.Err != "":
		t.Status = "n/a (failed: " + s.Err + ")"
		return t
	}
	t.Measured = fmt.Sprintf("%d → %d goroutines, %d → %d fds, %s → %s RSS", s.Start.Goroutines, s.End.Goroutines,
		s.Start.FDs, s.End.FDs, kib(s.Start.RSSKiB), kib(s.End.RSSKiB))
	leaks := s.leaks()
	t.Status = metOrMissed(leaks == "")
	if leaks != "" {
		t.Measured += "; grew: " + leaks
	}
	return t
}

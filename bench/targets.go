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
	speedup("List vs pylxd", "lxdstar ≥ 10× faster than pylxd", "list", "lxdstar", "pylxd", 10)
	compare("List vs raw API", "lxdstar within 1.5× of `curl …?recursion=1`", "list", "lxdstar", "curl",
		func(a, b time.Duration) (string, bool) {
			ratio := float64(a) / float64(b)
			return fmt.Sprintf("%.2f× the raw call (%s vs %s)", ratio, ms(a), ms(b)), ratio <= 1.5
		})
	speedup("Exec vs lxc", "lxdstar per call ≥ 3× faster than `lxc exec`", "exec", "lxdstar", "lxc", 3)
	speedup("Exec vs pylxd", "lxdstar per call ≥ 20× faster than pylxd", "exec", "lxdstar", "pylxd", 20)
	speedup("Lifecycle fan-out", "lxdstar concurrent ≥ 2× faster than pylxd sequential", "lifecycle", "lxdstar-concurrent", "pylxd", 2)
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

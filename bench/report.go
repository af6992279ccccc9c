package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteReport writes the results as the markdown of docs/BENCHMARKS.md.
func WriteReport(w io.Writer, r *Results) error {
	var b strings.Builder
	m := r.Machine
	c := r.Config
	b.WriteString("# lxdstar benchmarks\n\n")
	fmt.Fprintf(&b, "Written by the benchmark harness (`make bench`, i.e. `go run ./bench`; sources in `bench/`) for GitHub issues #8 and #18. Do not edit by hand: run `make bench` again.\n\n")
	fmt.Fprintf(&b, "Measured on %s; the whole run took %s", m.Date.Format("2006-01-02 15:04 MST"), r.Duration.Round(time.Second))
	if r.Soak != nil {
		fmt.Fprintf(&b, " (%s of it the soak)", c.Sizes.Soak.Duration)
	}
	b.WriteString(", creating and deleting its own instances.\n\n")

	b.WriteString("## Machine\n\n| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, v)
		}
	}
	row("CPUs (`nproc`)", fmt.Sprintf("%d × %s", m.CPUs, orUnknown(m.CPUModel)))
	row("Memory", m.MemTotal)
	row("Kernel", m.Kernel)
	row("OS", m.OS)
	row("LXD", fmt.Sprintf("%s, unix socket `%s`", orUnknown(m.LXD), c.Socket))
	if c.IncusSocket != "" {
		row("Incus", fmt.Sprintf("%s, unix socket `%s`", orUnknown(m.Incus), c.IncusSocket))
		row("incus", m.IncusVersion)
	}
	row("lxdstar", fmt.Sprintf("`%s`, commit %s, %s", relTo(c.Root, c.Lxdstar), orUnknown(m.Lxdstar), m.GoVersion))
	row("pylxd", fmt.Sprintf("%s (%s, `%s`)", orUnknown(m.Pylxd), orUnknown(m.Python), c.Python))
	row("lxc", m.LxcVersion)
	row("curl", m.CurlVersion)
	row("Load average (1, 5, 15 min)", fmt.Sprintf("%s at the start, %s at the end", r.Load[0], r.Load[1]))
	row("Instances on the server", fmt.Sprintf("%d before the harness created its own (prefix `%s-`)", m.Instances, r.Prefix))

	b.WriteString("\n## Method\n\n")
	b.WriteString("* All tools talk to the same daemon over its unix socket, with the same data: LXD, and for workloads 10–13 Incus.\n")
	b.WriteString("* **Wall time** runs from fork to exit of the tool's process, as the harness sees it around `wait4`: process start (interpreter, imports, Go runtime) is included for every tool.\n")
	b.WriteString("* Every figure is the **median** of several runs (the number is in each table; min … max beside it). The tools' runs are interleaved, in an order that rotates from run to run; list and startup get unmeasured warm-up runs first. Before any run, one exec and one file push warm LXD's per-instance helpers, so that no tool pays for them.\n")
	if c.TimeBin != "" {
		b.WriteString("* **Peak RSS** is measured with each tool started under GNU time (`" + c.TimeBin + " -f %M`), which reports the `ru_maxrss` of the tool's process tree: the largest single process, not a sum. Workloads 1 and 2 get separate memory runs (the same commands, checked the same way) so that their timed runs stay unwrapped; the exec runs, seconds long, all run under GNU time (its fork and exec cost well under a millisecond). Not `wait4` in the harness: Go starts children with `vfork`, and Linux carries the parent's peak RSS over `exec` into the child's `ru_maxrss`, which would then be at least the harness's own.\n")
	} else {
		b.WriteString("* **Peak RSS**: GNU time was not installed, so it is `wait4`'s `ru_maxrss` in the harness, which Linux makes at least the harness's own peak RSS (Go starts children with `vfork`): the values are upper bounds.\n")
	}
	b.WriteString("* **CPU** is user + system time of the tool's process tree (`wait4`'s rusage).\n")
	b.WriteString("* Every run's result is checked (instance counts and configs seen, exec output and exit codes, file bytes read back, containers really gone); a run that did not do the work fails instead of being timed.\n")
	b.WriteString("* The machine may be shared with other test runs: see the load average above.\n")

	b.WriteString("\n## Targets\n\n| target | goal | measured | result |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		status := t.Status
		switch status {
		case "met":
			status = "**met**"
		case "missed":
			status = "**missed** (profile below)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", t.Name, t.Goal, orDash(t.Measured), status)
	}

	b.WriteString("\n## Results\n")
	for _, wl := range r.Work {
		if wl.Key == "soak" {
			writeSoak(&b, r)
			continue
		}
		writeWorkload(&b, r, wl)
		if wl.Key == "list-large" {
			writePerInstance(&b, r)
		}
	}
	writeMemory(&b, r)

	if len(r.Profiles) > 0 {
		if c.ProfileAll {
			b.WriteString("\n## Profiles of lxdstar's workloads\n")
		} else {
			b.WriteString("\n## Profiles of the missed targets\n")
		}
		for _, p := range r.Profiles {
			fmt.Fprintf(&b, "\n### %s\n", p.Title)
			for _, s := range p.Sections {
				fmt.Fprintf(&b, "\n#### %s\n\n", s.Heading)
				if s.Text != "" {
					b.WriteString(strings.TrimRight(s.Text, "\n") + "\n")
				}
				if s.Code != "" {
					fmt.Fprintf(&b, "\n```\n%s\n```\n", s.Code)
				}
			}
		}
	} else if !c.Profile {
		b.WriteString("\n(Profiling of missed targets was turned off for this run.)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeWorkload(b *strings.Builder, r *Results, wl *Workload) {
	fmt.Fprintf(b, "\n### %s\n\n", wl.Title)
	for _, n := range wl.Notes {
		b.WriteString(n + "\n\n")
	}
	var base *Tool
	if len(wl.Tools) > 0 && wl.Tools[0].Err == "" && len(wl.Tools[0].Samples) > 0 {
		base = wl.Tools[0]
	}
	perOp := ""
	if wl.Ops > 0 {
		perOp = " per " + wl.OpName + " |"
	}
	fmt.Fprintf(b, "| tool | median |%s min … max | runs | CPU | peak RSS | time ÷ %s |\n", perOp, baseName(wl))
	b.WriteString("|---|---:|" + strings.Repeat("---:|", 5+boolToInt(wl.Ops > 0)) + "\n")
	for _, t := range wl.Tools {
		name := t.Name
		if t.Ref {
			name = "_" + name + "_"
		}
		if t.Err != "" || len(t.Samples) == 0 {
			why := t.Err
			if why == "" {
				why = "not run"
			}
			if !strings.HasPrefix(why, "n/a") {
				why = "n/a (failed: " + why + ")"
			}
			fmt.Fprintf(b, "| %s | %s |%s | | | | |\n", name, mdEscape(why), strings.Repeat(" |", boolToInt(wl.Ops > 0)))
			continue
		}
		s := t.Stats
		cols := []string{name, ms(s.Median)}
		if wl.Ops > 0 {
			cols = append(cols, ms(s.MedianPerOp))
		}
		cols = append(cols, ms(s.Min)+" … "+ms(s.Max), fmt.Sprint(s.N))
		switch {
		case t.InProcess:
			cols = append(cols, "—", "—")
		case len(t.RSS) == 0:
			cols = append(cols, ms(s.MedianCPU), "—")
		default:
			cols = append(cols, ms(s.MedianCPU), kib(s.MedianRSSKiB))
		}
		ratio := ""
		if base != nil {
			ratio = fmt.Sprintf("%.2f×", float64(s.Median)/float64(base.Stats.Median))
		}
		cols = append(cols, ratio)
		b.WriteString("| " + strings.Join(cols, " | ") + " |\n")
	}
	for _, t := range wl.Tools {
		if t.Err == "" && len(t.Failed) > 0 {
			fmt.Fprintf(b, "\n%s: %d run(s) failed and are not in the figures: %s\n", t.Name, len(t.Failed), mdEscape(strings.Join(t.Failed, "; ")))
		}
	}
	b.WriteString("\nCommands (run from the repository root; `LXD_DIR` points every client at the socket):\n\n")
	for _, t := range wl.Tools {
		if t.Command != "" {
			fmt.Fprintf(b, "* %s: `%s`\n", t.Name, t.Command)
		}
	}
}

func baseName(wl *Workload) string {
	if len(wl.Tools) == 0 {
		return "lxdstar"
	}
	return wl.Tools[0].Name
}

// memoryWorkloads are the columns of the peak memory table.
var memoryWorkloads = []struct{ key, title string }{{"list", "2. list"}, {"exec", "3. exec"}, {"list-large", "8. list (large)"}, {"bigfile", "7. big file"}}

func writeMemory(b *strings.Builder, r *Results) {
	c := r.Config
	b.WriteString("\n### 14. Peak memory\n\n")
	fmt.Fprintf(b, "Peak RSS of each tool in workloads 2, 3, 7 and 8: median of %d memory runs of the lists, of the exec runs and of the big-file runs (see Method). For a shell loop it is the largest single process of the tree (one `lxc`), not a sum.\n\n", c.Runs.MemList)
	b.WriteString("| tool |")
	for _, mw := range memoryWorkloads {
		b.WriteString(" " + mw.title + " |")
	}
	b.WriteString("\n|---|" + strings.Repeat("---:|", len(memoryWorkloads)) + "\n")
	seen := map[string]bool{}
	for _, mw := range memoryWorkloads {
		w := r.workload(mw.key)
		if w == nil {
			continue
		}
		for _, t := range w.Tools {
			if t.InProcess || seen[t.Key] {
				continue
			}
			seen[t.Key] = true
			name := t.Key
			if t.Ref {
				name = "_" + t.Name + "_"
			}
			cols := []string{name}
			for _, mw2 := range memoryWorkloads {
				if v, ok := r.peakRSS(mw2.key, t.Key); ok {
					cols = append(cols, kib(v))
				} else {
					cols = append(cols, "—")
				}
			}
			b.WriteString("| " + strings.Join(cols, " | ") + " |\n")
		}
	}
}

// writePerInstance compares the cost per instance of the two listings:
// the whole run, and lxdstar's time beyond curl's (the same request), per
// instance.
func writePerInstance(b *strings.Builder, r *Results) {
	b.WriteString("\n#### Cost per instance\n\n")
	b.WriteString("| listing | lxdstar per instance | lxdstar beyond curl, per instance | curl per instance |\n|---|---:|---:|---:|\n")
	for _, wk := range []string{"list", "list-large"} {
		w := r.workload(wk)
		lx, why := r.wallOf(wk, "lxdstar")
		cu, why2 := r.wallOf(wk, "curl")
		if w == nil || why != "" || why2 != "" || w.Ops == 0 {
			continue
		}
		n := time.Duration(w.Ops)
		fmt.Fprintf(b, "| %d instances | %s | %s | %s |\n", w.Ops, us(lx/n), us((lx-cu)/n), us(cu/n))
	}
}

func us(d time.Duration) string {
	return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
}

// writeSoak shows the soak's samples of the process.
func writeSoak(b *strings.Builder, r *Results) {
	s := r.Soak
	sz := r.Config.Sizes.Soak
	b.WriteString("\n### 9. Soak\n\n")
	fmt.Fprintf(b, "One process runs %d commands (`echo soak`) and %d put + get round trips of a 6 KB file in the running container, spread evenly over %s, with an event stream open and drained all along: `%s`, run inside the harness's own process through the embedding API (`lxdstar.New(…).RunFile`) so that its goroutines can be counted. The process is sampled every twentieth of the run; _start_ and _end_ are the smallest counts of the second (after the warm-up) and of the last tenth of the samples during the run (a command in flight has goroutines and sockets of its own), _after_ is one second after the script ended.\n\n", sz.Execs, sz.Files, sz.Duration, s.scriptOr())
	if s == nil {
		return
	}
	if s.Err != "" {
		fmt.Fprintf(b, "The soak failed: %s\n", mdEscape(s.Err))
		return
	}
	fmt.Fprintf(b, "It took %s and printed `%s`.\n\n", s.Took.Round(time.Second), strings.TrimSpace(s.Output))
	b.WriteString("| | goroutines | open fds | RSS |\n|---|---:|---:|---:|\n")
	for _, row := range []struct {
		name string
		v    SoakSample
	}{{"before", s.Samples[0]}, {"start (after warm-up)", s.Start}, {"end", s.End}, {"after", s.After}} {
		fmt.Fprintf(b, "| %s | %d | %d | %s |\n", row.name, row.v.Goroutines, row.v.FDs, kib(row.v.RSSKiB))
	}
	b.WriteString("\nEvery sample (time into the run, goroutines, fds, RSS): ")
	var parts []string
	for _, x := range s.Samples {
		parts = append(parts, fmt.Sprintf("%s %d/%d/%s", x.At.Round(time.Second), x.Goroutines, x.FDs, kib(x.RSSKiB)))
	}
	b.WriteString(strings.Join(parts, "; ") + ".\n")
}

func (s *SoakResult) scriptOr() string {
	if s == nil {
		return "bench/star/soak.star"
	}
	return s.Script
}

func boolToInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func relTo(root, path string) string {
	if strings.HasPrefix(path, root+"/") {
		return path[len(root)+1:]
	}
	return path
}

// mdEscape keeps a message on one table row.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

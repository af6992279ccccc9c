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
	fmt.Fprintf(&b, "Written by the benchmark harness (`make bench`, i.e. `go run ./bench`; sources in `bench/`) for GitHub issue #8. Do not edit by hand: run `make bench` again.\n\n")
	fmt.Fprintf(&b, "Measured on %s; the whole run took %s.\n\n", m.Date.Format("2006-01-02 15:04 MST"), r.Duration.Round(time.Second))

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
	row("lxdstar", fmt.Sprintf("`%s`, commit %s, %s", relTo(c.Root, c.Lxdstar), orUnknown(m.Lxdstar), m.GoVersion))
	row("pylxd", fmt.Sprintf("%s (%s, `%s`)", orUnknown(m.Pylxd), orUnknown(m.Python), c.Python))
	row("lxc", m.LxcVersion)
	row("curl", m.CurlVersion)
	row("Load average (1, 5, 15 min)", fmt.Sprintf("%s at the start, %s at the end", r.Load[0], r.Load[1]))
	row("Instances on the server", fmt.Sprintf("%d before the harness created its own (prefix `%s-`)", m.Instances, r.Prefix))

	b.WriteString("\n## Method\n\n")
	b.WriteString("* All tools talk to the same LXD daemon over its unix socket, with the same data.\n")
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
		writeWorkload(&b, r, wl)
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

func writeMemory(b *strings.Builder, r *Results) {
	c := r.Config
	b.WriteString("\n### 6. Peak memory\n\n")
	fmt.Fprintf(b, "Peak RSS of each tool in workloads 2 and 3: median of %d memory runs of the list and of the exec runs (see Method). For the shell loop it is the largest single process of the tree (one `lxc`), not a sum.\n\n", c.Runs.MemList)
	b.WriteString("| tool | 2. list | 3. exec |\n|---|---:|---:|\n")
	seen := map[string]bool{}
	for _, wk := range []string{"list", "exec"} {
		w := r.workload(wk)
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
			for _, wk2 := range []string{"list", "exec"} {
				if v, ok := r.peakRSS(wk2, t.Key); ok {
					cols = append(cols, kib(v))
				} else {
					cols = append(cols, "—")
				}
			}
			b.WriteString("| " + strings.Join(cols, " | ") + " |\n")
		}
	}
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

// Command bench is lxdstar's benchmark harness (GitHub issue #8): it runs
// the same workloads against the same LXD with lxdstar, pylxd, the lxc CLI
// and curl, checks that each tool did the work, and writes the report
// (docs/BENCHMARKS.md) with medians, ratios, the targets met or missed and
// profiles of lxdstar where a target is missed.
//
//	go run ./bench [-size full|tiny] [-runs N] [-profile missed|all|off] [-out docs/BENCHMARKS.md]
//	  [-lxdstar bin/lxdstar] [-socket /var/lib/lxd/unix.socket] [-incus /var/lib/incus/unix.socket] [-only list,exec]
//	  [-sizes list-large=500,bigfile=64MiB] [-merge] [-baseline bin/lxdstar-main]
//
// The workloads' scripts are bench/star (lxdstar), bench/pylxd (pylxd and a
// raw Python client) and bench/sh (lxc, incus, curl); `make bench` runs it
// at full size, about half an hour. Every instance it creates is named
// bench-<random>-… and deleted before it exits, also on failure or
// Ctrl-C. -socket picks the LXD daemon (another one than the test bed's
// main daemon keeps large experiments out of other people's way); -only
// runs some workloads, and -sizes changes how much work some do, for trying
// a change: `-only list-large,bigfile -runs 9` measures the two against
// curl and the CLI in minutes rather than the full run's hour; with
// -merge their sections replace those of the report at -out, each stamped
// with when and at which commit it was measured.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	defaultSocket      = "/var/lib/lxd/unix.socket"
	defaultIncusSocket = "/var/lib/incus/unix.socket"
)

// TinySizes is the smallest run that still exercises every workload.
func TinySizes() Sizes {
	return Sizes{List: 2, ListLarge: 3, Exec: 2, ExecCmd: []string{"echo", "bench"}, ExecOut: "bench\n",
		Conc: 2, ConcCmd: []string{"echo", "bench"}, ConcOut: "bench\n", Lifecycle: 2, Files: 1, FileBytes: 1 << 20,
		BigFile: 3 << 20, Soak: Soak{Execs: 4, Files: 4, Duration: 2 * time.Second}, IncusList: 2}
}

// TinyRuns measures each tool once.
func TinyRuns() Runs {
	return Runs{Startup: 1, List: 1, ListLarge: 1, Exec: 1, Conc: 1, Lifecycle: 1, Files: 1, BigFile: 1, MemStartup: 1, MemList: 1}
}

// gnuTime returns GNU time's path, or "" when it is not installed.
func gnuTime() string {
	if _, err := os.Stat("/usr/bin/time"); err == nil {
		return "/usr/bin/time"
	}
	return ""
}

func main() {
	var (
		size    = flag.String("size", "full", "workload sizes: full (issue #8) or tiny")
		runs    = flag.Int("runs", 0, "measured runs per tool for every workload (0: the defaults of -size)")
		out     = flag.String("out", "docs/BENCHMARKS.md", "report file, relative to the repository root (- for stdout)")
		bin     = flag.String("lxdstar", "bin/lxdstar", "lxdstar binary, relative to the repository root")
		python  = flag.String("python", "/usr/bin/python3", "python3 with pylxd")
		socket  = flag.String("socket", defaultSocket, "LXD unix socket")
		incus   = flag.String("incus", defaultIncusSocket, "Incus unix socket for workloads 10-13 ('' leaves them out)")
		only    = flag.String("only", "", "run only these workloads (comma-separated keys: startup,list,exec,conc,lifecycle,files,bigfile,list-large,soak,incus-list,...)")
		image   = flag.String("image", "busybox", "container image alias")
		profile = flag.String("profile", "missed", "profile the lxdstar workloads: missed (those whose target was missed), all, or off")
		base    = flag.String("baseline", "", "another lxdstar binary (a build of main) measured beside -lxdstar as a reference row, relative to the repository root")
		merge   = flag.Bool("merge", false, "with -only: put the workloads' sections, targets and profiles into the report at -out, leaving the rest of it as it is")
		sizes   = flag.String("sizes", "", "override sizes of -size (comma-separated key=N: list, list-large, exec, conc, lifecycle, files, incus-list; bigfile=N with an optional KiB/MiB/GiB)")
	)
	flag.Parse()
	root, err := moduleRoot()
	if err != nil {
		fatal(err)
	}
	cfg := Config{
		Root: root, Lxdstar: inRoot(root, *bin), Python: *python, Lxc: "lxc", Curl: "curl",
		Socket: *socket, IncusSocket: *incus, Image: *image, Log: os.Stderr, TimeBin: gnuTime(),
	}
	if fi, err := os.Stat(cfg.IncusSocket); *incus == defaultIncusSocket && (err != nil || fi.Mode()&os.ModeSocket == 0) {
		fmt.Fprintf(os.Stderr, "bench: no Incus at %s: its workloads are left out\n", *incus)
		cfg.IncusSocket = ""
	}
	if *only != "" {
		cfg.Only = map[string]bool{}
		for _, k := range strings.Split(*only, ",") {
			cfg.Only[strings.TrimSpace(k)] = true
		}
	}
	if *base != "" {
		cfg.Baseline = inRoot(root, *base)
	}
	if *merge && (len(cfg.Only) == 0 || *out == "-") {
		fatal(errors.New("-merge needs -only and a report file (-out)"))
	}
	switch *profile {
	case "missed":
		cfg.Profile = true
	case "all":
		cfg.Profile, cfg.ProfileAll = true, true
	case "off":
	default:
		fatal(fmt.Errorf("-profile %q: want missed, all or off", *profile))
	}
	switch *size {
	case "full":
		cfg.Sizes, cfg.Runs = FullSizes(), FullRuns()
	case "tiny":
		cfg.Sizes, cfg.Runs = TinySizes(), TinyRuns()
	default:
		fatal(fmt.Errorf("-size %q: want full or tiny", *size))
	}
	if err := cfg.Sizes.override(*sizes); err != nil {
		fatal(fmt.Errorf("-sizes: %w", err))
	}
	if *runs > 0 {
		slow := cfg.Runs
		cfg.Runs = Runs{Startup: max(*runs, 3), List: *runs, ListLarge: *runs, Exec: *runs, Conc: *runs, Lifecycle: *runs,
			Files: *runs, BigFile: *runs, ExecPylxd: min(slow.ExecPylxd, *runs), Slow: min(slow.Slow, *runs),
			MemStartup: cfg.Runs.MemStartup, MemList: cfg.Runs.MemList}
	}
	if _, err := os.Stat(cfg.Lxdstar); err != nil {
		fatal(fmt.Errorf("no lxdstar binary (run `make build`): %w", err))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := Run(ctx, cfg)
	if err != nil {
		fatal(err)
	}
	switch {
	case *merge:
		path := inRoot(root, *out)
		if err = mergeInto(path, res); err == nil {
			fmt.Fprintf(os.Stderr, "bench: merged into %s\n", path)
		}
	case *out == "-":
		err = WriteReport(os.Stdout, res)
	default:
		path := inRoot(root, *out)
		var f *os.File
		if f, err = os.Create(path); err == nil {
			err = errors.Join(WriteReport(f, res), f.Close())
			fmt.Fprintf(os.Stderr, "bench: report written to %s\n", path)
		}
	}
	if err != nil {
		fatal(err)
	}
	for _, f := range res.FailedRuns() {
		fmt.Fprintln(os.Stderr, "bench: warning: a run failed (the tool still has numbers):", f)
	}
	if fails := res.Failures(); len(fails) > 0 {
		for _, f := range fails {
			fmt.Fprintln(os.Stderr, "bench: FAILED:", f)
		}
		os.Exit(1)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// moduleRoot finds the repository root: the nearest directory up from the
// working directory that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run from the repository")
		}
		dir = parent
	}
}

func inRoot(root, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

// override sets the sizes named in spec ("list-large=500,bigfile=64MiB"),
// each by the key of the workload it sizes.
func (s *Sizes) override(spec string) error {
	if strings.TrimSpace(spec) == "" {
		return nil
	}
	counts := map[string]*int{"list": &s.List, "list-large": &s.ListLarge, "exec": &s.Exec, "conc": &s.Conc,
		"lifecycle": &s.Lifecycle, "files": &s.Files, "incus-list": &s.IncusList}
	for _, item := range strings.Split(spec, ",") {
		key, val, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok {
			return fmt.Errorf("%q: want key=value", item)
		}
		if key == "bigfile" {
			n, err := parseBytes(val)
			if err != nil {
				return fmt.Errorf("bigfile: %w", err)
			}
			s.BigFile = n
			continue
		}
		dst, known := counts[key]
		if !known {
			return fmt.Errorf("unknown size %q (want one of list, list-large, exec, conc, lifecycle, files, incus-list, bigfile)", key)
		}
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 {
			return fmt.Errorf("%s=%s: want a positive whole number", key, val)
		}
		*dst = n
	}
	return nil
}

// parseBytes reads a size in bytes, with an optional KiB, MiB or GiB.
func parseBytes(v string) (int64, error) {
	shift := 0
	for i, unit := range []string{"KiB", "MiB", "GiB"} {
		if num, ok := strings.CutSuffix(v, unit); ok {
			v, shift = num, 10*(i+1)
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q: want a positive size such as 1048576 or 64MiB", v)
	}
	return n << shift, nil
}

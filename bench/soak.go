package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/lxdmod"
)

// --- soak ---------------------------------------------------------------

// SoakResult is what one long run of one process did to that process.
type SoakResult struct {
	Script  string
	Took    time.Duration
	Output  string
	Err     string
	Samples []SoakSample // before, during, after
	// Start and End summarise the run after its warm-up: the smallest
	// counts of the second and of the last tenth of the samples taken
	// during it (the first tenth fills the connection pool; an exec in
	// flight has goroutines and sockets of its own, which no sample
	// should count as a leak).
	Start, End SoakSample
	After      SoakSample // once the script has ended
}

// SoakSample is the state of the harness's process at one moment.
type SoakSample struct {
	At         time.Duration // since the script started (negative: before)
	Goroutines int
	FDs        int
	RSSKiB     int64
}

func takeSoakSample(at time.Duration) SoakSample {
	s := SoakSample{At: at, Goroutines: runtime.NumGoroutine()}
	if entries, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.FDs = len(entries)
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				s.RSSKiB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			}
		}
	}
	return s
}

// soak runs bench/star/soak.star at the configured size against the
// running instance (runSoak).
func (h *harness) soak(ctx context.Context) *Workload {
	sz := h.cfg.Sizes.Soak
	w := &Workload{Key: "soak", Title: "9. Soak"}
	h.logf("workload: soak (%s)", sz.Duration)
	script := filepath.Join(h.cfg.Root, h.script("star/soak.star"))
	res := runSoak(ctx, h.lxd.Socket, script, h.runName(), sz)
	res.Script = h.display(append([]string{h.script("star/soak.star")}, soakArgs(h.runName(), sz)...))
	h.res.Soak = res
	h.logf("soak: %s, start %+v, end %+v, after %+v %s", res.Took.Round(time.Second), res.Start, res.End, res.After, res.Err)
	return w
}

func soakArgs(instance string, sz Soak) []string {
	return []string{instance, strconv.Itoa(sz.Execs), strconv.Itoa(sz.Files), strconv.FormatFloat(sz.Duration.Seconds(), 'f', -1, 64)}
}

// runSoak runs a soak script (usage as bench/star/soak.star's) in this
// process, through the embedding API, so that its goroutines can be
// counted, and samples goroutines, open file descriptors and RSS every
// twentieth of the run.
func runSoak(ctx context.Context, socket, script, instance string, sz Soak) *SoakResult {
	res := &SoakResult{Script: script}
	var out strings.Builder
	var mu sync.Mutex
	// The run is over for the samples once the script prints its result:
	// what it leaves open until the runtime ends it (event streams, say) is
	// closed after that, and a sample taken then would hide the leak.
	printed := false
	rt := lxdstar.New(
		lxdstar.WithLXD(lxdmod.Config{Endpoint: socket}),
		lxdstar.WithArgs(soakArgs(instance, sz)),
		lxdstar.WithPrint(func(msg string) { mu.Lock(); out.WriteString(msg + "\n"); printed = true; mu.Unlock() }),
	)
	res.Samples = append(res.Samples, takeSoakSample(0))
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := rt.RunFile(ctx, script)
		done <- err
	}()
	tick := time.NewTicker(sz.Duration / 20)
	defer tick.Stop()
	var during []SoakSample
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			mu.Lock()
			over := printed
			mu.Unlock()
			if over {
				continue
			}
			s := takeSoakSample(time.Since(start))
			during = append(during, s)
			res.Samples = append(res.Samples, s)
		}
	}
	res.Took = time.Since(start)
	time.Sleep(time.Second) // let the run's last connections and goroutines go
	res.After = takeSoakSample(time.Since(start))
	res.Samples = append(res.Samples, res.After)
	res.Output = out.String()
	want := fmt.Sprintf("soak-ok %d %d ", sz.Execs, sz.Files)
	switch {
	case err != nil:
		res.Err = err.Error()
	case !strings.HasPrefix(res.Output, want):
		res.Err = fmt.Sprintf("printed %q, want %q followed by the events seen", strings.TrimSpace(res.Output), want)
	case len(during) < 4:
		res.Err = fmt.Sprintf("only %d samples during the run", len(during))
	default:
		tenth := max(len(during)/10, 1)
		res.Start, res.End = smallest(during[tenth:2*tenth]), smallest(during[len(during)-tenth:])
	}
	return res
}

// Soak margins: what one process may gain from the end of its warm-up to
// the end of the soak, or from before the run to after it, without
// counting as a leak.
const (
	soakGoroutines = 5
	soakFDs        = 5
	soakRSSKiB     = 8 << 10
)

// leaks says what grew beyond the margins: during the run (start → end)
// or over it (before → after; RSS is not compared there, the heap the run
// grew need not be handed back). "" when nothing did.
func (s *SoakResult) leaks() string {
	var out []string
	grew := func(what string, from, to, margin int64) {
		if to > from+margin {
			out = append(out, fmt.Sprintf("%s %d → %d", what, from, to))
		}
	}
	grew("goroutines during the run", int64(s.Start.Goroutines), int64(s.End.Goroutines), soakGoroutines)
	grew("open fds during the run", int64(s.Start.FDs), int64(s.End.FDs), soakFDs)
	grew("RSS (KiB) during the run", s.Start.RSSKiB, s.End.RSSKiB, soakRSSKiB)
	before := s.Samples[0]
	grew("goroutines left after the run", int64(before.Goroutines), int64(s.After.Goroutines), soakGoroutines)
	grew("open fds left after the run", int64(before.FDs), int64(s.After.FDs), soakFDs)
	return strings.Join(out, ", ")
}

// smallest takes each count's minimum over samples.
func smallest(samples []SoakSample) SoakSample {
	m := samples[0]
	for _, s := range samples[1:] {
		m.Goroutines = min(m.Goroutines, s.Goroutines)
		m.FDs = min(m.FDs, s.FDs)
		m.RSSKiB = min(m.RSSKiB, s.RSSKiB)
	}
	return m
}

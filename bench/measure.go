package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sample is one measured run of a tool.
type Sample struct {
	Wall time.Duration // fork to exit, as seen by wait4
	CPU  time.Duration // user+sys of the tool's process tree
	// MaxRSSKiB is the peak RSS of the largest process of the tool's
	// tree, measured only in memory runs (see memRSS); 0 otherwise.
	MaxRSSKiB int64
}

// procResult is a finished process: its measurements and output.
type procResult struct {
	Sample
	Stdout, Stderr string
	// waitRSS is ru_maxrss from wait4. It is NOT the tool's peak: Go
	// starts children with vfork, and Linux carries the parent's peak RSS
	// over exec into the child's, so it is at least the harness's own.
	waitRSS int64
}

// withTimeRSS wraps argv in GNU time so that the tool's peak RSS can be
// read from out: time fork()s the tool from its own ~1 MiB image, so the
// tool's ru_maxrss is its own.
func withTimeRSS(timeBin, out string, argv []string) []string {
	return append([]string{timeBin, "-f", "%M", "-o", out, "--"}, argv...)
}

// readTimeRSS reads what `time -f %M -o out` wrote (its last line; a
// "Command exited with non-zero status" line may come first).
func readTimeRSS(out string) (int64, error) {
	b, err := os.ReadFile(out)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strconv.ParseInt(strings.TrimSpace(lines[len(lines)-1]), 10, 64)
}

// runProc runs argv in dir with env and measures it. A non-zero exit is an
// error that carries the tail of stderr.
func runProc(ctx context.Context, dir string, env []string, argv []string, timeout time.Duration) (*procResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	res := &procResult{Stdout: stdout.String(), Stderr: stderr.String()}
	res.Wall = wall
	if ps := cmd.ProcessState; ps != nil {
		res.CPU = ps.UserTime() + ps.SystemTime()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			res.waitRSS = ru.Maxrss
		}
	}
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("timed out after %s", timeout)
		}
		return res, fmt.Errorf("%s: %v%s", strings.Join(argv, " "), err, tail(res.Stderr, 600))
	}
	return res, nil
}

// timedLine is a line of stderr and when the harness read it, relative to
// the process start.
type timedLine struct {
	At   time.Duration
	Text string
}

// runTimed is runProc, with every stderr line timestamped as it arrives
// (the lines' text is in Stderr too).
func runTimed(ctx context.Context, dir string, env []string, argv []string, timeout time.Duration) (*procResult, []timedLine, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir, cmd.Env = dir, env
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	var lines []timedLine
	var stderr strings.Builder
	sc := bufio.NewScanner(pipe)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, timedLine{time.Since(start), sc.Text()})
		stderr.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	res := &procResult{Stdout: stdout.String(), Stderr: stderr.String()}
	res.Wall = time.Since(start)
	if ps := cmd.ProcessState; ps != nil {
		res.CPU = ps.UserTime() + ps.SystemTime()
	}
	if err != nil {
		return res, lines, fmt.Errorf("%s: %v%s", strings.Join(argv, " "), err, tail(res.Stderr, 600))
	}
	return res, lines, nil
}

// tail returns the end of s, prefixed for appending to an error message.
func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return "; stderr: " + s
}

// Stats summarises the samples of one tool.
type Stats struct {
	N                 int
	Median, Min, Max  time.Duration
	MedianCPU         time.Duration
	MedianRSSKiB      int64 // from the memory runs
	MaxRSSKiB         int64
	MedianPerOp       time.Duration
	PerOpCount        int
	MedianCPUFraction float64
}

func stats(samples []Sample, ops int) Stats {
	if len(samples) == 0 {
		return Stats{}
	}
	walls := make([]time.Duration, len(samples))
	cpus := make([]time.Duration, len(samples))
	for i, s := range samples {
		walls[i], cpus[i] = s.Wall, s.CPU
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	st := Stats{
		N:          len(samples),
		Median:     medianDur(walls),
		Min:        walls[0],
		Max:        walls[len(walls)-1],
		MedianCPU:  medianDur(cpus),
		PerOpCount: ops,
	}
	if ops > 0 {
		st.MedianPerOp = st.Median / time.Duration(ops)
	}
	if st.Median > 0 {
		st.MedianCPUFraction = float64(st.MedianCPU) / float64(st.Median)
	}
	return st
}

func medianDur(sorted []time.Duration) time.Duration {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

// rssStats returns the median and the largest of the peak RSS samples.
func rssStats(rss []int64) (median, largest int64) {
	if len(rss) == 0 {
		return 0, 0
	}
	sorted := slices.Clone(rss)
	slices.Sort(sorted)
	return medianInt(sorted), sorted[len(sorted)-1]
}

func medianInt(sorted []int64) int64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

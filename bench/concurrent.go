package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// --- concurrent exec ----------------------------------------------------

// concurrentExec runs the same command in Conc running containers at once:
// lxdstar with execute(wait=False) and lxd.wait_all, the CLI from a shell
// (`lxc exec … &`, then wait), and an in-process raw-API client with one
// goroutine per container.
func (h *harness) concurrentExec(ctx context.Context) *Workload {
	n := h.cfg.Sizes.Conc
	cmd := h.cfg.Sizes.ConcCmd
	w := &Workload{Key: "conc", Title: "4. Concurrent exec", Ops: n, OpName: "container", Notes: []string{
		fmt.Sprintf("`%s` in each of %d running busybox containers `%s00…`, all at once. lxdstar: `lxd.wait_all(*[i.execute(cmd, wait=False) for i in insts])` after one `instances.all()`; lxc: `lxc exec <c> -- … &` for each from a shell, then `wait`; the raw-API reference (in-process, as in workload 3, with websockets) runs one goroutine per container. Every tool's output is checked.", strings.Join(cmd, " "), n, h.concPrefix()),
	}}
	h.logf("workload: conc")
	want := strings.Repeat(h.cfg.Sizes.ConcOut, n) + fmt.Sprintf("conc-ok %d\n", n)
	verify := func(_ context.Context, _ int, out string) error {
		if out != want {
			return fmt.Errorf("stdout %.200q, want %.200q", out, want)
		}
		return nil
	}
	outs := filepath.Join(h.tmp, "conc")
	if err := os.MkdirAll(outs, 0o755); err != nil {
		w.Notes = append(w.Notes, err.Error())
		return w
	}
	h.measure(ctx, w, []spec{
		{key: "lxdstar", name: "lxdstar (wait_all)", verify: verify,
			// Until execute(wait=False) exists, the tool cannot run.
			naWhen: `unexpected keyword argument "wait"`, naWhy: "this lxdstar has no execute(wait=False)",
			argv: func(int) []string {
				return append([]string{h.cfg.Lxdstar, h.script("star/exec_concurrent.star"), h.concPrefix()}, cmd...)
			}},
		{key: "cli", name: "lxc exec & (shell)", verify: verify,
			argv: func(int) []string {
				return append([]string{"/bin/sh", h.script("sh/exec_concurrent.sh"), h.cfg.Lxc, h.concPrefix(), strconv.Itoa(n), outs}, cmd...)
			}},
		{key: "raw", name: "raw API with websockets, concurrent (in-process reference)", ref: true,
			inProcess: func(ctx context.Context) (time.Duration, error) { return h.rawConcurrent(ctx, n, cmd) }},
	}, h.cfg.Runs.Conc, 0, 0, h.cfg.TimeBin != "")
	return w
}

// rawConcurrent runs cmd in the n concurrent containers at once, one
// goroutine each, and checks every exit status and output.
func (h *harness) rawConcurrent(ctx context.Context, n int, cmd []string) (time.Duration, error) {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, err := h.lxd.raw.execWithWebsockets(ctx, fmt.Sprintf("%s%02d", h.concPrefix(), i), cmd)
			switch {
			case err != nil:
				errs[i] = err
			case code != 0:
				errs[i] = fmt.Errorf("exit status %d, want 0", code)
			case out != h.cfg.Sizes.ConcOut:
				errs[i] = fmt.Errorf("stdout %.100q, want %q", out, h.cfg.Sizes.ConcOut)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return took, nil
}

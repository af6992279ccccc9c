package main

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/lxdmod"
)

// BenchmarkScript runs one lxdstar workload script in-process, through the
// embedding API, so that it can be profiled with the Go tools. The harness
// (profile.go) runs it for the lxdstar workloads whose targets were missed;
// by hand:
//
//	BENCH_SCRIPT=bench/star/exec.star BENCH_ARGS='["c1","50","true"]' \
//	  go test ./bench -run '^$' -bench '^BenchmarkScript$' -benchtime 3x -cpuprofile cpu.prof
//	go tool pprof -top bench.test cpu.prof
//
// BENCH_SCRIPT is the script (relative to the repository root or
// absolute), BENCH_ARGS its arguments as a JSON list, BENCH_SOCKET the LXD
// socket (default /var/lib/lxd/unix.socket).
func BenchmarkScript(b *testing.B) {
	script := os.Getenv("BENCH_SCRIPT")
	if script == "" {
		b.Skip("BENCH_SCRIPT not set")
	}
	if _, err := os.Stat(script); err != nil {
		script = "../" + script // go test runs in bench/
	}
	var args []string
	if a := os.Getenv("BENCH_ARGS"); a != "" {
		if err := json.Unmarshal([]byte(a), &args); err != nil {
			b.Fatalf("BENCH_ARGS: %v", err)
		}
	}
	socket := os.Getenv("BENCH_SOCKET")
	if socket == "" {
		socket = defaultSocket
	}
	rt := lxdstar.New(
		lxdstar.WithLXD(lxdmod.Config{Endpoint: socket}),
		lxdstar.WithArgs(args),
		lxdstar.WithPrint(func(string) {}),
	)
	ctx := context.Background()
	for b.Loop() {
		if _, err := rt.RunFile(ctx, script); err != nil {
			b.Fatal(err)
		}
	}
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSoak is the soak of `make bench` at a small size, against the test
// bed's main daemon: one process runs execs, file round trips and an
// event stream, and its goroutines, open fds and RSS must stay flat
// (SoakResult.leaks). A script that leaks one event stream per step must
// be caught, so that the check is known to bite.
func TestSoak(t *testing.T) {
	root := testbedRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	raw := newRawClient(defaultSocket)
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	name := "bench-soak-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		if err := raw.deleteInstance(context.Background(), name); err != nil {
			t.Errorf("deleting %s: %v", name, err)
		}
	})
	if err := raw.createInstance(ctx, name, "busybox", true); err != nil {
		t.Fatal(err)
	}

	script := filepath.Join(root, "bench", "star", "soak.star")
	res := runSoak(ctx, defaultSocket, script, name, Soak{Execs: 40, Files: 40, Duration: 5 * time.Second})
	t.Logf("soak: took %s, printed %q, before %+v, start %+v, end %+v, after %+v",
		res.Took.Round(time.Millisecond), strings.TrimSpace(res.Output), res.Samples[0], res.Start, res.End, res.After)
	if res.Err != "" {
		t.Fatalf("soak failed: %s", res.Err)
	}
	if leaks := res.leaks(); leaks != "" {
		t.Errorf("the soak leaked: %s", leaks)
	}

	// The same soak, but every step opens an event stream and never
	// closes it.
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	leaky := strings.Replace(string(src), "    for _ in range(10000):", "    client.events()\n    for _ in range(10000):", 1)
	if leaky == string(src) {
		t.Fatal("soak.star has changed: the leaky variant could not be made")
	}
	leakyScript := filepath.Join(t.TempDir(), "leaky.star")
	if err := os.WriteFile(leakyScript, []byte(leaky), 0o644); err != nil {
		t.Fatal(err)
	}
	res = runSoak(ctx, defaultSocket, leakyScript, name, Soak{Execs: 30, Files: 0, Duration: 3 * time.Second})
	if res.Err != "" {
		t.Fatalf("leaky soak failed: %s", res.Err)
	}
	leaks := res.leaks()
	t.Logf("leaky soak: start %+v, end %+v, after %+v: %s", res.Start, res.End, res.After, leaks)
	if !strings.Contains(leaks, "goroutines during the run") || !strings.Contains(leaks, "open fds during the run") {
		t.Errorf("30 event streams left open were not seen as a leak (%q)", leaks)
	}
}

package main

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lxdstar/lxdstar/lxdmod"
)

func TestParseArgsFillsConfig(t *testing.T) {
	t.Setenv("LXDSTAR_TRACE", "")
	var stderr bytes.Buffer
	std := stdio{err: &stderr}
	opts, err := parseArgs([]string{
		"--endpoint", "https://lxd:8443", "--remote", "r", "--project", "p",
		"--cert", "c.crt", "--key", "c.key", "--insecure", "--timeout", "2.5", "--dry-run",
		"script.star", "--quiet",
	}, std)
	if err != nil {
		t.Fatal(err)
	}
	want := lxdmod.Config{
		Endpoint: "https://lxd:8443", Remote: "r", Project: "p",
		CertFile: "c.crt", KeyFile: "c.key", Insecure: true, Timeout: 2500 * time.Millisecond, DryRun: true,
	}
	if !reflect.DeepEqual(opts.lxd, want) {
		t.Errorf("config = %+v, want %+v", opts.lxd, want)
	}
	if !reflect.DeepEqual(opts.args, []string{"script.star", "--quiet"}) {
		t.Errorf("args = %q", opts.args)
	}
}

func TestTraceAndProgress(t *testing.T) {
	var stderr bytes.Buffer
	for _, tc := range []struct {
		env         string
		args        []string
		errTerminal bool
		trace, prog bool
	}{
		{"", nil, false, false, false},
		{"", []string{"--trace"}, false, true, false},
		{"1", nil, false, true, false},
		{"0", nil, true, false, true},
		{"", []string{"--quiet"}, true, false, false},
	} {
		t.Setenv("LXDSTAR_TRACE", tc.env)
		opts, err := parseArgs(tc.args, stdio{err: &stderr, errTerminal: tc.errTerminal})
		if err != nil {
			t.Fatal(err)
		}
		if (opts.lxd.Trace != nil) != tc.trace || (opts.lxd.Progress != nil) != tc.prog {
			t.Errorf("env %q args %q terminal %v: trace %v progress %v", tc.env, tc.args, tc.errTerminal, opts.lxd.Trace != nil, opts.lxd.Progress != nil)
		}
		if opts.lxd.Trace != nil && opts.lxd.Trace != io.Writer(&stderr) {
			t.Error("trace does not go to stderr")
		}
	}
}

func TestREPLWhenStdinIsATerminal(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), nil, stdio{in: strings.NewReader("print('yes')\nexit(4)\n"), out: &stdout, err: &stderr, inTerminal: true})
	if code != 4 || stdout.String() != "yes\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestRunInProcess(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-c", "print(sys.argv[1:])", "x"}, stdio{out: &stdout, err: &stderr})
	if code != 0 || stdout.String() != "[\"x\"]\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
}

func TestCancelledRunExits130(t *testing.T) {
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { cancel(errInterrupted) })
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"-c", "while True: pass"}, stdio{out: &stdout, err: &stderr})
	if code != exitInterrupted {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestGCPercent(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if p, ok := gcPercent(getenv); !ok || p != cliGCPercent {
		t.Errorf("GOGC unset: got %d, %v; want %d, true", p, ok, cliGCPercent)
	}
	env["GOGC"] = "off"
	if _, ok := gcPercent(getenv); ok {
		t.Error("GOGC=off: the command overrode the user's setting")
	}
}

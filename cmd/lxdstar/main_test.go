package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lxdstar/lxdstar/internal/testfiles"
)

// binary is the lxdstar command built once for the tests that run it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lxdstar-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "lxdstar")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type outcome struct {
	code           int
	stdout, stderr string
}

// runBinary runs the binary in dir with args and stdin.
func runBinary(t *testing.T, dir, stdin string, args ...string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LXDSTAR_TRACE=")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("running lxdstar: %v", err)
	}
	return outcome{cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()}
}

func TestArgv(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{"argv.star": "print(sys.argv)\n"})
	// Flags after the script name are the script's.
	got := runBinary(t, dir, "", "--quiet", "argv.star", "a", "--project", "x", "-c")
	if got.code != 0 || got.stdout != `["argv.star", "a", "--project", "x", "-c"]`+"\n" {
		t.Errorf("got %+v", got)
	}
}

func TestExitCodes(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{
		"ok.star":     "x = 1\n",
		"fail.star":   "fail('no')\n",
		"err.star":    "x = 1 // 0\n",
		"exit.star":   "sys.exit(3)\nprint('after')\n",
		"zero.star":   "sys.exit(0)\nfail('after')\n",
		"caught.star": "catch(sys.exit, 4)\n",
	})
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"ok.star"}, 0},
		{[]string{"fail.star"}, 1},
		{[]string{"err.star"}, 1},
		{[]string{"exit.star"}, 3},
		{[]string{"zero.star"}, 0},
		{[]string{"caught.star"}, 4},
		{[]string{"missing.star"}, 2},
		{[]string{"--no-such-flag", "ok.star"}, 2},
		{[]string{"--timeout", "soon", "ok.star"}, 2},
	} {
		got := runBinary(t, dir, "", tc.args...)
		if got.code != tc.code {
			t.Errorf("lxdstar %v: exit %d, want %d\n%s", tc.args, got.code, tc.code, got.stderr)
		}
		if strings.Contains(got.stdout, "after") {
			t.Errorf("lxdstar %v: ran on after sys.exit", tc.args)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	got := runBinary(t, t.TempDir(), "", "--bogus", "x.star")
	if got.code != 2 || !strings.Contains(got.stderr, "flag provided but not defined: -bogus") || !strings.Contains(got.stderr, "usage:") {
		t.Errorf("unknown flag: %+v", got)
	}
	got = runBinary(t, t.TempDir(), "", "absent.star")
	if got.code != 2 || !strings.Contains(got.stderr, "absent.star") {
		t.Errorf("missing file: %+v", got)
	}
}

func TestCode(t *testing.T) {
	got := runBinary(t, t.TempDir(), "", "-c", "print(sys.argv, 1 + 1)", "a", "-x")
	if got.code != 0 || got.stdout != `["<cmdline>", "a", "-x"] 2`+"\n" {
		t.Errorf("got %+v", got)
	}
	got = runBinary(t, t.TempDir(), "", "--project=p", "-c=print('eq')")
	if got.code != 0 || got.stdout != "eq\n" {
		t.Errorf("got %+v", got)
	}
}

func TestStdinScript(t *testing.T) {
	got := runBinary(t, t.TempDir(), "x = 6 * 7\nprint(x, sys.argv)\n")
	if got.code != 0 || got.stdout != `42 ["<stdin>"]`+"\n" {
		t.Errorf("got %+v", got)
	}
	got = runBinary(t, t.TempDir(), "print(sys.argv)\n", "-", "arg")
	if got.code != 0 || got.stdout != `["<stdin>", "arg"]`+"\n" {
		t.Errorf("explicit -: got %+v", got)
	}
	got = runBinary(t, t.TempDir(), "\n\nfail('piped')\n")
	if got.code != 1 || !strings.Contains(got.stderr, "<stdin>:3:5: in <toplevel>\n    fail('piped')\n") {
		t.Errorf("error from stdin: %+v", got)
	}
}

func TestBacktraceShowsSource(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{
		"main.star": `load("lib/helpers.star", "check")

def deploy(name):
    check(name)

deploy("web1")
`,
		"lib/helpers.star": `def check(name):
    if name:
        fail("bad instance", name)
`,
	})
	got := runBinary(t, dir, "", "main.star")
	want := `Traceback (most recent call last):
  main.star:6:7: in <toplevel>
    deploy("web1")
  main.star:4:10: in deploy
    check(name)
  lib/helpers.star:3:13: in check
    fail("bad instance", name)
Error in fail: fail: bad instance web1
`
	if got.code != 1 || got.stderr != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", got.code, got.stderr, want)
	}
}

func TestSyntaxErrorShowsSource(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{"bad.star": "x = 1\ny = (x +\n"})
	got := runBinary(t, dir, "", "bad.star")
	if got.code != 1 || !strings.Contains(got.stderr, "bad.star:3:1:") {
		t.Errorf("got %+v", got)
	}
	got = runBinary(t, dir, "", "-c", "print(undefined)")
	want := "<cmdline>:1:7: undefined: undefined\n    print(undefined)\n          ^\n"
	if got.code != 1 || got.stderr != want {
		t.Errorf("got %+v", got)
	}
}

func TestVersion(t *testing.T) {
	got := runBinary(t, t.TempDir(), "", "--version")
	if got.code != 0 || !strings.HasPrefix(got.stdout, "lxdstar ") {
		t.Errorf("got %+v", got)
	}
}

func TestInspectKeepsGlobalsForTheREPL(t *testing.T) {
	got := runBinary(t, t.TempDir(), "print(x + 1)\n", "-i", "-c", "x = 1")
	if got.code != 0 || got.stdout != "2\n" {
		t.Errorf("got %+v", got)
	}
}

// interrupt starts the binary on a script that prints "started" and then
// blocks, sends SIGINT once it has started, and checks it exits 130 within
// a second.
func interrupt(t *testing.T, code string) {
	t.Helper()
	cmd := exec.Command(binary, "-c", "print('started')\n"+code)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	buf := make([]byte, len("started\n"))
	if _, err := stdout.Read(buf); err != nil || string(buf) != "started\n" {
		t.Fatalf("read %q, %v", buf, err)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	exits130(t, cmd, "running", &stderr)
	t.Logf("stopped in %v", time.Since(start))
}

// exits130 checks that cmd, just sent SIGINT while doing what, ends within
// a second with exit status 130; a failure shows its stderr.
func exits130(t *testing.T, cmd *exec.Cmd, what string, stderr *bytes.Buffer) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatalf("still %s a second after SIGINT", what)
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("exit %d, want 130; stderr:\n%s", code, stderr.String())
	}
}

func TestSIGINTBusyLoop(t *testing.T) { interrupt(t, "while True: pass") }

func TestSIGINTSleep(t *testing.T) { interrupt(t, "time.sleep(30)") }

func TestSIGINTCaught(t *testing.T) { interrupt(t, "while True:\n    catch(time.sleep, 30)") }

func TestSIGINTWhileReadingStdin(t *testing.T) {
	cmd := exec.Command(binary)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe() // never closed: the read blocks
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	time.Sleep(200 * time.Millisecond) // let it reach the read
	cmd.Process.Signal(syscall.SIGINT)
	exits130(t, cmd, "reading stdin", &stderr)
}

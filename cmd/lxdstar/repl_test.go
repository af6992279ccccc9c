package main

// Terminal-driven tests of the REPL: the real binary (built by TestMain)
// runs in a tmux pane against the test bed's LXD, and the tests type keys
// and read the screen. Every wait polls the screen until the expected text
// appears or a deadline passes, so the tests do not depend on timing.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lxdstar/lxdstar/internal/fakelxd"
	"github.com/lxdstar/lxdstar/internal/testfiles"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

const (
	lxdSocket  = "/var/lib/lxd/unix.socket"
	imageAlias = "busybox"
)

// term is the binary running in a tmux pane of a private tmux server.
type term struct {
	t      *testing.T
	server string // tmux -L name
}

// startTerm runs the binary with args in a 200×50 tmux pane, with HOME
// set to home. When the binary exits the pane shows "EXIT=<status>".
func startTerm(t *testing.T, home string, args ...string) *term {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is needed for the terminal tests: apt-get install tmux")
	}
	tm := &term{t: t, server: "lxdstar-test-" + randomHex()}
	words := []string{"env", "HOME=" + home, "LXDSTAR_TRACE=", binary}
	words = append(words, args...)
	for i, w := range words {
		words[i] = shellQuote(w)
	}
	cmdline := strings.Join(words, " ") + `; echo "EXIT=$?"; sleep 3600`
	tm.tmux("new-session", "-d", "-s", "main", "-x", "200", "-y", "50", cmdline)
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", tm.server, "kill-server").Run() })
	tm.waitPrompt(0)
	return tm
}

func (tm *term) tmux(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", tm.server}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// screen returns the pane's text, scrollback included, wrapped lines joined.
func (tm *term) screen() string {
	return tm.tmux("capture-pane", "-p", "-J", "-t", "main", "-S", "-")
}

// keys sends tmux key names (Enter, Tab, C-c, C-d, Up).
func (tm *term) keys(keys ...string) {
	tm.tmux(append([]string{"send-keys", "-t", "main"}, keys...)...)
}

// typeText types text literally, without Enter.
func (tm *term) typeText(text string) {
	tm.tmux("send-keys", "-t", "main", "-l", text)
}

// enter types each line and presses Enter after it.
func (tm *term) enter(lines ...string) {
	for _, line := range lines {
		if line != "" {
			tm.typeText(line)
		}
		tm.keys("Enter")
	}
}

// tab types text and presses Tab, to complete it.
func (tm *term) tab(text string) {
	tm.typeText(text)
	tm.keys("Tab")
}

// waitFor polls the screen until ok holds, failing at the deadline.
func (tm *term) waitFor(what string, within time.Duration, ok func(screen string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := tm.screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("waited %v for %s; screen:\n%s", within, what, s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitText waits until text appears on the screen.
func (tm *term) waitText(text string, within time.Duration) {
	tm.t.Helper()
	tm.waitFor(fmt.Sprintf("%q", text), within, func(s string) bool { return strings.Contains(s, text) })
}

// waitExit waits until the binary has exited with status.
func (tm *term) waitExit(status int) {
	tm.t.Helper()
	tm.waitText(fmt.Sprintf("EXIT=%d", status), 5*time.Second)
}

// waitLine waits until the screen's last line reads line (a prompt and
// what is typed after it).
func (tm *term) waitLine(line string) {
	tm.t.Helper()
	tm.waitFor(fmt.Sprintf("the line %q", line), 5*time.Second, func(s string) bool { return lastLine(s) == line })
}

var promptLine = regexp.MustCompile(`(?m)^>>>( |$)`)

// prompts counts the primary prompts on screen.
func prompts(screen string) int { return len(promptLine.FindAllStringIndex(screen, -1)) }

// lastLine is the last non-blank line of the screen.
func lastLine(screen string) string {
	lines := strings.Split(strings.TrimRight(screen, "\n "), "\n")
	return strings.TrimRight(lines[len(lines)-1], " ")
}

// waitPrompt waits for an empty primary prompt after more than n of them.
func (tm *term) waitPrompt(n int) string {
	tm.t.Helper()
	return tm.waitFor("the >>> prompt", 30*time.Second, func(s string) bool {
		return prompts(s) > n && lastLine(s) == ">>>"
	})
}

// run types a line, presses Enter and waits for the next prompt; it
// returns what appeared between the line and that prompt.
func (tm *term) run(line string) string {
	tm.t.Helper()
	before := prompts(tm.screen())
	tm.enter(line)
	s := tm.waitPrompt(before)
	i := strings.LastIndex(s, ">>> "+line)
	if i < 0 {
		return s
	}
	out := s[i+4+len(line):]
	return strings.TrimSpace(out[:strings.LastIndex(out, ">>>")])
}

// interrupt sends Ctrl-C to a running statement and checks the prompt is
// back within a second with the error printed.
func (tm *term) interrupt(wantErr string) {
	tm.t.Helper()
	before := prompts(tm.screen())
	start := time.Now()
	tm.keys("C-c")
	s := tm.waitFor("the prompt after Ctrl-C", 5*time.Second, func(s string) bool {
		return prompts(s) > before && lastLine(s) == ">>>"
	})
	if d := time.Since(start); d > time.Second {
		tm.t.Errorf("the prompt came back %v after Ctrl-C", d)
	}
	// What was printed since the statement's own prompt line.
	body := strings.TrimRight(s, "\n ")
	body = body[:strings.LastIndex(body, "\n")]
	tail := body[max(strings.LastIndex(body, ">>>"), 0):]
	if !strings.Contains(tail, wantErr) {
		tm.t.Errorf("after Ctrl-C want %q; screen ends:\n%s", wantErr, tail)
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func randomHex() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// needLXD fails when the test bed's daemon is missing (make test starts it).
func needLXD(t *testing.T) *rest.Client {
	t.Helper()
	if fi, err := os.Stat(lxdSocket); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("no LXD socket at %s: start the test bed with `make testbed-up`", lxdSocket)
	}
	c, err := rest.New(rest.Config{Endpoint: lxdSocket})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lxdDo runs a request and waits for its operation, if any.
func lxdDo(c *rest.Client, method, path string, body any) error {
	ctx := context.Background()
	r, err := c.Do(ctx, &rest.Request{Method: method, Path: path, Body: body})
	if err != nil || r.Type != "async" {
		return err
	}
	op, err := rest.AsyncOperation(r)
	if err != nil {
		return err
	}
	_, err = c.WaitOperation(ctx, op, time.Minute)
	return err
}

// container creates (and optionally starts) a busybox container with
// config and deletes it when the test ends.
func container(t *testing.T, c *rest.Client, start bool, config map[string]any) string {
	t.Helper()
	name := "t-repl-" + randomHex()
	t.Cleanup(func() {
		_ = lxdDo(c, "PUT", rest.Path("instances", name, "state"), map[string]any{"action": "stop", "force": true, "timeout": -1})
		_ = lxdDo(c, "DELETE", rest.Path("instances", name), nil)
	})
	body := map[string]any{"name": name, "source": map[string]any{"type": "image", "alias": imageAlias}, "config": config}
	if err := lxdDo(c, "POST", rest.Path("instances"), body); err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	if start {
		if err := lxdDo(c, "PUT", rest.Path("instances", name, "state"), map[string]any{"action": "start", "timeout": 30}); err != nil {
			t.Fatalf("starting %s: %v", name, err)
		}
	}
	return name
}

func TestREPLBasics(t *testing.T) {
	tm := startTerm(t, t.TempDir(), "--endpoint", "/nonexistent/lxd.socket")
	// In order: _ is the last value printed.
	for _, tc := range []struct{ line, want string }{
		{"x = 6 * 7", ""}, // an assignment prints nothing
		{"x", "42"},
		{"_ + 1", "43"},
		{`"s" * 2`, `"ss"`}, // a string prints as its repr
	} {
		if out := tm.run(tc.line); out != tc.want {
			t.Errorf("%s printed %q, want %q", tc.line, out, tc.want)
		}
	}
	// A multi-line statement ends on a blank line.
	before := prompts(tm.screen())
	tm.enter("def f(n):")
	tm.waitLine("...")
	tm.enter("    return n * 2", "")
	tm.waitPrompt(before)
	if out := tm.run("f(x)"); out != "84" {
		t.Errorf("f(x) printed %q", out)
	}
	// Errors show the backtrace and the REPL goes on.
	if out := tm.run("1 // 0"); !strings.Contains(out, "Traceback (most recent call last):") || !strings.Contains(out, "floored division by zero") {
		t.Errorf("error printed %q", out)
	}
	if out := tm.run("undefined_name"); !strings.Contains(out, "undefined: undefined_name") {
		t.Errorf("resolve error printed %q", out)
	}
	// Ctrl-C at the prompt clears the line; in a continuation, the chunk.
	tm.typeText("garbage")
	before = prompts(tm.screen())
	tm.keys("C-c")
	tm.waitPrompt(before)
	if out := tm.run("x + 1"); out != "43" {
		t.Errorf("after Ctrl-C at the prompt: %q", out)
	}
	tm.enter("for i in range(3):")
	tm.waitLine("...")
	before = prompts(tm.screen())
	tm.keys("C-c")
	tm.waitPrompt(before)
	if out := tm.run("help()"); !strings.Contains(out, "client") || !strings.Contains(out, "read_file") || !strings.Contains(out, "exit() or Ctrl-D") {
		t.Errorf("help() printed %q", out)
	}
	tm.enter("exit(3)")
	tm.waitExit(3)
}

func TestREPLForLoopOverInstances(t *testing.T) {
	c := needLXD(t)
	name := container(t, c, false, nil)
	tm := startTerm(t, t.TempDir())
	before := prompts(tm.screen())
	tm.enter("for inst in client.instances.all():", "    print('found', inst.name, inst.status)", "")
	s := tm.waitPrompt(before)
	if !strings.Contains(s, "found "+name+" Stopped") {
		t.Errorf("the loop did not list %s:\n%s", name, s)
	}
	// Ctrl-D leaves with status 0.
	tm.keys("C-d")
	tm.waitExit(0)
}

// countingLXD is the fake LXD of internal/fakelxd, whose requests the
// completion tests count.
type countingLXD struct {
	*fakelxd.Server
	socket string
}

func newCountingLXD(t *testing.T) *countingLXD {
	f := fakelxd.New(t, fakelxd.Config{})
	return &countingLXD{Server: f, socket: f.Endpoint()}
}

// requests lists the requests received so far as "METHOD /path?query".
func (f *countingLXD) requests() []string {
	var out []string
	for _, r := range f.Requests() {
		out = append(out, r.String())
	}
	return out
}

func TestREPLCompletesAttributes(t *testing.T) {
	fake := newCountingLXD(t)
	tm := startTerm(t, t.TempDir(), "--endpoint", fake.socket)

	// client is not connected yet: completion comes from the registry.
	tm.tab("client.inst")
	tm.waitLine(">>> client.instances")
	tm.tab(".")
	s := tm.waitFor("the manager's methods", 5*time.Second, func(s string) bool {
		return regexp.MustCompile(`all\s+create\s+create_from_backup\s+exists\s+get`).MatchString(s)
	})
	if strings.Contains(s, "Traceback") {
		t.Errorf("completion failed:\n%s", s)
	}
	tm.tab("g")
	tm.waitLine(">>> client.instances.get")
	tm.keys("C-u") // clear the line
	if reqs := fake.requests(); len(reqs) > 0 {
		t.Errorf("completion talked to LXD: %q", reqs)
	}

	// Once connected, completion uses the Client itself, and still sends
	// nothing: not even client.resources is read.
	if out := tm.run("client.trusted"); out != "True" {
		t.Errorf("client.trusted printed %q", out)
	}
	n := len(fake.requests())
	tm.tab("client.res")
	tm.waitLine(">>> client.resources")
	tm.tab(".")
	tm.typeText("x")
	tm.waitLine(">>> client.resources.x")
	tm.keys("C-u")
	tm.tab("client.virtual_machines.ex")
	tm.waitLine(">>> client.virtual_machines.exists")
	tm.keys("C-u")
	if reqs := fake.requests(); len(reqs) != n {
		t.Errorf("completion sent %q", reqs[n:])
	}
}

func TestREPLHelpShowsSignature(t *testing.T) {
	needLXD(t)
	tm := startTerm(t, t.TempDir())
	out := tm.run("help(client.instances.create)")
	if !strings.HasPrefix(out, "instances.create(config, wait=False, target=None) -> Instance") {
		t.Errorf("help printed:\n%s", out)
	}
	out = tm.run("help(client.containers)")
	if !strings.Contains(out, "instances (manager)") || !strings.Contains(out, "  create(config, wait=False, target=None) -> Instance") {
		t.Errorf("help(client.containers) printed:\n%s", out)
	}
	if out := tm.run("help(lxd.wait_all)"); !strings.HasPrefix(out, "lxd.wait_all(*ops, timeout=None) -> list") {
		t.Errorf("help(lxd.wait_all) printed:\n%s", out)
	}
}

func TestREPLCtrlCInterrupts(t *testing.T) {
	c := needLXD(t)
	// LXD stops this container by sending SIGUSR2 to its init, which
	// ignores it: a stop with force=False waits the whole timeout.
	stubborn := container(t, c, true, map[string]any{"raw.lxc": "lxc.signal.halt = SIGUSR2"})
	running := container(t, c, true, nil)

	tm := startTerm(t, t.TempDir())
	tm.run("x = 41")
	tm.run(fmt.Sprintf("stubborn = client.instances.get(%q)", stubborn))
	tm.run(fmt.Sprintf("running = client.instances.get(%q)", running))

	// started runs a statement and waits until it has begun.
	started := func(stmt, marker string) {
		tm.enter(stmt)
		tm.waitText(marker, 10*time.Second)
		time.Sleep(200 * time.Millisecond) // well inside the statement
	}
	check := func() {
		t.Helper()
		if out := tm.run("x + 1"); out != "42" {
			t.Errorf("the global after Ctrl-C: %q", out)
		}
	}

	t.Run("loop", func(t *testing.T) {
		before := prompts(tm.screen())
		tm.enter("def spin():", "    print('loop-started')", "    while True: pass", "")
		tm.waitPrompt(before)
		started("spin()", "loop-started")
		tm.interrupt("cancelled")
		check()
	})
	t.Run("sleep", func(t *testing.T) {
		started("print('sleep-started'); time.sleep(60)", "sleep-started")
		tm.interrupt("Cancelled")
		check()
	})
	t.Run("operation wait", func(t *testing.T) {
		started("print('stop-started'); stubborn.stop(timeout=60, force=False, wait=True)", "stop-started")
		tm.interrupt("Cancelled")
		check()
	})
	t.Run("exec", func(t *testing.T) {
		started("print('exec-started'); running.execute(['sleep', '60'])", "exec-started")
		tm.interrupt("Cancelled")
		check()
	})
}

func TestREPLHistorySurvivesRestart(t *testing.T) {
	home := t.TempDir()
	tm := startTerm(t, home, "--endpoint", "/nonexistent/lxd.socket")
	tm.run("hist_probe = 12345")
	tm.keys("C-d")
	tm.waitExit(0)

	path := filepath.Join(home, ".lxdstar_history")
	data, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(data), "hist_probe = 12345") {
		t.Fatalf("history file: %q, %v", data, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode %v", fi.Mode().Perm())
	}

	tm = startTerm(t, home, "--endpoint", "/nonexistent/lxd.socket")
	tm.keys("Up")
	tm.waitLine(">>> hist_probe = 12345") // the previous session's line
}

func TestREPLInspectKeepsScriptGlobals(t *testing.T) {
	dir := testfiles.Dir(t, map[string]string{"setup.star": `data = {"names": ["a"]}
def twice(n):
    return 2 * n
`})
	tm := startTerm(t, t.TempDir(), "--endpoint", "/nonexistent/lxd.socket", "-i", filepath.Join(dir, "setup.star"), "arg1")
	if out := tm.run("twice(21)"); out != "42" {
		t.Errorf("twice(21) printed %q", out)
	}
	// The script's frozen globals are editable copies in the REPL.
	if out := tm.run(`data["names"].append("b")`); out != "" {
		t.Errorf("append printed %q", out)
	}
	if out := tm.run("data"); out != `{"names": ["a", "b"]}` {
		t.Errorf("data printed %q", out)
	}
	if out := tm.run("sys.argv[1:]"); out != `["arg1"]` {
		t.Errorf("sys.argv printed %q", out)
	}
}

func TestREPLWithoutTerminalReadsStdin(t *testing.T) {
	home := t.TempDir()
	dir := testfiles.Dir(t, map[string]string{"s.star": "x = 21\n"})
	cmd := exec.Command(binary, "-i", "s.star")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+home, "LXDSTAR_TRACE=")
	cmd.Stdin = strings.NewReader("x * 2\nfor i in [1, 2]:\n    print(i)\n\n1 // 0\nprint('after')\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if string(out) != "42\n1\n2\nafter\n" {
		t.Errorf("stdout %q", out)
	}
	if _, err := os.Stat(filepath.Join(home, ".lxdstar_history")); !os.IsNotExist(err) {
		t.Errorf("history written without a terminal (%v)", err)
	}
}

// An operation started with wait=False that fails while nobody waits is
// printed before a later prompt, once.
func TestREPLReportsUnwaitedFailure(t *testing.T) {
	c := needLXD(t)
	running := container(t, c, true, nil)
	tm := startTerm(t, t.TempDir())
	tm.run(fmt.Sprintf("i = client.instances.get(%q)", running))
	tm.run("op = i.start()") // already running: the operation fails
	out := tm.run("time.sleep(2)")
	if !strings.Contains(out, fmt.Sprintf(`start of instance "%s"`, running)) || !strings.Contains(out, "<stdin>:1:") ||
		!strings.Contains(strings.ToLower(out), "already running") {
		t.Errorf("after the failed start the REPL printed %q", out)
	}
	if out := tm.run("1 + 1"); out != "2" {
		t.Errorf("the failure was reported again: %q", out)
	}
}

package tests

import (
	"crypto/rand"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// publishScript publishes the instance named by argv[1] (slow enough to show
// progress: it holds incompressible data) and deletes the image again.
const publishScript = `
inst = lxd.Client().instances.get(sys.argv[1])
img = inst.publish(wait=True)
print("published", len(img.fingerprint))
img.delete(wait=True)
`

func TestProgressOnTerminalOnly(t *testing.T) { parallelOnEachServer(t, testProgressOnTerminalOnly) }

func testProgressOnTerminalOnly(t *testing.T, srv server) {
	if _, err := exec.LookPath("script"); err != nil {
		t.Fatal("util-linux's script(1) is needed to give the command a terminal")
	}
	bin := lxdstarBinary(t)
	name := newInstance(t, srv.Socket, "progress", false)
	big := make([]byte, 48<<20)
	_, _ = rand.Read(big)
	pushFile(t, restClient(t, srv.Socket), name, "/root/big.bin", big)

	// A terminal: script(1) runs the command on a pty (stdout and stderr).
	cmdline := bin + " --endpoint " + srv.Socket + " -c '" + strings.TrimSpace(publishScript) + "' " + name
	tty, err := exec.Command("script", "-qec", cmdline, "/dev/null").CombinedOutput()
	require.NoError(t, err, "%s", tty)
	assert.Contains(t, string(tty), "published 64")
	assert.Contains(t, string(tty), "Image pack: ", "progress shown on a terminal")
	assert.Contains(t, string(tty), "\r\x1b[K", "the progress line is redrawn and cleared")

	// Piped: no progress at all, and nothing of it on stdout.
	cmd := exec.Command(bin, "--endpoint", srv.Socket, "-c", publishScript, name)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "stderr: %s", stderr.String())
	assert.Equal(t, "published 64\n", string(out))
	assert.Empty(t, stderr.String())

	// --quiet on a terminal: none either.
	quiet, err := exec.Command("script", "-qec", strings.Replace(cmdline, " -c ", " --quiet -c ", 1), "/dev/null").CombinedOutput()
	require.NoError(t, err, "%s", quiet)
	assert.NotContains(t, string(quiet), "Image pack: ")
}

func TestProgressForFileTransfers(t *testing.T) {
	parallelOnEachServer(t, testProgressForFileTransfers)
}

func testProgressForFileTransfers(t *testing.T, srv server) {
	bin := lxdstarBinary(t)
	name := newInstance(t, srv.Socket, "xferprog", false)
	script := `inst = lxd.Client().instances.get(sys.argv[1])
data = b"x" * (64 * 1024 * 1024)
inst.files.put("/root/big.bin", data)
print("round trip", inst.files.get("/root/big.bin") == data)`
	cmdline := bin + " --endpoint " + srv.Socket + " -c '" + script + "' " + name
	tty, err := exec.Command("script", "-qec", cmdline, "/dev/null").CombinedOutput()
	require.NoError(t, err, "%s", tty)
	assert.Contains(t, string(tty), "round trip True")
	assert.Regexp(t, `Uploading /root/big\.bin: [0-9.]+MB/64\.0MB \(\d+%\)`, string(tty))
	assert.Regexp(t, `Downloading /root/big\.bin: [0-9.]+MB`, string(tty))

	cmd := exec.Command(bin, "--endpoint", srv.Socket, "-c", script, name)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err)
	assert.Equal(t, "round trip True\n", string(out))
	assert.Empty(t, stderr.String(), "no progress when not a terminal")
}

package tests

// An instance's log files and console, against the real daemons: what each
// server really does, asserted (LXD 5.0.2 and Incus 6.0.4 differ).

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// recordedExec runs a command with record-output through the raw REST
// client and returns the paths LXD recorded its output under.
func recordedExec(t testing.TB, c *rest.Client, inst string, command ...string) map[string]string {
	t.Helper()
	ctx := context.Background()
	r, err := c.Do(ctx, &rest.Request{Method: "POST", Path: rest.Path("instances", inst, "exec"), Body: map[string]any{
		"command": command, "record-output": true, "wait-for-websocket": false, "interactive": false}})
	require.NoError(t, err)
	op, err := rest.AsyncOperation(r)
	require.NoError(t, err)
	final, err := c.WaitOperation(ctx, op, time.Minute)
	require.NoError(t, err)
	out := map[string]string{}
	if o, ok := final.Metadata["output"].(map[string]any); ok {
		for k, v := range o {
			out[k], _ = v.(string)
		}
	}
	return out
}

func TestInstanceLogs(t *testing.T) { parallelOnEachServer(t, testInstanceLogs) }

// testInstanceLogs: all() lists what the server lists, get() gives its
// bytes, delete() removes a log the server lets go of and fails with the
// server's refusal for lxc.log.
func testInstanceLogs(t *testing.T, srv server) {
	socket, kind := srv.Socket, srv.Name
	name := newInstance(t, socket, "logs", true)
	c := restClient(t, socket)
	logs := rest.Path("instances", name, "logs")
	output := recordedExec(t, c, name, "sh", "-c", "echo recorded")
	stdout := output["1"][strings.LastIndexByte(output["1"], '/')+1:]
	require.NotEmpty(t, stdout, "%v", output)
	listed := serverNames(t, c, logs)
	// LXD 5.0 keeps exec output among the logs; Incus 6.0 in logs/exec-output,
	// which its listing leaves out.
	if kind == "lxd" {
		require.Contains(t, listed, stdout)
	} else {
		require.NotContains(t, listed, stdout)
		stdout = ""
	}
	before := string(rawBytes(t, c, logs+"/lxc.log", nil))
	out := newScript(t, socket).with("NAME", starlark.String(name)).with("STDOUT", starlark.String(stdout)).mustRun(`
c = lxd.Client()
inst = c.instances.get(NAME)
print(json.encode(sorted(inst.logs.all())))
print(json.encode(inst.logs.get("lxc.log")))
if STDOUT:
    print(json.encode(inst.logs.get(STDOUT)))
    inst.logs.delete(STDOUT)
    print(STDOUT in inst.logs.all())
for bad in ["lxc.log", "nope.log"]:
    r = catch(inst.logs.delete, bad)
    print(r.error.kind, r.error.status_code, r.error.message)
r = catch(inst.logs.get, "nope.log")
print(r.error.kind, r.error.status_code, r.error.message)
`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var names []string
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &names))
	assert.Equal(t, listed, names)
	var lxcLog string
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &lxcLog))
	// lxc.log only grows (LXD appends a line per attach): what get() gave
	// lies between what the server had before and after.
	after := string(rawBytes(t, c, logs+"/lxc.log", nil))
	assert.NotEmpty(t, lxcLog)
	assert.True(t, strings.HasPrefix(lxcLog, before) && strings.HasPrefix(after, lxcLog), "lxc.log: got %q, the server had %q, then %q", lxcLog, before, after)
	rest := lines[2:]
	if kind == "lxd" {
		require.Len(t, rest, 5, out)
		assert.Equal(t, `"recorded\n"`, rest[0])
		assert.Equal(t, "False", rest[1])
		assert.NotContains(t, serverNames(t, c, logs), stdout, "the server still has it")
		rest = rest[2:]
		assert.Equal(t, `LXDAPIException 400 log "lxc.log" of instance "`+name+`": lxc.log and lxc.conf may not be deleted`, rest[0])
		assert.Equal(t, `LXDAPIException 400 log "nope.log" of instance "`+name+`": log file name nope.log not valid`, rest[1])
		assert.Equal(t, `LXDAPIException 400 log "nope.log" of instance "`+name+`": log file name nope.log not valid`, rest[2])
	} else {
		require.Len(t, rest, 3, out)
		assert.Equal(t, `LXDAPIException 400 log "lxc.log" of instance "`+name+`": Only log files excluding qemu.log and lxc.log may be deleted`, rest[0])
		assert.Contains(t, rest[1], `log "nope.log" of instance "`+name+`": `)
		assert.Contains(t, rest[2], `log "nope.log" of instance "`+name+`": `)
	}
	assert.Contains(t, serverNames(t, c, logs), "lxc.log", "a refused delete removed lxc.log")
}

func TestInstanceConsole(t *testing.T) { parallelOnEachServer(t, testInstanceConsole) }

// testInstanceConsole: console_log() is what the server answers (LXD
// 5.0.2: an error for a console never attached; Incus 6.0.4: empty),
// clear_console_log() succeeds, and raw_console() opens a session whose
// websocket carries what the instance writes to /dev/console.
func testInstanceConsole(t *testing.T, srv server) {
	socket, kind := srv.Socket, srv.Name
	name := newInstance(t, socket, "cons", true)
	c := restClient(t, socket)
	out := newScript(t, socket).with("NAME", starlark.String(name)).mustRun(`
c = lxd.Client()
inst = c.instances.get(NAME)
r = catch(inst.console_log)
if r.error:
    print("error", r.error.kind, r.error.status_code, r.error.message)
else:
    print("log", json.encode(r.value))
print(inst.clear_console_log())
s = inst.raw_console()
print(sorted(s.keys()))
print(s["ws"])
print(s["control"])
`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 5, out)
	if kind == "lxd" {
		assert.Equal(t, `error LXDAPIException 500 instance "`+name+`": open : no such file or directory`, lines[0])
	} else {
		assert.Equal(t, `log ""`, lines[0])
		assert.Empty(t, rawBytes(t, c, rest.Path("instances", name, "console"), nil))
	}
	assert.Equal(t, "None", lines[1])
	assert.Equal(t, `["control", "ws"]`, lines[2])
	for _, p := range lines[3:] {
		assert.Regexp(t, `^/1\.0/operations/[0-9a-f-]+/websocket\?secret=[0-9a-f]+$`, p)
	}

	// Attach to the session as a terminal would, then have the instance
	// write to its console: the text arrives on "ws".
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws, err := c.DialWebsocket(ctx, lines[3])
	require.NoError(t, err)
	defer ws.Close()
	control, err := c.DialWebsocket(ctx, lines[4])
	require.NoError(t, err)
	defer control.Close()
	mark := "console-mark-" + name
	got := make(chan string, 1)
	go func() {
		var seen strings.Builder
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				got <- seen.String()
				return
			}
			seen.Write(data)
			if strings.Contains(seen.String(), mark) {
				got <- seen.String()
				return
			}
		}
	}()
	// Write until it shows: the console may attach a moment after the
	// websockets did.
	var seen string
	for seen == "" {
		recordedExec(t, c, name, "sh", "-c", "echo "+mark+" > /dev/console")
		select {
		case seen = <-got:
		case <-time.After(2 * time.Second):
		case <-ctx.Done():
			t.Fatal("nothing came through the console")
		}
	}
	assert.Contains(t, seen, mark)
	_ = control.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
}

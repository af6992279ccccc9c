package lxdmod

// An instance's log files (inst.logs) and its console: the console log
// (console_log, clear_console_log) and console sessions (raw_console).

import (
	"fmt"
	"net/url"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// maxLogFile bounds what logs.get and console_log read: LXD sends a log
// whole, as a file.
const maxLogFile = 64 << 20

// instanceLogsKind is instance.logs: a manager of file names, not of models.
var instanceLogsKind = newSubKind("logs", nil, map[string]methodFn{
	"all":    logsAll,
	"get":    logsGet,
	"delete": logsDelete,
})

// logsPath is the instance's logs collection.
func (g *manager) logsPath() string { return g.parent.path() + "/logs" }

// logFile unpacks the name of a log file (one file of the instance's log
// directory, as LXD lists them) and returns its URL path and how errors
// name it.
func logFile(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (path, subject string, err error) {
	g := mgr(b)
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return "", "", err
	}
	if name == "" || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("%s: for parameter name: invalid log file name %q (want a name logs.all() lists, e.g. \"lxc.log\")", b.Name(), name)
	}
	return g.logsPath() + "/" + url.PathEscape(name), fmt.Sprintf("log %q of %s", name, g.parent.subject()), nil
}

// logs.all() -> [str]: the names of the instance's log files.
func logsAll(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	var urls []string
	if _, err := g.c.rest.Get(ctxOf(thread), g.logsPath(), nil, &urls); err != nil {
		return nil, err
	}
	names := make([]starlark.Value, len(urls))
	for i, u := range urls {
		name := u[strings.LastIndexByte(u, '/')+1:]
		if s, err := url.PathUnescape(name); err == nil {
			name = s
		}
		names[i] = starlark.String(name)
	}
	return starlark.NewList(names), nil
}

// logs.get(name) -> str: the log file's content.
func logsGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	path, subject, err := logFile(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	data, err := mgr(b).c.rest.GetBody(ctxOf(thread), path, maxLogFile)
	if err != nil {
		return nil, rest.About(err, subject)
	}
	return starlark.String(data), nil
}

// logs.delete(name): LXD deletes only the logs it does not write itself
// (exec output, migration and snapshot logs), never lxc.log or lxc.conf.
func logsDelete(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	path, subject, err := logFile(b, args, kwargs)
	if err != nil {
		return nil, err
	}
	if _, err := mgr(b).c.rest.Do(ctxOf(thread), rest.Delete(path)); err != nil {
		return nil, rest.About(err, subject)
	}
	return starlark.None, nil
}

// The console methods need the API extension console.
var (
	instanceConsoleLog      = gated("console", consoleLog)
	instanceClearConsoleLog = gated("console", clearConsoleLog)
	instanceRawConsole      = gated("console", rawConsole)
)

// console_log() -> str: what the instance wrote to its console.
func consoleLog(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	data, err := m.c.rest.ConsoleLog(ctxOf(thread), m.key(), maxLogFile)
	if err != nil {
		return nil, err
	}
	return starlark.String(data), nil
}

// clear_console_log() empties the console log.
func clearConsoleLog(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return starlark.None, m.c.rest.ClearConsoleLog(ctxOf(thread), m.key())
}

// Console sessions start with the size of a classic terminal; the
// control websocket resizes them.
const consoleWidth, consoleHeight = 80, 25

// raw_console() -> {"ws", "control"}: opens a console session and returns
// the paths of its websockets, as raw_interactive_execute does for a
// command. The session waits for someone to attach and ends when they
// leave (LXD 5.0.2 cannot cancel one nobody attached to).
func rawConsole(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	started, err := m.c.rest.StartConsole(ctxOf(thread), m.key(), consoleWidth, consoleHeight)
	if err != nil {
		return nil, err
	}
	d := starlark.NewDict(2)
	_ = d.SetKey(starlark.String("ws"), starlark.String(started.WebsocketPath("0")))
	_ = d.SetKey(starlark.String("control"), starlark.String(started.WebsocketPath("control")))
	return d, nil
}

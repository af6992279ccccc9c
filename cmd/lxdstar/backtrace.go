package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/syntax"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/repl"
)

// printError writes a script failure to w the way Python does: each frame,
// most recent call last, followed by its source line, then the message.
// sources holds the text of scripts that are not files (stdin, -c) and
// caches the files read.
func printError(w io.Writer, err error, sources map[string][]byte) {
	src := func(pos syntax.Position) string { return sourceLine(sources, pos) }

	var se *lxdstar.Error
	var synErr syntax.Error
	var resErrs resolve.ErrorList
	switch {
	case errors.As(err, &synErr):
		repl.WritePositioned(w, synErr.Pos, synErr.Msg, src(synErr.Pos))
	case errors.As(err, &resErrs):
		for _, e := range resErrs {
			repl.WritePositioned(w, e.Pos, e.Msg, src(e.Pos))
		}
	case errors.As(err, &se) && se.CallStack() != nil:
		stack := se.CallStack()
		suffix := ""
		if last := len(stack) - 1; last >= 0 && stack[last].Pos.Filename() == "<builtin>" {
			suffix = " in " + stack[last].Name
			stack = stack[:last]
		}
		fmt.Fprintln(w, "Traceback (most recent call last):")
		for _, fr := range stack {
			fmt.Fprintf(w, "  %s: in %s\n", fr.Pos, fr.Name)
			if line := src(fr.Pos); line != "" {
				fmt.Fprintf(w, "    %s\n", strings.TrimSpace(line))
			}
		}
		fmt.Fprintf(w, "Error%s: %s\n", suffix, se.Error())
	default:
		fmt.Fprintf(w, "lxdstar: %v\n", err)
	}
}

// sourceLine returns the text of the line at pos, or "" when unknown.
func sourceLine(sources map[string][]byte, pos syntax.Position) string {
	name := pos.Filename()
	if pos.Line < 1 || name == "" || name == "<builtin>" {
		return ""
	}
	data, ok := sources[name]
	if !ok {
		data, _ = os.ReadFile(name) // a loaded module; nil when unreadable
		sources[name] = data
	}
	lines := bytes.Split(data, []byte("\n"))
	if int(pos.Line) > len(lines) {
		return ""
	}
	return strings.TrimRight(string(lines[pos.Line-1]), "\r")
}

// Package builtins provides the predeclared environment of lxdstar scripts
// (docs/guide.md, “The script environment”) apart from the lxd module itself:
// catch, json, math, time (with
// a cancellable sleep), struct, read_file, write_file, sys, yaml and table,
// plus the dialect (FileOptions) and the load implementation (Loader) shared
// by the runtime, the command and the REPL.
//
// Nothing here modifies starlark.Universe; hosts add these names to the
// predeclared dictionary of each module they run.
package builtins

import (
	"go.starlark.net/lib/json"
	"go.starlark.net/lib/math"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"
)

// FileOptions returns the lxdstar dialect: scripting rather than
// configuration, so top-level control flow, while loops, sets, recursion and
// global reassignment are all allowed. Each call returns a fresh value.
func FileOptions() *syntax.FileOptions {
	return &syntax.FileOptions{
		Set:             true,
		While:           true,
		TopLevelControl: true,
		GlobalReassign:  true,
		Recursion:       true,
	}
}

// Predeclared returns a new dictionary of the script builtins (all
// but lxd, which the host adds). argv becomes sys.argv (the script path then
// its arguments) and env becomes sys.env (nil: the process environment, read
// now). The values are frozen, so the
// dictionary may be shared by every module of a run, loaded ones included.
func Predeclared(argv []string, env map[string]string) starlark.StringDict {
	d := starlark.StringDict{
		"catch":      starlark.NewBuiltin("catch", catch),
		"json":       json.Module,
		"math":       math.Module,
		"time":       timeModule(),
		"struct":     starlark.NewBuiltin("struct", starlarkstruct.Make),
		"read_file":  starlark.NewBuiltin("read_file", readFile),
		"write_file": starlark.NewBuiltin("write_file", writeFile),
		"sys":        sysModule(argv, env),
		"yaml":       yamlModule(),
		"table":      starlark.NewBuiltin("table", table),
	}
	d.Freeze()
	return d
}

// Package lxdstar runs Starlark scripts that drive LXD with the object model
// of pylxd (docs/guide.md is the user guide). It is what the lxdstar command
// is built on, and it
// lets other Go programs embed the same scripting:
//
//	rt := lxdstar.New(
//		lxdstar.WithLXD(lxdmod.Config{Project: "ci"}),
//		lxdstar.WithPredeclared(starlark.StringDict{"build_id": starlark.String(id)}),
//		lxdstar.WithPrint(func(msg string) { log.Print(msg) }),
//	)
//	globals, err := rt.RunFile(ctx, "deploy.star")
//	if rest.IsKind(err, rest.KindNotFound) {
//		// …
//	}
//
// A script sees the predeclared names of docs/guide.md, “The script
// environment” (lxd, catch, json, time,
// math, struct, read_file, write_file, sys) plus the host's own. Cancelling
// the context stops the script, including any LXD request or wait in
// flight. Failures are *Error values that carry the Starlark backtrace and
// unwrap to the Go error a builtin returned.
//
// A Session (Runtime.NewSession) runs code piece by piece in one
// environment whose globals persist, as the REPL does with its statements;
// Run, RunFile and Eval each run one script in a session of their own.
//
// Hosts with an environment of their own can add just the lxd module to it
// with Module.
package lxdstar

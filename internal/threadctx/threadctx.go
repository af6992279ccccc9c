// Package threadctx carries a context.Context on a Starlark thread, so that
// builtins doing I/O (LXD requests, waits, sleeps) stop when the host cancels.
package threadctx

import (
	"context"

	"go.starlark.net/starlark"
)

const key = "lxdstar.context"

// Set attaches ctx to thread. A host calls it once before running a script.
func Set(thread *starlark.Thread, ctx context.Context) {
	thread.SetLocal(key, ctx)
}

// From returns the context attached to thread, or context.Background when the
// host attached none (e.g. a test calling a builtin directly).
func From(thread *starlark.Thread) context.Context {
	return local(thread, key, context.Background())
}

// local returns the context stored on thread under key, or otherwise.
func local(thread *starlark.Thread, key string, otherwise context.Context) context.Context {
	if thread != nil {
		if ctx, ok := thread.Local(key).(context.Context); ok {
			return ctx
		}
	}
	return otherwise
}

const sessionKey = "lxdstar.session"

// SetSession attaches the context that bounds background work started on a
// script's behalf (e.g. watchers of operations started with wait=False). An
// lxdstar.Session sets it to its own context, which outlives each run (a
// script, a REPL statement) while each run gets its own context through Set.
func SetSession(thread *starlark.Thread, ctx context.Context) {
	thread.SetLocal(sessionKey, ctx)
}

// Session returns the session context, or From(thread) when none was set.
func Session(thread *starlark.Thread) context.Context {
	return local(thread, sessionKey, From(thread))
}

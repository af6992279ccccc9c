package threadctx

import (
	"context"
	"testing"

	"go.starlark.net/starlark"
)

type tag string

func TestFromAndSessionFallBack(t *testing.T) {
	if From(nil) != context.Background() || Session(nil) != context.Background() {
		t.Error("a nil thread does not give context.Background")
	}
	thread := new(starlark.Thread)
	if From(thread) != context.Background() || Session(thread) != context.Background() {
		t.Error("a thread without contexts does not give context.Background")
	}
	run := context.WithValue(context.Background(), tag("k"), "run")
	Set(thread, run)
	if From(thread) != run || Session(thread) != run {
		t.Error("without a session context, From and Session do not give the run's")
	}
	session := context.WithValue(context.Background(), tag("k"), "session")
	SetSession(thread, session)
	if From(thread) != run || Session(thread) != session {
		t.Error("From and Session do not each give their own context")
	}
}

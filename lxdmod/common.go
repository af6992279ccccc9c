package lxdmod

import (
	"context"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/threadctx"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// ctxOf is the context of the thread's current call: cancelled when the host
// interrupts the script.
func ctxOf(thread *starlark.Thread) context.Context { return threadctx.From(thread) }

// commonMethods are the lifecycle methods every model shares (newType puts
// them into each type's table).
var commonMethods = map[string]methodFn{
	"save":     modelSave,
	"sync":     modelSync,
	"rollback": modelRollback,
	"delete":   modelDelete,
	"to_dict":  modelToDict,
}

func receiver(b *starlark.Builtin) *Model { return b.Receiver().(*Model) }

// qualified names a builtin "Type.method" for error messages.
func qualified(_ *Model, b *starlark.Builtin) string { return b.Name() }

func modelSave(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	var wait bool
	if err := starlark.UnpackArgs(qualified(m, b), args, kwargs, "wait?", &wait); err != nil {
		return nil, err
	}
	return m.save(thread, wait)
}

func modelSync(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if err := starlark.UnpackArgs(qualified(m, b), args, kwargs); err != nil {
		return nil, err
	}
	return starlark.None, m.refresh(ctxOf(thread), true)
}

func modelRollback(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if err := starlark.UnpackArgs(qualified(m, b), args, kwargs); err != nil {
		return nil, err
	}
	if err := m.checkMutable(qualified(m, b)); err != nil {
		return nil, err
	}
	return starlark.None, m.refresh(ctxOf(thread), false)
}

func modelDelete(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	var wait bool
	if err := starlark.UnpackArgs(qualified(m, b), args, kwargs, "wait?", &wait); err != nil {
		return nil, err
	}
	spec := m.changeSpec("delete")
	spec.follows[0].path = "" // nothing left to read
	return m.c.run(thread, rest.Delete(m.path()), wait, spec)
}

func modelToDict(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if err := starlark.UnpackArgs(qualified(m, b), args, kwargs); err != nil {
		return nil, err
	}
	return m.ToDict(), nil
}

// checkMutable refuses local edits of a frozen model with a clear message.
func (m *Model) checkMutable(what string) error {
	m.mu.Lock()
	frozen := m.frozen
	m.mu.Unlock()
	if frozen {
		return errFrozen(what, m) // String() takes the lock itself
	}
	return nil
}

func errFrozen(what string, m *Model) error {
	return &frozenError{what: what, obj: m.String()}
}

type frozenError struct{ what, obj string }

func (e *frozenError) Error() string {
	return e.what + ": " + e.obj + " is frozen (a global of a module that finished loading): local changes are refused, server actions still work"
}

// ordered wraps a model method that talks to the server: it first waits
// for the object's own pending change (Model.await), and an LXD error
// names the object.
var ordered = awaiting(receiver)

// afterParent wraps the method of a sub-collection (inst.snapshots,
// inst.files): nothing overtakes the owning object's pending change, and
// an LXD error names the owner unless it names something more precise.
var afterParent = awaiting(func(b *starlark.Builtin) *Model { return mgr(b).parent })

// awaiting makes wrappers of methods that first await the pending change
// of the object whose(method) names and whose LXD errors name it.
func awaiting(whose func(b *starlark.Builtin) *Model) func(methodFn) methodFn {
	return func(fn methodFn) methodFn {
		return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			m := whose(b)
			if err := m.await(thread); err != nil {
				return nil, err
			}
			v, err := fn(thread, b, args, kwargs)
			if err != nil {
				return nil, rest.About(err, m.subject())
			}
			return v, nil
		}
	}
}

package lxdmod

// STUB (issue 4 helper replaces this file): exec and events.

import (
	"fmt"

	"go.starlark.net/starlark"
)

func notYet(b *starlark.Builtin) error { return fmt.Errorf("%s: not implemented yet", b.Name()) }

func instanceExecute(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return nil, notYet(b)
}

func instanceRawInteractiveExecute(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return nil, notYet(b)
}

func clientEvents(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	return nil, notYet(b)
}

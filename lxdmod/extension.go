package lxdmod

import (
	"go.starlark.net/starlark"
)

// needsExtension merges method tables (as mergeMethods does) and gates
// each method on the API extension ext: on a server without it, the call
// fails with LXDAPIExtensionNotAvailable naming the method and the
// extension, and sends nothing. Managers of objects that only exist with
// the extension use it; their objects need no gate of their own, since
// they can only be had from the manager.
func needsExtension(ext string, tables ...map[string]methodFn) map[string]methodFn {
	out := mergeMethods(tables...)
	for name, fn := range out {
		out[name] = gated(ext, fn)
	}
	return out
}

// gated wraps one method, whose receiver is a manager or a model.
func gated(ext string, fn methodFn) methodFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var c *Client
		switch r := b.Receiver().(type) {
		case *manager:
			c = r.c
		case *Model:
			c = r.c
		}
		if err := c.requireFor(b.Name(), ext); err != nil {
			return nil, err
		}
		return fn(thread, b, args, kwargs)
	}
}

package builtins

import (
	"fmt"
	"os"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/hostfile"
	"github.com/lxdstar/lxdstar/internal/starargs"
)

// read_file(path) returns the contents of a host file as bytes.
func readFile(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.Bytes(data), nil
}

// write_file(path, data) replaces a host file's contents with data (str or
// bytes), atomically (internal/hostfile).
func writeFile(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var path string
	var data starargs.Text
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "path", &path, "data", &data); err != nil {
		return nil, err
	}
	if err := hostfile.WriteFile(path, []byte(data)); err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return starlark.None, nil
}

package builtins

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// ExitError is the error sys.exit(code) fails with. It stops the script
// (catch does not intercept it); hosts recognise it with errors.As and exit
// with Code, 0 included.
type ExitError struct {
	Code int
}

// Error describes the call, e.g. "sys.exit(3)".
func (e *ExitError) Error() string { return fmt.Sprintf("sys.exit(%d)", e.Code) }

// sysModule returns the sys module: argv, env and exit.
func sysModule(argv []string, env map[string]string) *starlarkstruct.Module {
	if env == nil {
		env = processEnv()
	}
	args := make([]starlark.Value, len(argv))
	for i, a := range argv {
		args[i] = starlark.String(a)
	}
	envDict := starlark.NewDict(len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) { // a deterministic iteration order for scripts
		envDict.SetKey(starlark.String(k), starlark.String(env[k]))
	}
	return &starlarkstruct.Module{
		Name: "sys",
		Members: starlark.StringDict{
			"argv": starlark.NewList(args),
			"env":  envDict,
			"exit": starlark.NewBuiltin("exit", exit),
		},
	}
}

// exit(code=0) ends the script with the given exit status.
func exit(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var code starlark.Value = starlark.MakeInt(0)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "code?", &code); err != nil {
		return nil, err
	}
	if code == starlark.None {
		return nil, &ExitError{Code: 0}
	}
	var n int
	if err := starlark.AsInt(code, &n); err != nil {
		return nil, fmt.Errorf("%s: for parameter code: got %s, want int", b.Name(), code.Type())
	}
	return nil, &ExitError{Code: n}
}

// processEnv returns the process environment as a map.
func processEnv() map[string]string {
	env := make(map[string]string)
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	return env
}

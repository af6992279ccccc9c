package repl

import (
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/builtins"
	"github.com/lxdstar/lxdstar/lxdmod"
)

// Standard returns the environment of an lxdstar REPL: the script builtins
// of API.md §3 (sys.argv = argv, sys.env = environ, nil for the process
// environment), the lxd module with cfg as lxd.Client()'s defaults, and
// `client`, an lxd.Client() connected on first use.
func Standard(cfg lxdmod.Config, argv []string, environ map[string]string) (env starlark.StringDict, lazy []Lazy) {
	env = builtins.Predeclared(argv, environ)
	lxd := lxdmod.New(cfg)
	env["lxd"] = lxd
	connect := lxd.Members["Client"]
	lazy = []Lazy{{
		Name:   "client",
		DocKey: "Client",
		Init: func(thread *starlark.Thread) (starlark.Value, error) {
			return starlark.Call(thread, connect, nil, nil)
		},
	}}
	return env, lazy
}

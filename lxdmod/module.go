package lxdmod

import (
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// New returns the Starlark `lxd` module, whose lxd.Client() takes its
// defaults from cfg.
func New(cfg Config) *starlarkstruct.Module {
	return &starlarkstruct.Module{
		Name: "lxd",
		Members: starlark.StringDict{
			"Client":   newClientBuiltin(cfg),
			"wait_all": starlark.NewBuiltin("lxd.wait_all", waitAll),
			"EventType": starlarkstruct.FromStringDict(starlark.String("EventType"), starlark.StringDict{
				"All":       starlark.String("all"),
				"Operation": starlark.String("operation"),
				"Logging":   starlark.String("logging"),
				"Lifecycle": starlark.String("lifecycle"),
			}),
		},
	}
}

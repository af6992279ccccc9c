package lxdmod

import (
	"context"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Module is the Starlark `lxd` module of one run (or one REPL session):
// the value scripts see, and the operations its clients started with
// wait=False, kept until their outcome reached the script. Whoever runs
// the script calls Wait when it ends, so that no failure goes unreported.
type Module struct {
	value  *starlarkstruct.Module
	ledger *ledger
}

// New returns the `lxd` module, whose lxd.Client() takes its defaults
// from cfg.
func New(cfg Config) *Module {
	l := newLedger()
	m := &Module{ledger: l, value: &starlarkstruct.Module{
		Name: "lxd",
		Members: starlark.StringDict{
			"Client":   newClientBuiltin(cfg, l),
			"wait_all": starlark.NewBuiltin("lxd.wait_all", waitAll),
			"EventType": starlarkstruct.FromStringDict(starlark.String("EventType"), starlark.StringDict{
				"All":       starlark.String("all"),
				"Operation": starlark.String("operation"),
				"Logging":   starlark.String("logging"),
				"Lifecycle": starlark.String("lifecycle"),
			}),
		},
	}}
	// lxd.project(...) to lxd.instance(...), for client.plan/apply (spec.go).
	for name, fn := range specConstructors() {
		m.value.Members[name] = fn
	}
	return m
}

// Value is the module as scripts see it, to predeclare as "lxd".
func (m *Module) Value() *starlarkstruct.Module { return m.value }

// Wait blocks until every operation the script started with wait=False
// has ended, and returns an *UnwaitedError listing those that failed
// without the script seeing it (nil when none did). Cancelling ctx ends
// the wait early with a Cancelled error; the operations go on.
func (m *Module) Wait(ctx context.Context) error { return m.ledger.wait(ctx) }

// Failed is Wait without waiting: the failures, not yet seen by the
// script, of the operations that have ended so far. The REPL prints them
// before its next prompt.
func (m *Module) Failed() error { return m.ledger.ended() }

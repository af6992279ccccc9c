package lxdmod

import (
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.warnings (the warnings extension): what the server noticed and
// wants an operator to see. A project-bound client sees its project's.
var warningsKind = newKind("warnings", warningType, needsExtension("warnings", collectionMethods))

var warningType = newType(&modelType{
	name: "Warning",
	// LXD accepts "new" and "acknowledged"; it sets "resolved" itself.
	writable:   []string{"status"},
	key:        "uuid",
	shortKey:   8,
	collection: func(string) string { return rest.Path("warnings") },
	describe:   func(m *Model) string { return m.str("status") + " " + m.str("type") },
	methods:    map[string]methodFn{"acknowledge": warningAcknowledge},
})

// warning.acknowledge(): set the status to "acknowledged" on the server and
// re-read the warning (merging local edits, as sync() does). LXD answers
// synchronously.
func warningAcknowledge(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return m.c.run(thread, rest.Put(m.path(), map[string]any{"status": "acknowledged"}, ""), true, m.changeSpec("acknowledge"))
}

// client.metrics() -> [struct(name, labels, value)]: GET /1.0/metrics,
// the OpenMetrics text parsed; labels a dict, value a float.
func clientMetrics(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := b.Receiver().(*Client)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	if err := c.requireFor(b.Name(), "metrics"); err != nil {
		return nil, err
	}
	samples, err := c.rest.Metrics(ctxOf(thread))
	if err != nil {
		return nil, err
	}
	out := make([]starlark.Value, len(samples))
	for i, s := range samples {
		labels := starlark.NewDict(len(s.Labels))
		for _, l := range s.Labels {
			_ = labels.SetKey(starlark.String(l.Name), starlark.String(l.Value))
		}
		out[i] = starlarkstruct.FromStringDict(starlark.String("Metric"), starlark.StringDict{
			"name": starlark.String(s.Name), "labels": labels, "value": starlark.Float(s.Value)})
	}
	return starlark.NewList(out), nil
}

package lxdmod

import (
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.networks (API.md §2.4).
func newNetworkManager(c *Client) starlark.Value { return networksKind.of(c, nil) }

var networksKind = newKind("networks", networkType, collectionMethods, map[string]methodFn{"create": networksCreate})

var networkType = newType(&modelType{
	name:       "Network",
	writable:   []string{"description", "config"},
	key:        "name",
	renameHint: "name",
	collection: func(string) string { return rest.Path("networks") },
	describe:   describeField("type"),
	methods: map[string]methodFn{
		"rename": renameMethod("new_name"),
		"state":  networkState,
	},
	attrs: map[string]func(m *Model) (starlark.Value, error){
		"forwards": networkForwards,
		"peers":    networkPeers,
	},
	afterLoad: listDefaults("used_by"),
})

// networks.create(name, description=None, type=None, config=None, wait=False)
func networksCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var (
		name             newName
		description, typ starargs.OptString
		config           jsonObject
		wait             bool
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "description?", &description,
		"type?", &typ, "config?", &config, "wait?", &wait); err != nil {
		return nil, err
	}
	body := map[string]any{"name": string(name)}
	setIf(body, "description", description.Value)
	setIf(body, "type", typ.Value)
	setIf(body, "config", config)
	return g.createObject(thread, g.collectionPath(), map[string]any{"name": string(name)}, body, wait)
}

// network.state() -> dict: GET /1.0/networks/<name>/state (addresses,
// counters, hwaddr, mtu, state, type, ...).
func networkState(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	data, _, err := m.c.getObject(ctxOf(thread), m.path()+"/state")
	if err != nil {
		return nil, err
	}
	return data, nil
}

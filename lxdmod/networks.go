package lxdmod

import (
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.networks (docs/guide.md, “Networks, profiles and projects”).
var networksKind = newKind("networks", networkType, collectionMethods, map[string]methodFn{
	// create(name, description=None, type=None, config=None, wait=False)
	"create": namedCreate(stringArg("description"), stringArg("type"), dictArg("config")),
})

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
		"forwards": networkForwardsKind.ownedBy, // network_forwards.go
		"peers":    networkPeersKind.ownedBy,
	},
	afterLoad: listDefaults("used_by"),
})

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

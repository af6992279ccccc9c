package lxdmod

import (
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.profiles (API.md §2.4).
func newProfileManager(c *Client) starlark.Value { return profilesKind.of(c, nil) }

var profilesKind = newKind("profiles", profileType, collectionMethods, map[string]methodFn{"create": profilesCreate})

var profileType = newType(&modelType{
	name:       "Profile",
	writable:   []string{"description", "config", "devices"},
	key:        "name",
	renameHint: "name",
	collection: func(string) string { return rest.Path("profiles") },
	methods:    map[string]methodFn{"rename": renameMethod("new_name")},
	afterLoad:  listDefaults("used_by"),
})

// profiles.create(name, config=None, devices=None, description=None, wait=False)
func profilesCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var (
		name            newName
		config, devices jsonObject
		description     starargs.OptString
		wait            bool
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "config?", &config, "devices?", &devices,
		"description?", &description, "wait?", &wait); err != nil {
		return nil, err
	}
	body := map[string]any{"name": string(name)}
	setIf(body, "config", config)
	setIf(body, "devices", devices)
	setIf(body, "description", description.Value)
	return g.createObject(thread, g.collectionPath(), map[string]any{"name": string(name)}, body, wait)
}

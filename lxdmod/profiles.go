package lxdmod

import (
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.profiles (API.md §2.4).
func newProfileManager(c *Client) starlark.Value {
	return newManager(c, "profiles", profileType, nil, collectionMethods, map[string]methodFn{"create": profilesCreate})
}

var profileType = &modelType{
	name:       "Profile",
	writable:   []string{"description", "config", "devices"},
	key:        "name",
	renameHint: "name",
	collection: func(string) string { return rest.Path("profiles") },
	methods:    map[string]methodFn{"rename": renameMethod("new_name")},
	afterLoad:  listDefaults("used_by"),
}

// profiles.create(name, config=None, devices=None, description=None, wait=False)
func profilesCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var name string
	var config, devices, description starlark.Value = starlark.None, starlark.None, starlark.None
	var wait bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "config?", &config, "devices?", &devices,
		"description?", &description, "wait?", &wait); err != nil {
		return nil, err
	}
	if err := checkNewName(b.Name(), "name", name); err != nil {
		return nil, err
	}
	body := map[string]any{"name": name}
	cfg, err := optDict(config, b.Name(), "config")
	if err != nil {
		return nil, err
	}
	devs, err := optDict(devices, b.Name(), "devices")
	if err != nil {
		return nil, err
	}
	desc, err := optString(description, b.Name(), "description")
	if err != nil {
		return nil, err
	}
	setIf(body, "config", cfg)
	setIf(body, "devices", devs)
	setIf(body, "description", desc)
	return g.createObject(thread, rest.Path("profiles"), map[string]any{"name": name}, body, wait)
}

package lxdmod

import (
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.projects (API.md §2.4). Projects are server-wide: a project-bound
// client still sees all of them.
func newProjectManager(c *Client) starlark.Value {
	return newManager(c, "projects", projectType, nil, collectionMethods, map[string]methodFn{"create": projectsCreate})
}

var projectType = &modelType{
	name:       "Project",
	writable:   []string{"description", "config"},
	key:        "name",
	renameHint: "name",
	collection: func(string) string { return rest.Path("projects") },
	methods:    map[string]methodFn{"rename": renameMethod("new_name")},
	afterLoad:  listDefaults("used_by"),
}

// projects.create(name, description=None, config=None, wait=False)
func projectsCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var name string
	var description, config starlark.Value = starlark.None, starlark.None
	var wait bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "description?", &description,
		"config?", &config, "wait?", &wait); err != nil {
		return nil, err
	}
	if err := checkNewName(b.Name(), "name", name); err != nil {
		return nil, err
	}
	desc, err := optString(description, b.Name(), "description")
	if err != nil {
		return nil, err
	}
	cfg, err := optDict(config, b.Name(), "config")
	if err != nil {
		return nil, err
	}
	body := map[string]any{"name": name}
	setIf(body, "description", desc)
	setIf(body, "config", cfg)
	return g.createObject(thread, rest.Path("projects"), map[string]any{"name": name}, body, wait)
}

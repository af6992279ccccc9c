package lxdmod

import (
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.projects (API.md §2.4). Projects are server-wide: a project-bound
// client still sees all of them.
func newProjectManager(c *Client) starlark.Value { return projectsKind.of(c, nil) }

var projectsKind = newKind("projects", projectType, collectionMethods, map[string]methodFn{"create": projectsCreate})

var projectType = newType(&modelType{
	name:       "Project",
	writable:   []string{"description", "config"},
	key:        "name",
	renameHint: "name",
	collection: func(string) string { return rest.Path("projects") },
	methods:    map[string]methodFn{"rename": renameMethod("new_name")},
	afterLoad:  listDefaults("used_by"),
})

// projects.create(name, description=None, config=None, wait=False)
func projectsCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var (
		name        newName
		description starargs.OptString
		config      jsonObject
		wait        bool
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "description?", &description,
		"config?", &config, "wait?", &wait); err != nil {
		return nil, err
	}
	body := map[string]any{"name": string(name)}
	setIf(body, "description", description.Value)
	setIf(body, "config", config)
	return g.createObject(thread, g.collectionPath(), map[string]any{"name": string(name)}, body, wait)
}

package lxdmod

import "github.com/lxdstar/lxdstar/lxdmod/rest"

// client.projects. Projects are server-wide: a project-bound
// client still sees all of them.
var projectsKind = newKind("projects", projectType, collectionMethods, map[string]methodFn{
	// create(name, description=None, config=None, wait=False)
	"create": namedCreate(stringArg("description"), dictArg("config")),
})

var projectType = newType(&modelType{
	name:       "Project",
	writable:   []string{"description", "config"},
	key:        "name",
	renameHint: "name",
	collection: func(string) string { return rest.Path("projects") },
	methods:    map[string]methodFn{"rename": renameMethod("new_name")},
	afterLoad:  listDefaults("used_by"),
})

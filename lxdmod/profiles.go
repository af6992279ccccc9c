package lxdmod

import "github.com/lxdstar/lxdstar/lxdmod/rest"

// client.profiles (docs/guide.md, “Networks, profiles and projects”).
var profilesKind = newKind("profiles", profileType, collectionMethods, map[string]methodFn{
	// create(name, config=None, devices=None, description=None, wait=False)
	"create": namedCreate(dictArg("config"), dictArg("devices"), stringArg("description")),
})

var profileType = newType(&modelType{
	name:       "Profile",
	writable:   []string{"description", "config", "devices"},
	key:        "name",
	renameHint: "name",
	collection: func(string) string { return rest.Path("profiles") },
	methods:    map[string]methodFn{"rename": renameMethod("new_name")},
	afterLoad:  listDefaults("used_by"),
})

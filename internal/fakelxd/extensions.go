package fakelxd

import (
	_ "embed"
	"strings"
)

// lxd50ExtensionNames holds the api_extensions LXD 5.0.2 reports, one a
// line, in its order: data taken from the server itself (the api_extensions
// of GET /1.0), kept as data so that it can be compared or replaced whole.
//
//go:embed lxd50-extensions.txt
var lxd50ExtensionNames string

// lxd50Extensions returns LXD 5.0.2's api_extensions, a new slice each
// call, so no server shares its list with another.
func lxd50Extensions() []string { return strings.Fields(lxd50ExtensionNames) }

package lxdmod

import (
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.network_acls: needs the API extension network_acl.
var networkACLsKind = newKind("network_acls", networkACLType, needsExtension("network_acl", collectionMethods, map[string]methodFn{
	"create": fieldsCreate(stringArg("description"), dictListArg("ingress"), dictListArg("egress"), dictArg("config")),
}))

var networkACLType = newType(&modelType{
	name:       "NetworkACL",
	writable:   []string{"description", "ingress", "egress", "config"},
	key:        "name",
	renameHint: "name",
	collection: func(string) string { return rest.Path("network-acls") },
	methods: map[string]methodFn{
		"rename": renameMethod("new_name"),
		"log":    gated("network_acl_log", networkACLLog),
	},
	afterLoad: listDefaults("ingress", "egress", "used_by"),
})

// maxACLLog bounds what log() reads: LXD sends the whole log at once.
const maxACLLog = 64 << 20

// acl.log() -> str: GET /1.0/network-acls/<name>/log. LXD answers with a
// file (one JSON object per line, from OVN's controller log), not with its
// usual envelope.
func networkACLLog(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	data, err := m.c.rest.GetBody(ctxOf(thread), m.path()+"/log", maxACLLog)
	if err != nil {
		return nil, err
	}
	return starlark.String(data), nil
}

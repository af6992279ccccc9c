package lxdmod

import "github.com/lxdstar/lxdstar/lxdmod/rest"

// The collections hanging off a network: network.forwards
// (API extension network_forward) and network.peers (network_peer).

var networkForwardsKind = newSubKind("Network.forwards", networkForwardType, needsExtension("network_forward", collectionMethods, map[string]methodFn{
	"create": fieldsCreate(stringArg("description"), dictArg("config"), dictListArg("ports")),
}))

// A forward is named by its listen address; it cannot be renamed.
var networkForwardType = newType(&modelType{
	name:       "NetworkForward",
	writable:   []string{"description", "config", "ports"},
	key:        "listen_address",
	collection: func(network string) string { return rest.Path("networks", network, "forwards") },
	afterLoad:  listDefaults("ports"),
})

var networkPeersKind = newSubKind("Network.peers", networkPeerType, needsExtension("network_peer", collectionMethods, map[string]methodFn{
	"create": fieldsCreate(requiredArg("target_project"), requiredArg("target_network"), stringArg("description"), dictArg("config")),
}))

var networkPeerType = newType(&modelType{
	name:       "NetworkPeer",
	writable:   []string{"description", "config"},
	key:        "name",
	collection: func(network string) string { return rest.Path("networks", network, "peers") },
	describe:   describeField("status"),
})

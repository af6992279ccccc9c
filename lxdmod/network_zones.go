package lxdmod

import (
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.network_zones: DNS zones LXD serves, API extension
// network_dns; their records (zone.records) need network_dns_records.
var networkZonesKind = newKind("network_zones", networkZoneType, needsExtension("network_dns", collectionMethods, map[string]methodFn{
	"create": fieldsCreate(stringArg("description"), dictArg("config")),
}))

// Zones cannot be renamed (LXD answers 501).
var networkZoneType = newType(&modelType{
	name:       "NetworkZone",
	writable:   []string{"description", "config"},
	key:        "name",
	collection: func(string) string { return rest.Path("network-zones") },
	attrs: map[string]func(m *Model) (starlark.Value, error){
		"records": networkZoneRecordsKind.ownedBy,
	},
	afterLoad: listDefaults("used_by"),
})

var networkZoneRecordsKind = newSubKind("NetworkZone.records", networkZoneRecordType, needsExtension("network_dns_records", collectionMethods, map[string]methodFn{
	"create": fieldsCreate(dictListArg("entries"), stringArg("description"), dictArg("config")),
}))

var networkZoneRecordType = newType(&modelType{
	name:       "NetworkZoneRecord",
	writable:   []string{"description", "entries", "config"},
	key:        "name",
	collection: func(zone string) string { return rest.Path("network-zones", zone, "records") },
	afterLoad:  listDefaults("entries"),
})

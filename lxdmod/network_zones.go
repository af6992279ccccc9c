package lxdmod

import (
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.network_zones: DNS zones LXD serves, API extension
// network_dns; their records (zone.records) need network_dns_records.
func newNetworkZoneManager(c *Client) starlark.Value {
	return newManager(c, "network_zones", networkZoneType, nil, networkZoneMethods)
}

var networkZoneMethods = needsExtension("network_dns", collectionMethods, map[string]methodFn{
	"create": fieldsCreate(
		createField{name: "description"},
		createField{name: "config", kind: dictField},
	),
})

// Zones cannot be renamed (LXD answers 501).
var networkZoneType = &modelType{
	name:       "NetworkZone",
	writable:   []string{"description", "config"},
	key:        "name",
	collection: func(string) string { return rest.Path("network-zones") },
	attrs: map[string]func(m *Model) (starlark.Value, error){
		"records": networkZoneRecords,
	},
	afterLoad: listDefaults("used_by"),
}

func networkZoneRecords(m *Model) (starlark.Value, error) {
	return newManager(m.c, "NetworkZone.records", networkZoneRecordType, m, networkZoneRecordMethods), nil
}

var networkZoneRecordMethods = needsExtension("network_dns_records", collectionMethods, map[string]methodFn{
	"create": fieldsCreate(
		createField{name: "entries", kind: dictListField},
		createField{name: "description"},
		createField{name: "config", kind: dictField},
	),
})

var networkZoneRecordType = &modelType{
	name:       "NetworkZoneRecord",
	writable:   []string{"description", "entries", "config"},
	key:        "name",
	collection: func(zone string) string { return rest.Path("network-zones", zone, "records") },
	afterLoad:  listDefaults("entries"),
}

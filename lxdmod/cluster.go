package lxdmod

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// clusterType is GET /1.0/cluster: the server's view of its cluster.
var clusterType = newType(&modelType{
	name:     "Cluster",
	key:      "server_name",
	path:     func(*Model) string { return rest.Path("cluster") },
	noSave:   true,
	noDelete: true,
	describe: func(m *Model) string {
		if m.field("enabled") == starlark.True {
			return "enabled"
		}
		return "disabled"
	},
	attrs: map[string]func(m *Model) (starlark.Value, error){
		"members": func(m *Model) (starlark.Value, error) { return clusterMembersKind.of(m.c, nil), nil },
		"groups":  func(m *Model) (starlark.Value, error) { return clusterGroupsKind.of(m.c, nil), nil },
	},
})

var clusterMemberType = newType(&modelType{
	name:     "ClusterMember",
	key:      "server_name",
	writable: []string{"description", "config", "groups", "failure_domain"},
	// LXD's PUT sets the roles to what it is sent and refuses to drop
	// "database": send them back as the server has them.
	fixBody: func(m *Model, body map[string]any) {
		if roles := m.serverValue("roles"); roles != nil {
			body["roles"] = roles
		}
	},
	collection: func(string) string { return rest.Path("cluster", "members") },
	describe:   describeField("status"),
	methods: map[string]methodFn{
		"evacuate": memberAction("evacuate"),
		"restore":  memberAction("restore"),
		"state":    memberState,
	},
})

var clusterMembersKind = newKind("cluster.members", clusterMemberType, collectionMethods)

// memberAction implements evacuate(wait=False) and restore(wait=False):
// POST .../state {"action": ...}, an operation like any other. LXD decides
// what happens to the member's instances (moved, or stopped) and restore
// brings them back. Once it ends the member is re-read, so its status is
// current ("Evacuated", "Online").
func memberAction(action string) methodFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		m := receiver(b)
		var wait bool
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "wait?", &wait); err != nil {
			return nil, err
		}
		if err := m.c.requireFor(b.Name(), "clustering_evacuation"); err != nil {
			return nil, err
		}
		return m.c.run(thread, rest.Post(m.path()+"/state", map[string]any{"action": action}), wait, m.changeSpec(action))
	}
}

// member.state() -> dict: GET .../state (the member's load, memory and
// storage pools), which needs the cluster_member_state extension (LXD 5.0
// lacks it).
func memberState(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	if err := m.c.requireFor(b.Name(), "cluster_member_state"); err != nil {
		return nil, err
	}
	data, _, err := m.c.getObject(ctxOf(thread), m.path()+"/state")
	if err != nil {
		return nil, err
	}
	return data, nil
}

// client.cluster.groups (the clustering_groups extension).
var clusterGroupType = newType(&modelType{
	name:       "ClusterGroup",
	writable:   []string{"description", "members"},
	key:        "name",
	renameHint: "name",
	collection: func(string) string { return rest.Path("cluster", "groups") },
	methods:    map[string]methodFn{"rename": renameMethod("new_name")},
	afterLoad:  listDefaults("members"),
})

var clusterGroupsKind = newKind("cluster.groups", clusterGroupType, needsExtension("clustering_groups", collectionMethods,
	map[string]methodFn{
		// create(name, *, description=None, members=None)
		"create": fieldsCreate(stringArg("description"), stringsArg("members")),
	}))

// clusterManager is client.cluster: get(), members and groups.
type clusterManager struct {
	c       *Client
	members *manager
	groups  *manager
}

var _ starlark.HasAttrs = (*clusterManager)(nil)

func newClusterManager(c *Client) starlark.Value {
	return &clusterManager{c: c, members: clusterMembersKind.of(c, nil), groups: clusterGroupsKind.of(c, nil)}
}

func (cm *clusterManager) String() string        { return "<cluster manager>" }
func (cm *clusterManager) Type() string          { return "Manager" }
func (cm *clusterManager) Freeze()               {}
func (cm *clusterManager) Truth() starlark.Bool  { return true }
func (cm *clusterManager) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Manager") }
func (cm *clusterManager) AttrNames() []string   { return []string{"get", "groups", "members"} }

func (cm *clusterManager) Attr(name string) (starlark.Value, error) {
	switch name {
	case "members":
		return cm.members, nil
	case "groups":
		return cm.groups, nil
	}
	return clusterManagerMethods.attr(cm, name)
}

var clusterManagerMethods = newMethodTable("cluster", nil, map[string]methodFn{"get": clusterGet})

func clusterGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	cm := b.Receiver().(*clusterManager)
	data, etag, err := cm.c.getFields(ctxOf(thread), rest.Path("cluster"))
	if err != nil {
		return nil, err
	}
	m := newModel(clusterType, cm.c, "")
	m.load(data, etag)
	return m, nil
}

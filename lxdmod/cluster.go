package lxdmod

import (
	"fmt"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// clusterType is GET /1.0/cluster: the server's view of its cluster.
var clusterType = &modelType{
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
		"members": func(m *Model) (starlark.Value, error) { return newClusterMembers(m.c), nil },
	},
}

var clusterMemberType = &modelType{
	name:       "ClusterMember",
	key:        "server_name",
	renameHint: "server_name",
	writable:   []string{"description", "config", "groups", "failure_domain", "roles"},
	collection: func(string) string { return rest.Path("cluster", "members") },
	describe:   func(m *Model) string { return m.str("status") },
}

func newClusterMembers(c *Client) *manager {
	return newManager(c, "cluster.members", clusterMemberType, nil, collectionMethods)
}

// clusterManager is client.cluster: get() and members.
type clusterManager struct {
	c       *Client
	members *manager
}

var _ starlark.HasAttrs = (*clusterManager)(nil)

func newClusterManager(c *Client) starlark.Value {
	return &clusterManager{c: c, members: newClusterMembers(c)}
}

func (cm *clusterManager) String() string        { return "<cluster manager>" }
func (cm *clusterManager) Type() string          { return "Manager" }
func (cm *clusterManager) Freeze()               {}
func (cm *clusterManager) Truth() starlark.Bool  { return true }
func (cm *clusterManager) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Manager") }
func (cm *clusterManager) AttrNames() []string   { return []string{"get", "members"} }

func (cm *clusterManager) Attr(name string) (starlark.Value, error) {
	switch name {
	case "members":
		return cm.members, nil
	case "get":
		return bind("cluster", "get", clusterGet, cm), nil
	}
	return nil, nil
}

func clusterGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	cm := b.Receiver().(*clusterManager)
	data, etag, err := cm.c.getObject(ctxOf(thread), rest.Path("cluster"))
	if err != nil {
		return nil, err
	}
	m := newModel(clusterType, cm.c, "")
	m.load(data, etag)
	return m, nil
}

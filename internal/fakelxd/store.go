package fakelxd

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"sort"
	"strings"
)

// kind describes one LXD resource type: where its objects live, what LXD
// 5.0.2 says about them, which fields its ETag covers and which verbs run
// as background operations.
type kind struct {
	name     string   // "instance": lifecycle event names, messages
	pattern  []string // path segments below /1.0 of one object; "*" is a name
	key      string   // the field naming an object ("name", or "fingerprint")
	notFound string   // LXD 5.0.2's 404 message
	etag     []string // the fields LXD hashes into the object's ETag
	writable []string // what PUT replaces and PATCH merges
	scoped   bool     // lives in a project (?project=)
	// async maps a verb ("create", "update", "rename", "delete") to the
	// description of the operation LXD runs it in; other verbs are
	// synchronous.
	async map[string]string
	// hideETag: LXD 5.0.2 sends no ETag when a storage pool is read, yet
	// checks If-Match when one is written.
	hideETag bool
	// duplicate is LXD's answer to creating an object whose name is taken.
	duplicateCode int
	duplicateMsg  string // %q is the name
	// defaults are the fields a new object has when the creator left them out.
	defaults func() Object
	// noUpdate: LXD answers PUT and PATCH with 501 (backups).
	noUpdate bool
}

var (
	instanceKind = &kind{name: "instance", pattern: []string{"instances", "*"}, notFound: "Instance not found",
		etag:     []string{"architecture", "config", "devices", "ephemeral", "profiles"},
		writable: []string{"architecture", "config", "devices", "ephemeral", "profiles", "description"},
		scoped:   true,
		async: map[string]string{"create": "Creating instance", "update": "Updating instance",
			"rename": "Renaming instance", "delete": "Deleting instance"}}
	snapshotKind = &kind{name: "instance-snapshot", pattern: []string{"instances", "*", "snapshots", "*"},
		notFound: "Instance not found", // sic: LXD 5.0.2 says so for a missing snapshot
		etag:     []string{"expires_at"}, writable: []string{"expires_at"}, scoped: true,
		async: map[string]string{"create": "Snapshotting instance", "update": "Updating instance snapshot",
			"rename": "Renaming snapshot", "delete": "Deleting snapshot"}}
	profileKind = &kind{name: "profile", pattern: []string{"profiles", "*"}, notFound: "Profile not found",
		etag: []string{"config", "description", "devices"}, writable: []string{"config", "description", "devices"},
		scoped: true, duplicateCode: 500, duplicateMsg: "Error inserting %q into database: The profile already exists",
		defaults: func() Object {
			return Object{"config": Object{}, "description": "", "devices": Object{}, "used_by": []any{}}
		}}
	projectKind = &kind{name: "project", pattern: []string{"projects", "*"}, notFound: "Project not found",
		etag: []string{"config", "description"}, writable: []string{"config", "description"},
		async:         map[string]string{"rename": "Renaming project"},
		duplicateCode: 409, duplicateMsg: "Failed creating project %q: Failed adding database record: This \"projects\" entry already exists",
		defaults: func() Object {
			return Object{"config": Object{"features.images": "true", "features.profiles": "true", "features.storage.volumes": "true"},
				"description": "", "used_by": []any{}}
		}}
	networkKind = &kind{name: "network", pattern: []string{"networks", "*"}, notFound: "Network not found",
		etag: []string{"name", "managed", "type", "description", "config"}, writable: []string{"config", "description"},
		duplicateCode: 409, duplicateMsg: "The network already exists",
		defaults: func() Object {
			return Object{"config": Object{}, "description": "", "type": "bridge", "used_by": []any{}, "managed": true,
				"status": "Created", "locations": []any{"none"}}
		}}
	poolKind = &kind{name: "storage-pool", pattern: []string{"storage-pools", "*"}, notFound: "Storage pool not found",
		etag: []string{"name", "driver", "description", "config"}, writable: []string{"config", "description"},
		hideETag: true, duplicateCode: 409, duplicateMsg: "The storage pool already exists",
		defaults: func() Object {
			return Object{"config": Object{}, "description": "", "driver": "dir", "used_by": []any{}, "status": "Created",
				"locations": []any{"none"}}
		}}
	volumeKind = &kind{name: "storage-volume", pattern: []string{"storage-pools", "*", "volumes", "*", "*"},
		notFound: "Storage pool volume not found", etag: []string{"name", "type", "config"},
		writable: []string{"config", "description"}, scoped: true,
		duplicateCode: 409, duplicateMsg: "Volume by that name already exists",
		defaults: func() Object {
			return Object{"config": Object{}, "description": "", "used_by": []any{}, "location": "none",
				"content_type": "filesystem", "created_at": zeroTime}
		}}
	volumeSnapshotKind = &kind{name: "storage-volume-snapshot",
		pattern:  []string{"storage-pools", "*", "volumes", "*", "*", "snapshots", "*"},
		notFound: "Storage pool volume snapshot not found", etag: []string{"expires_at"},
		writable: []string{"description", "config", "expires_at"}, scoped: true,
		async: map[string]string{"create": "Creating storage volume snapshot", "rename": "Renaming storage volume snapshot",
			"delete": "Deleting storage volume snapshot"},
		defaults: func() Object {
			return Object{"config": Object{}, "description": "", "content_type": "filesystem", "expires_at": zeroTime,
				"created_at": zeroTime}
		}}
	imageKind = &kind{name: "image", pattern: []string{"images", "*"}, key: "fingerprint", notFound: "Image not found",
		etag:     []string{"auto_update", "properties", "public"},
		writable: []string{"auto_update", "properties", "public", "expires_at", "profiles"}, scoped: true,
		async: map[string]string{"create": "Downloading image", "delete": "Deleting image"}}
	aliasKind = &kind{name: "image-alias", pattern: []string{"images", "aliases", "*"}, notFound: "Image alias not found",
		etag: []string{"name", "description", "target"}, writable: []string{"description", "target"}, scoped: true,
		duplicateCode: 409, duplicateMsg: "Alias %q already exists",
		defaults: func() Object { return Object{"description": "", "type": "container"} }}
	// genericKind serves every path no kind above claims.
	genericKind = &kind{name: "object", notFound: "not found"}

	kinds = []*kind{instanceKind, snapshotKind, profileKind, projectKind, networkKind, poolKind, volumeKind,
		volumeSnapshotKind, aliasKind, imageKind, backupKind}
)

// zeroTime is how LXD 5.0.2 spells "never" and "unknown" in time fields.
const zeroTime = "0001-01-01T00:00:00Z"

func (k *kind) keyField() string {
	if k.key != "" {
		return k.key
	}
	return "name"
}

// matches reports whether segs name one object of k.
func (k *kind) matches(segs []string) bool {
	if len(segs) != len(k.pattern) {
		return false
	}
	for i, p := range k.pattern {
		if p != "*" && p != segs[i] {
			return false
		}
	}
	return true
}

// kindOf returns the kind of the object at segs, or genericKind.
func kindOf(segs []string) *kind {
	if len(segs) == 2 && segs[0] == "images" && segs[1] == "aliases" {
		return genericKind // the aliases' collection, not an image
	}
	for _, k := range kinds {
		if k.matches(segs) {
			return k
		}
	}
	return genericKind
}

// collectionKind returns the kind whose objects live directly under segs.
func collectionKind(segs []string) *kind {
	probe := append(append([]string(nil), segs...), "x")
	if k := kindOf(probe); k != genericKind {
		return k
	}
	return nil
}

// etag hashes the ETag fields of obj (every field for generic objects), as
// LXD hashes a per-type list of fields.
func (k *kind) etagOf(obj Object) string {
	if len(k.etag) == 0 {
		return etagOf(obj)
	}
	vals := make([]any, len(k.etag))
	for i, f := range k.etag {
		vals[i] = obj[f]
	}
	return etagOf(vals...)
}

func etagOf(values ...any) string {
	data, _ := json.Marshal(values)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// entry is one stored object.
type entry struct {
	kind    *kind
	project string // "" for server-wide kinds
	path    string // escaped URL path, "/1.0/instances/c1"
	segs    []string
	obj     Object
	seq     int    // creation order: listings keep it, as LXD's database does
	data    []byte // images: the uploaded tarball, served by export
	extra   Object // instances: fields merged into GET …/state
}

type storeKey struct{ project, path string }

// store holds the server's objects. The Server's mutex guards it.
type store struct {
	seq     int
	entries map[storeKey]*entry
}

func newStore() *store { return &store{entries: map[storeKey]*entry{}} }

// objectPath builds the escaped path of segs, as LXD writes URLs.
func objectPath(segs ...string) string {
	var b strings.Builder
	b.WriteString("/1.0")
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// scope is the project a kind's object lives in ("" for server-wide kinds).
func scope(k *kind, project string) string {
	if !k.scoped {
		return ""
	}
	if project == "" {
		return "default"
	}
	return project
}

func (st *store) get(project string, segs []string) *entry {
	k := kindOf(segs)
	return st.entries[storeKey{scope(k, project), objectPath(segs...)}]
}

// put stores obj at segs (replacing what was there, keeping its place).
func (st *store) put(project string, segs []string, obj Object) *entry {
	k := kindOf(segs)
	key := storeKey{scope(k, project), objectPath(segs...)}
	e := st.entries[key]
	if e == nil {
		st.seq++
		e = &entry{kind: k, project: key.project, path: key.path, segs: append([]string(nil), segs...), seq: st.seq}
		st.entries[key] = e
	}
	e.obj = obj
	return e
}

func (st *store) remove(e *entry) {
	delete(st.entries, storeKey{e.project, e.path})
}

// children returns the objects directly under segs in project, oldest
// first. With deep, objects any number of levels down come too.
func (st *store) children(project string, segs []string, deep bool) []*entry {
	prefix := objectPath(segs...) + "/"
	var out []*entry
	for _, e := range st.entries {
		if !strings.HasPrefix(e.path, prefix) || (e.kind.scoped && e.project != scope(e.kind, project)) {
			continue
		}
		if !deep && len(e.segs) != len(segs)+1 {
			continue
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// move renames an object and everything under it (an instance's
// snapshots); to is the new path's segments.
func (st *store) move(e *entry, to []string) {
	subs := st.children(e.project, e.segs, true)
	st.remove(e)
	moved := st.put(e.project, to, e.obj)
	moved.seq, moved.data, moved.extra = e.seq, e.data, e.extra
	for _, c := range subs {
		st.remove(c)
		segs := append(append([]string(nil), to...), c.segs[len(e.segs):]...)
		m := st.put(c.project, segs, c.obj)
		m.seq, m.data, m.extra = c.seq, c.data, c.extra
	}
}

// removeTree removes an object and everything under it.
func (st *store) removeTree(e *entry) {
	for _, c := range st.children(e.project, e.segs, true) {
		st.remove(c)
	}
	st.remove(e)
}

// url is the object's URL as LXD lists it: with ?project= outside the
// default project.
func (e *entry) url() string {
	if e.kind.scoped && e.project != "default" {
		return e.path + "?project=" + url.QueryEscape(e.project)
	}
	return e.path
}

func (e *entry) name() string {
	s, _ := e.obj[e.kind.keyField()].(string)
	return s
}

func cloneAny(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneAny(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = cloneAny(e)
		}
		return l
	case []string:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = e
		}
		return l
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = e
		}
		return m
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}

// normalise turns what a test wrote in Go (ints, []string, nested Objects)
// into what JSON decoding gives, so stored objects compare and hash alike.
func normalise(obj Object) Object {
	if obj == nil {
		return Object{}
	}
	return cloneObject(obj)
}

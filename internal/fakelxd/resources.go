package fakelxd

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// route dispatches a request below /1.0.
func (q *query) route() {
	segs, m := q.segs, q.r.Method
	switch {
	case len(segs) == 0:
		if m == http.MethodGet {
			q.serverInfo()
			return
		}
		q.sync(http.StatusOK, Object{}) // PUT/PATCH of the server config: accepted, ignored
	case segs[0] == "events":
		q.events()
	case segs[0] == "operations":
		q.operations()
	case segs[0] == "certificates" && m == http.MethodPost && !q.s.isTrusted():
		q.trust()
	case segs[0] == "instances":
		q.instances()
	case segs[0] == "images" && !(len(segs) >= 2 && segs[1] == "aliases"):
		q.images()
	default:
		q.resources()
	}
}

func (s *Server) isTrusted() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.trusted
}

// projectKnown answers 404 (as LXD does) when a project-scoped request
// names a project that does not exist.
func (q *query) projectKnown() bool {
	q.s.mu.Lock()
	ok := q.s.store.get("", []string{"projects", q.project}) != nil
	q.s.mu.Unlock()
	if !ok {
		q.fail(http.StatusNotFound, fmt.Sprintf("Failed loading project %q: Project not found", q.project))
	}
	return ok
}

// knownCollections are the server-wide collections that exist while empty;
// any other path is a collection once something is stored under it.
var knownCollections = map[string]bool{
	"certificates": true, "warnings": true, "network-acls": true, "network-zones": true,
	"cluster/members": true, "cluster/groups": true,
}

// resources serves the kinds of the table in store.go and the plain object
// store behind every other path.
func (q *query) resources() {
	segs := q.segs
	if len(segs) == 3 && segs[0] == "storage-pools" && segs[2] == "volumes" {
		q.listVolumes(segs)
		return
	}
	q.s.mu.Lock()
	e := q.s.store.get(q.project, segs)
	q.s.mu.Unlock()
	if e != nil || kindOf(segs) != genericKind {
		q.object(segs, e)
		return
	}
	k := collectionKind(segs)
	if k == nil {
		q.s.mu.Lock()
		n := len(q.s.store.children(q.project, segs, false))
		q.s.mu.Unlock()
		if n == 0 && !knownCollections[strings.Join(segs, "/")] {
			q.fail(http.StatusNotFound, "not found")
			return
		}
		k = genericKind
	}
	q.collection(k, segs)
}

// collection serves GET (list) and POST (create) of a collection.
func (q *query) collection(k *kind, segs []string) {
	if k.scoped && !q.projectKnown() {
		return
	}
	switch q.r.Method {
	case http.MethodGet:
		q.s.mu.Lock()
		list := q.s.store.children(q.project, segs, false)
		out := q.s.renderList(list, q.recursion())
		q.s.mu.Unlock()
		q.sync(http.StatusOK, out)
	case http.MethodPost:
		var body Object
		if !q.decode(&body) {
			return
		}
		q.create(k, segs, normalise(body))
	default:
		q.fail(http.StatusMethodNotAllowed, "method not allowed")
	}
}

// listVolumes is GET /1.0/storage-pools/<pool>/volumes: every type, and
// (as LXD 5.0.2 lists them) the volumes' snapshots, named "volume/snapshot".
func (q *query) listVolumes(segs []string) {
	if q.r.Method != http.MethodGet {
		q.fail(http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	q.s.mu.Lock()
	pool := q.s.store.get("", segs[:2])
	var list []*entry
	for _, e := range q.s.store.children(q.project, segs, true) {
		if e.kind == volumeKind || e.kind == volumeSnapshotKind {
			list = append(list, e)
		}
	}
	out := q.s.renderList(list, q.recursion())
	q.s.mu.Unlock()
	if pool == nil {
		q.fail(http.StatusNotFound, "Storage pool not found")
		return
	}
	q.sync(http.StatusOK, out)
}

func (s *Server) renderList(list []*entry, recursion int) []any {
	out := make([]any, 0, len(list))
	for _, e := range list {
		if recursion > 0 {
			out = append(out, s.renderLocked(e, true, recursion))
		} else {
			out = append(out, e.url())
		}
	}
	return out
}

// pickedNames are the kinds LXD names when the creator does not, and the
// prefix of the names it picks (snap0, backup0, ...).
var pickedNames = map[*kind]string{volumeSnapshotKind: "snap", backupKind: "backup"}

// create makes a new object of kind k under parent.
func (q *query) create(k *kind, parent []string, body Object) {
	name, _ := body[k.keyField()].(string)
	if prefix, picks := pickedNames[k]; picks && name == "" {
		// LXD names a volume snapshot or a backup when the request does not.
		q.s.mu.Lock()
		name = fmt.Sprintf("%s%d", prefix, len(q.s.store.children(q.project, parent, false)))
		q.s.mu.Unlock()
		body[k.keyField()] = name
	}
	switch {
	case name == "":
		q.fail(http.StatusBadRequest, "No name provided")
		return
	case strings.Contains(name, "/") && k != aliasKind && k != genericKind:
		q.fail(http.StatusBadRequest, fmt.Sprintf("%s names may not contain slashes", titleCase(k.name)))
		return
	}
	segs := append(append([]string(nil), parent...), name)
	if k == volumeKind || k == volumeSnapshotKind {
		q.s.mu.Lock()
		pool := q.s.store.get("", parent[:2])
		q.s.mu.Unlock()
		if pool == nil {
			q.fail(http.StatusNotFound, "Storage pool not found")
			return
		}
	}
	obj := Object{}
	if k.defaults != nil {
		obj = k.defaults()
	}
	for f, v := range body {
		obj[f] = v
	}
	switch k {
	case volumeKind:
		obj["type"], obj["project"] = parent[3], q.project
	case volumeSnapshotKind:
		if _, ok := body["expires_at"]; !ok {
			obj["expires_at"] = zeroTime
		}
	}
	store := func() error {
		q.s.mu.Lock()
		defer q.s.mu.Unlock()
		if q.s.store.get(q.project, segs) != nil {
			code, msg := k.duplicateCode, k.duplicateMsg
			if code == 0 {
				code, msg = http.StatusConflict, "%q already exists"
			}
			if strings.Contains(msg, "%q") {
				msg = fmt.Sprintf(msg, name)
			}
			return &httpError{code, msg}
		}
		e := q.s.store.put(q.project, segs, obj)
		if k == backupKind {
			e.data = q.s.backupDataLocked(q.project, parent[:2])
		}
		if k == projectKind {
			// A new project has its own default profile (features.profiles).
			q.s.store.put(name, []string{"profiles", "default"}, Object{"name": "default", "config": Object{},
				"description": "Default LXD profile for project " + name, "devices": Object{}, "used_by": []any{}})
		}
		q.s.lifecycleLocked(k.name+"-created", e.url(), e.project)
		return nil
	}
	q.perform(k, "create", objectPath(segs...), store, func() {
		if k == volumeKind {
			q.sync(http.StatusOK, Object{}) // LXD 5.0.2 answers a volume's creation with 200, not 201
			return
		}
		q.created(objectPath(segs...))
	})
}

// perform runs apply as LXD runs verb on an object of kind k at path: in
// an operation (answered at once with 202) when LXD does so, else there and
// then, answering with done once it succeeded.
func (q *query) perform(k *kind, verb, path string, apply func() error, done func()) {
	if desc, ok := k.async[verb]; ok {
		q.async(q.start(opSpec{description: desc, resources: resourcesOf(k, path),
			run: func(context.Context) (Object, error) { return nil, plain(apply()) }}))
		return
	}
	if err := apply(); err != nil {
		q.failWith(err)
		return
	}
	done()
}

func (q *query) emptySync() { q.sync(http.StatusOK, Object{}) }

// httpError is a synchronous LXD error: status and message.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

// plain turns an error into what an operation reports (its message only).
func plain(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s", err.Error())
}

func (q *query) failWith(err error) {
	if he, ok := err.(*httpError); ok {
		q.fail(he.code, he.msg)
		return
	}
	q.fail(http.StatusInternalServerError, err.Error())
}

func titleCase(s string) string {
	s = strings.ReplaceAll(s, "-", " ")
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// object serves GET, PUT, PATCH, POST (rename) and DELETE of one object.
func (q *query) object(segs []string, e *entry) {
	k := kindOf(segs)
	if k.scoped && !q.projectKnown() {
		return
	}
	if e == nil {
		q.fail(http.StatusNotFound, k.notFound)
		return
	}
	switch q.r.Method {
	case http.MethodGet:
		q.s.mu.Lock()
		obj := q.s.renderLocked(e, false, 1)
		etag := k.etagOf(e.obj)
		q.s.mu.Unlock()
		if k.hideETag {
			etag = ""
		}
		q.syncETag(obj, etag)
	case http.MethodPut, http.MethodPatch:
		if k.noUpdate {
			q.fail(http.StatusNotImplemented, "not implemented")
			return
		}
		q.update(e, q.r.Method == http.MethodPatch)
	case http.MethodPost:
		q.rename(e)
	case http.MethodDelete:
		q.remove(e)
	default:
		q.fail(http.StatusMethodNotAllowed, "method not allowed")
	}
}

// update checks If-Match, then replaces (PUT) or merges (PATCH) the
// writable fields; PUT runs as an operation for the kinds where LXD does.
func (q *query) update(e *entry, patch bool) {
	q.s.mu.Lock()
	etag := e.kind.etagOf(e.obj)
	q.s.mu.Unlock()
	if !q.ifMatch(etag) {
		return
	}
	var body Object
	if !q.decode(&body) {
		return
	}
	body = normalise(body)
	apply := func() error {
		q.s.mu.Lock()
		defer q.s.mu.Unlock()
		if err := q.s.validateUpdate(e, body, patch); err != nil {
			return err
		}
		applyFields(e.kind, e.obj, body, patch)
		q.s.lifecycleLocked(e.kind.name+"-updated", e.url(), e.project)
		return nil
	}
	verb := "update"
	if patch {
		verb = "patch" // never an operation
	}
	q.perform(e.kind, verb, e.path, apply, q.emptySync)
}

// applyFields writes body into obj: PUT replaces every writable field
// (one left out becomes empty, as LXD decodes a missing field), PATCH
// merges dict fields key by key and replaces the others it names.
func applyFields(k *kind, obj, body Object, patch bool) {
	fields := k.writable
	if fields == nil { // a plain stored object: every field is the client's
		for f := range body {
			fields = append(fields, f)
		}
	}
	for _, f := range fields {
		v, given := body[f]
		switch {
		case patch && !given:
		case patch:
			old, oldIsMap := obj[f].(map[string]any)
			nv, newIsMap := v.(map[string]any)
			if oldIsMap && newIsMap {
				for key, x := range nv {
					old[key] = x
				}
			} else {
				obj[f] = v
			}
		case given:
			obj[f] = v
		case f == "architecture":
			// LXD keeps the architecture when the body has none.
		default:
			obj[f] = zeroLike(obj[f])
		}
	}
}

// zeroLike is the empty value of v's JSON type.
func zeroLike(v any) any {
	switch v.(type) {
	case map[string]any:
		return Object{}
	case []any:
		return []any{}
	case string:
		return ""
	case bool:
		return false
	case float64:
		return float64(0)
	}
	return nil
}

// validateUpdate refuses what LXD refuses in an update. The caller holds
// the lock.
func (s *Server) validateUpdate(e *entry, body Object, patch bool) error {
	if e.kind != instanceKind || patch {
		return nil
	}
	if _, ok := s.store.entries[storeKey{e.project, e.path}]; !ok {
		return &httpError{http.StatusNotFound, e.kind.notFound}
	}
	oldCfg, _ := e.obj["config"].(map[string]any)
	newCfg, _ := body["config"].(map[string]any)
	for _, k := range []string{"volatile.idmap.base", "volatile.idmap.current", "volatile.idmap.next", "volatile.last_state.idmap"} {
		if old, _ := oldCfg[k].(string); old != "" {
			if nv, _ := newCfg[k].(string); nv == "" {
				return &httpError{http.StatusBadRequest, "Volatile idmap keys can't be deleted by the user"}
			}
		}
	}
	if profiles, ok := body["profiles"].([]any); ok {
		for _, p := range profiles {
			name, _ := p.(string)
			if s.store.get(e.project, []string{"profiles", name}) == nil {
				return &httpError{http.StatusBadRequest, fmt.Sprintf("Requested profile %q doesn't exist", name)}
			}
		}
	}
	return nil
}

// rename is POST on an object: {"name": new} (volumes also take "pool"
// and "project" to move).
func (q *query) rename(e *entry) {
	var body Object
	if !q.decode(&body) {
		return
	}
	if mig, _ := body["migration"].(bool); mig {
		q.fail(http.StatusNotImplemented, "fakelxd: migration is not implemented")
		return
	}
	name, _ := body["name"].(string)
	if name == "" {
		q.fail(http.StatusBadRequest, "No name provided")
		return
	}
	if strings.Contains(name, "/") {
		q.fail(http.StatusBadRequest, fmt.Sprintf("%s names may not contain slashes", titleCase(e.kind.name)))
		return
	}
	to := append(append([]string(nil), e.segs[:len(e.segs)-1]...), name)
	project := e.project
	if e.kind == volumeKind {
		if pool, _ := body["pool"].(string); pool != "" {
			to[1] = pool
		}
		if p, _ := body["project"].(string); p != "" {
			project = p
		}
	}
	taken := func() error {
		if q.s.store.get(project, to) != nil {
			return &httpError{http.StatusConflict, fmt.Sprintf("Name %q already in use", name)}
		}
		return nil
	}
	q.s.mu.Lock()
	err := taken() // refused at once, before any operation (LXD 5.0.2)
	q.s.mu.Unlock()
	if err != nil {
		q.failWith(err)
		return
	}
	apply := func() error {
		q.s.mu.Lock()
		defer q.s.mu.Unlock()
		if q.s.store.get(e.project, e.segs) != e {
			return &httpError{http.StatusNotFound, e.kind.notFound}
		}
		if e.kind == instanceKind && e.obj["status"] == "Running" {
			return &httpError{http.StatusBadRequest, "Renaming of running container not allowed"}
		}
		if e.kind == volumeKind && q.s.store.get("", to[:2]) == nil {
			return &httpError{http.StatusNotFound, "Storage pool not found"}
		}
		if err := taken(); err != nil {
			return err
		}
		old := e.url()
		e.obj[e.kind.keyField()] = name
		if e.project != project {
			e.obj["project"] = project
			q.s.store.remove(e)
			e.project = project
			q.s.store.entries[storeKey{project, e.path}] = e
		}
		q.s.store.move(e, to)
		if e.kind == projectKind {
			q.s.moveProject(e.segs[1], name)
		}
		q.s.lifecycleLocked(e.kind.name+"-renamed", old, e.project)
		return nil
	}
	q.perform(e.kind, "rename", e.path, apply, func() { q.created(objectPath(to...)) })
}

// moveProject moves every object of project from to its new name. The
// caller holds the lock.
func (s *Server) moveProject(from, to string) {
	for key, e := range s.store.entries {
		if key.project == from {
			delete(s.store.entries, key)
			e.project = to
			if _, ok := e.obj["project"]; ok {
				e.obj["project"] = to
			}
			s.store.entries[storeKey{to, key.path}] = e
		}
	}
}

// remove is DELETE of an object (and of everything under it).
func (q *query) remove(e *entry) {
	check := func() error {
		if q.s.store.get(e.project, e.segs) != e {
			return &httpError{http.StatusNotFound, e.kind.notFound}
		}
		return nil
	}
	apply := func() error {
		q.s.mu.Lock()
		defer q.s.mu.Unlock()
		if err := check(); err != nil {
			return err
		}
		q.s.store.removeTree(e)
		if e.kind == imageKind {
			for _, a := range q.s.store.children(e.project, []string{"images", "aliases"}, false) {
				if a.obj["target"] == e.name() {
					q.s.store.remove(a)
				}
			}
		}
		q.s.lifecycleLocked(e.kind.name+"-deleted", e.url(), e.project)
		return nil
	}
	if e.kind == instanceKind {
		q.s.mu.Lock()
		running := e.obj["status"] == "Running" || e.obj["status"] == "Frozen"
		q.s.mu.Unlock()
		if running {
			q.fail(http.StatusBadRequest, "Instance is running")
			return
		}
	}
	q.perform(e.kind, "delete", e.path, apply, q.emptySync)
}

// renderLocked returns an object as LXD shows it: a copy, with the fields
// LXD computes (status codes, expanded config, aliases, …). listing says
// it is part of a collection (LXD words a few fields differently there).
func (s *Server) renderLocked(e *entry, listing bool, recursion int) Object {
	obj := cloneObject(e.obj)
	switch e.kind {
	case instanceKind:
		s.renderInstanceLocked(e, obj, recursion)
	case snapshotKind:
		inst := s.store.get(e.project, e.segs[:2])
		if inst != nil {
			obj["expanded_config"], obj["expanded_devices"] = s.expandLocked(e.project, obj)
		}
	case imageKind:
		aliases := []any{}
		for _, a := range s.store.children(e.project, []string{"images", "aliases"}, false) {
			if a.obj["target"] == e.name() {
				aliases = append(aliases, Object{"name": a.name(), "description": a.obj["description"]})
			}
		}
		obj["aliases"] = aliases
	case profileKind:
		usedBy := []any{}
		for _, i := range s.store.children(e.project, []string{"instances"}, false) {
			for _, p := range asList(i.obj["profiles"]) {
				if p == e.name() {
					usedBy = append(usedBy, i.url())
				}
			}
		}
		obj["used_by"] = usedBy
	case volumeSnapshotKind:
		if listing {
			// LXD 5.0.2 lists volume snapshots as "volume/snapshot",
			// with null for no expiry and no content type.
			obj["name"] = e.segs[4] + "/" + e.name()
			obj["content_type"] = ""
			if obj["expires_at"] == zeroTime {
				obj["expires_at"] = nil
			}
			if e.kind == volumeSnapshotKind {
				obj["type"] = e.segs[3]
			}
		}
	}
	return obj
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func cloneObject(o Object) Object {
	if o == nil {
		return nil
	}
	return cloneAny(o).(map[string]any)
}

func unescape(s string) (string, error) { return url.PathUnescape(s) }

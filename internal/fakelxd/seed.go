package fakelxd

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Seeding and inspecting the server's objects, bypassing the API (so
// nothing is recorded by Requests).
//
// Paths are URL paths as LXD writes them ("/1.0/instances/c1",
// "/1.0/images/aliases/ubuntu%2F22.04"), with "?project=p" for an object
// outside the default project. The typed helpers take a "project" field
// instead.

// split parses a path into its segments below /1.0 and its project.
func split(path string) ([]string, string) {
	u, err := url.Parse(path)
	if err != nil {
		return nil, ""
	}
	return pathSegments(u.EscapedPath()), u.Query().Get("project")
}

// Add stores obj at path, replacing what is there. The typed helpers below
// add the fields LXD gives each kind; Add stores obj as it is, which suits
// the paths the fake has no model for (certificates, cluster members, …).
func (s *Server) Add(path string, obj Object) {
	segs, project := split(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store.put(project, segs, normalise(obj))
}

// Get returns the object at path as a GET would show it, and whether it
// exists.
func (s *Server) Get(path string) (Object, bool) {
	segs, project := split(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.store.get(project, segs)
	if e == nil {
		return nil, false
	}
	return s.renderLocked(e, false, 1), true
}

// Set merges fields into the object at path, as another client's write
// would (its ETag changes when an ETag field does). A nil value deletes a
// field; dict values replace the field's dict whole. It reports whether the
// object exists.
func (s *Server) Set(path string, fields Object) bool {
	segs, project := split(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.store.get(project, segs)
	if e == nil {
		return false
	}
	for k, v := range normalise(fields) {
		if v == nil {
			delete(e.obj, k)
		} else {
			e.obj[k] = v
		}
	}
	return true
}

// Delete removes the object at path and everything under it.
func (s *Server) Delete(path string) bool {
	segs, project := split(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.store.get(project, segs)
	if e != nil {
		s.store.removeTree(e)
	}
	return e != nil
}

// ETag is the ETag LXD would send for the object at path ("" if absent).
func (s *Server) ETag(path string) string {
	segs, project := split(path)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.store.get(project, segs)
	if e == nil {
		return ""
	}
	return e.kind.etagOf(e.obj)
}

// addTyped stores a new object of a modelled kind: defaults, then fields;
// fields["project"] places it.
func (s *Server) addTyped(segs []string, defaults, fields Object) *entry {
	fields = normalise(fields)
	project, _ := fields["project"].(string)
	obj := defaults
	for k, v := range fields {
		obj[k] = v
	}
	k := kindOf(segs)
	if !k.scoped || (k != instanceKind && k != volumeKind) {
		delete(obj, "project") // only instances and volumes show it
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.put(project, segs, obj)
}

// AddInstance adds a (by default stopped) container with the fields LXD
// gives a new one, volatile keys included. fields override them, except
// that config keys are added to the default config ("volatile.*" ones too);
// "state" fields are merged into what GET …/state answers.
func (s *Server) AddInstance(name string, fields Object) {
	fields = normalise(fields)
	project, _ := fields["project"].(string)
	if project == "" {
		project = "default"
	}
	typ, _ := fields["type"].(string)
	obj := newInstance(name, project, typ)
	cfg := obj["config"].(map[string]any)
	for k, v := range asObject(fields["config"]) {
		cfg[k] = v
	}
	state := asObject(fields["state"])
	delete(fields, "config")
	delete(fields, "state")
	e := s.addTyped([]string{"instances", name}, obj, fields)
	s.mu.Lock()
	e.extra = state
	s.mu.Unlock()
}

// AddSnapshot adds a snapshot of an existing instance, with the
// instance's current definition.
func (s *Server) AddSnapshot(instance, name string, fields Object) {
	fields = normalise(fields)
	project, _ := fields["project"].(string)
	s.mu.Lock()
	inst := s.store.get(project, []string{"instances", instance})
	obj := Object{"expires_at": zeroTime, "created_at": time.Now().UTC().Format(time.RFC3339Nano),
		"last_used_at": zeroTime, "name": name, "stateful": false, "size": float64(-1)}
	if inst != nil {
		for _, f := range []string{"architecture", "config", "devices", "ephemeral", "profiles"} {
			obj[f] = cloneAny(inst.obj[f])
		}
	}
	s.mu.Unlock()
	s.addTyped([]string{"instances", instance, "snapshots", name}, obj, fields)
}

// addNamed adds an object of a kind with defaults, named by the last of
// segs, with fields over the defaults.
func (s *Server) addNamed(segs []string, fields Object) {
	k := kindOf(segs)
	obj := k.defaults()
	obj[k.keyField()] = segs[len(segs)-1]
	s.addTyped(segs, obj, fields)
}

// AddProfile adds a profile (in fields["project"], default "default").
func (s *Server) AddProfile(name string, fields Object) {
	s.addNamed([]string{"profiles", name}, fields)
}

// AddProject adds a project, with LXD's default features and (but for
// "default") its own default profile, as LXD creates one.
func (s *Server) AddProject(name string, fields Object) {
	s.addNamed([]string{"projects", name}, fields)
	if name != "default" {
		s.AddProfile("default", Object{"project": name, "description": "Default LXD profile for project " + name})
	}
}

// AddNetwork adds a managed bridge unless fields say otherwise.
func (s *Server) AddNetwork(name string, fields Object) {
	s.addNamed([]string{"networks", name}, fields)
}

// AddStoragePool adds a storage pool (driver "dir" unless fields say).
func (s *Server) AddStoragePool(name string, fields Object) {
	s.addNamed([]string{"storage-pools", name}, fields)
}

// AddVolume adds a storage volume of type typ ("custom", "container", …)
// to pool.
func (s *Server) AddVolume(pool, typ, name string, fields Object) {
	fields = normalise(fields)
	for k, v := range (Object{"type": typ, "project": "default"}) {
		if _, given := fields[k]; !given {
			fields[k] = v
		}
	}
	s.addNamed([]string{"storage-pools", pool, "volumes", typ, name}, fields)
}

// AddImage adds an image; fields["aliases"] ([{"name": …}]) adds its
// aliases, fields["project"] places it.
func (s *Server) AddImage(fingerprint string, fields Object) {
	fields = normalise(fields)
	project, _ := fields["project"].(string)
	if project == "" {
		project = "default"
	}
	delete(fields, "project")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addImageLocked(project, fingerprint, fields, nil)
}

// readAllAndRestore reads a request body and puts it back for the next
// reader.
func readAllAndRestore(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(data))
	return data, err
}

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

package fakelxd

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// statusCodes are LXD's codes for instance statuses.
var statusCodes = map[string]int{"Stopped": 102, "Running": 103, "Frozen": 110, "Error": 112}

// instances serves /1.0/instances and everything below it.
func (q *query) instances() {
	segs, m := q.segs, q.r.Method
	if len(segs) == 1 {
		switch m {
		case http.MethodGet:
			q.listInstances()
		case http.MethodPost:
			switch {
			case !q.projectKnown():
			case q.isUpload():
				q.restoreBackup()
			default:
				q.createInstance()
			}
		default:
			q.fail(http.StatusMethodNotAllowed, "method not allowed")
		}
		return
	}
	q.s.mu.Lock()
	inst := q.s.store.get(q.project, segs[:2])
	q.s.mu.Unlock()
	if inst == nil {
		q.fail(http.StatusNotFound, instanceKind.notFound)
		return
	}
	switch {
	case len(segs) == 2 && m == http.MethodPut:
		q.putInstance(inst)
	case len(segs) == 3 && segs[2] == "state":
		q.instanceState(inst)
	case len(segs) == 3 && segs[2] == "exec" && m == http.MethodPost:
		q.exec(inst)
	case len(segs) == 3 && segs[2] == "snapshots" && m == http.MethodPost:
		q.createSnapshot(inst)
	case len(segs) == 5 && segs[2] == "backups" && segs[4] == "export" && m == http.MethodGet:
		q.exportBackup(segs[:4])
	default:
		q.resources()
	}
}

// listInstances is GET /1.0/instances: ?instance-type= and a simple
// ?filter= ("field eq value", joined by "and") are honoured; recursion=2
// adds each instance's state and snapshots.
func (q *query) listInstances() {
	qs := q.r.URL.Query()
	conds, err := parseFilter(qs.Get("filter"))
	if err != nil {
		q.fail(http.StatusBadRequest, err.Error())
		return
	}
	typ := qs.Get("instance-type")
	s := q.s
	s.mu.Lock()
	var list []*entry
	for _, e := range s.store.children(q.project, []string{"instances"}, false) {
		if typ != "" && e.obj["type"] != typ {
			continue
		}
		if !conds.match(s.renderLocked(e, true, 1)) {
			continue
		}
		list = append(list, e)
	}
	out := s.renderList(list, q.recursion())
	s.mu.Unlock()
	q.sync(http.StatusOK, out)
}

// filter is a conjunction of "field eq value" conditions (dotted fields
// reach into dicts: config.user.x is config["user.x"]).
type filter [][2]string

func parseFilter(expr string) (filter, error) {
	var f filter
	if strings.TrimSpace(expr) == "" {
		return f, nil
	}
	for _, part := range strings.Split(expr, " and ") {
		words := strings.Fields(part)
		if len(words) != 3 || words[1] != "eq" {
			return nil, fmt.Errorf("fakelxd: only filters of the form \"field eq value [and ...]\" are implemented, got %q", expr)
		}
		f = append(f, [2]string{words[0], strings.Trim(words[2], `"'`)})
	}
	return f, nil
}

func (f filter) match(obj Object) bool {
	for _, c := range f {
		if fmt.Sprint(lookupField(obj, c[0])) != c[1] {
			return false
		}
	}
	return true
}

func lookupField(obj Object, field string) any {
	if v, ok := obj[field]; ok {
		return v
	}
	if head, rest, ok := strings.Cut(field, "."); ok {
		if sub, ok := obj[head].(map[string]any); ok {
			return lookupField(sub, rest)
		}
	}
	return nil
}

// newInstance returns the fields LXD gives a new, stopped instance.
func newInstance(name, project, typ string) Object {
	if typ == "" {
		typ = "container"
	}
	idmap := `[{"Isuid":true,"Isgid":false,"Hostid":1000000,"Nsid":0,"Maprange":1000000000},` +
		`{"Isuid":false,"Isgid":true,"Hostid":1000000,"Nsid":0,"Maprange":1000000000}]`
	return Object{
		"architecture": "x86_64",
		"config": Object{"volatile.idmap.base": "0", "volatile.idmap.next": idmap,
			"volatile.last_state.idmap": "[]", "volatile.uuid": newID()},
		"devices": Object{}, "ephemeral": false, "profiles": []any{"default"}, "stateful": false,
		"description": "", "created_at": time.Now().UTC().Format(time.RFC3339Nano), "name": name,
		"status": "Stopped", "last_used_at": "1970-01-01T00:00:00Z", "location": "none", "type": typ,
		"project": project,
	}
}

// createInstance is POST /1.0/instances: from an image (which must
// exist), from nothing ("none"), or a copy of another instance ("copy").
func (q *query) createInstance() {
	var body Object
	if !q.decode(&body) {
		return
	}
	body = normalise(body)
	name, _ := body["name"].(string)
	if strings.Contains(name, "/") {
		q.fail(http.StatusBadRequest, `The character "/" is reserved for snapshots`)
		return
	}
	typ, _ := body["type"].(string)
	source, _ := body["source"].(map[string]any)
	srcType, _ := source["type"].(string)
	s := q.s
	s.mu.Lock()
	if name == "" {
		// LXD picks a name when the request has none.
		s.store.seq++
		name = fmt.Sprintf("fake-%d", s.store.seq)
	}
	obj := newInstance(name, q.project, typ)
	cfg := obj["config"].(map[string]any)
	var image *entry
	var lookupErr *httpError
	switch srcType {
	case "image":
		image, lookupErr = s.findImageLocked(q.project, source)
		if image != nil {
			for k, v := range image.obj["properties"].(map[string]any) {
				cfg["image."+k] = v
			}
			cfg["volatile.base_image"] = image.name()
			cfg["volatile.apply_template"] = "create"
		}
	case "", "none":
	case "copy":
		src, _ := source["source"].(string)
		if s.copySourceLocked(q.project, src) == nil {
			lookupErr = &httpError{http.StatusNotFound,
				fmt.Sprintf("Failed to fetch instance %q in project %q: Instance not found", src, q.project)}
		}
	case "migration":
		lookupErr = &httpError{http.StatusNotImplemented, "fakelxd: migration sources are not implemented"}
	default:
		lookupErr = &httpError{http.StatusBadRequest, fmt.Sprintf("Unknown source type %s", srcType)}
	}
	for _, f := range []string{"architecture", "devices", "ephemeral", "profiles", "description"} {
		if v, ok := body[f]; ok && v != nil {
			obj[f] = v
		}
	}
	for _, p := range asList(obj["profiles"]) {
		if pn, _ := p.(string); lookupErr == nil && s.store.get(q.project, []string{"profiles", pn}) == nil {
			lookupErr = &httpError{http.StatusInternalServerError, fmt.Sprintf("Requested profile %q doesn't exist", pn)}
		}
	}
	s.mu.Unlock()
	if lookupErr != nil {
		q.fail(lookupErr.code, lookupErr.msg)
		return
	}
	if c, ok := body["config"].(map[string]any); ok {
		for k, v := range c {
			cfg[k] = v
		}
	}
	segs := []string{"instances", name}
	project := q.project
	run := func(context.Context) (Object, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.store.get(project, segs) != nil {
			return nil, fmt.Errorf(`Failed creating instance record: Add instance info to the database: This "instances" entry already exists`)
		}
		if srcType == "copy" {
			if err := s.copyFromLocked(project, source, obj); err != nil {
				return nil, err
			}
		}
		e := s.store.put(project, segs, obj)
		s.lifecycleLocked("instance-created", e.url(), project)
		return nil, nil
	}
	q.async(q.start(opSpec{description: "Creating instance", resources: resourcesOf(instanceKind, objectPath(segs...)), run: run}))
}

// copySourceLocked finds the instance (or snapshot, "c1/snap0") a copy
// is made from.
func (s *Server) copySourceLocked(project, src string) *entry {
	segs := []string{"instances", src}
	if inst, snap, ok := strings.Cut(src, "/"); ok {
		segs = []string{"instances", inst, "snapshots", snap}
	}
	return s.store.get(project, segs)
}

// copyFromLocked fills obj from the source of a copy: its definition
// without volatile keys.
func (s *Server) copyFromLocked(project string, source Object, obj Object) error {
	src, _ := source["source"].(string)
	e := s.copySourceLocked(project, src)
	if e == nil {
		return fmt.Errorf("Failed to fetch instance %q in project %q: Instance not found", src, project)
	}
	cfg := obj["config"].(map[string]any)
	for k, v := range e.obj["config"].(map[string]any) {
		if !strings.HasPrefix(k, "volatile.") {
			cfg[k] = v
		}
	}
	for _, f := range []string{"architecture", "devices", "ephemeral", "profiles", "description"} {
		if v, ok := e.obj[f]; ok {
			obj[f] = cloneAny(v)
		}
	}
	if t, ok := e.obj["type"]; ok && e.kind == instanceKind {
		obj["type"] = t
	}
	return nil
}

// findImageLocked resolves an image source: an alias or a fingerprint
// (prefix) in project.
func (s *Server) findImageLocked(project string, source Object) (*entry, *httpError) {
	if server, _ := source["server"].(string); server != "" {
		return nil, &httpError{http.StatusNotImplemented, "fakelxd: remote image sources are not implemented"}
	}
	if alias, _ := source["alias"].(string); alias != "" {
		a := s.store.get(project, []string{"images", "aliases", alias})
		if a == nil {
			return nil, &httpError{http.StatusNotFound, "Image alias not found"}
		}
		target, _ := a.obj["target"].(string)
		if img := s.imageLocked(project, target); img != nil {
			return img, nil
		}
		return nil, &httpError{http.StatusNotFound, "Image not found"}
	}
	fp, _ := source["fingerprint"].(string)
	if img := s.imageLocked(project, fp); img != nil {
		return img, nil
	}
	return nil, &httpError{http.StatusNotFound, "Image not found"}
}

// putInstance is PUT /1.0/instances/<name>: an update, or with
// {"restore": snapshot} a restore.
func (q *query) putInstance(e *entry) {
	peek := q.peekJSON()
	snap, ok := peek["restore"].(string)
	if !ok {
		q.object(q.segs, e)
		return
	}
	q.changeInstance("Restoring snapshot", e, func(inst *entry) error {
		sn := q.s.store.get(inst.project, append(append([]string(nil), inst.segs...), "snapshots", snap))
		if sn == nil {
			return errInstanceNotFound
		}
		for _, f := range []string{"architecture", "config", "devices", "ephemeral", "profiles"} {
			if v, ok := sn.obj[f]; ok {
				inst.obj[f] = cloneAny(v)
			}
		}
		q.s.lifecycleLocked("instance-restored", inst.url(), inst.project)
		return nil
	})
}

// errInstanceNotFound is how LXD fails an operation whose instance has
// gone by the time it runs.
var errInstanceNotFound = errors.New("Instance not found")

// changeInstance answers with an operation that, once it may run, applies
// change to instance e under the Server's lock; it fails as LXD does when
// the instance has gone meanwhile.
func (q *query) changeInstance(description string, e *entry, change func(inst *entry) error) {
	s, project, segs := q.s, e.project, e.segs
	q.async(q.start(opSpec{description: description, resources: resourcesOf(instanceKind, e.path),
		run: func(context.Context) (Object, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			inst := s.store.get(project, segs)
			if inst == nil {
				return nil, errInstanceNotFound
			}
			return nil, change(inst)
		}}))
}

// peekJSON decodes the body and puts it back for the next reader.
func (q *query) peekJSON() Object {
	var body Object
	data, _ := readAllAndRestore(q.r)
	_ = jsonUnmarshal(data, &body)
	return body
}

// instanceState is GET and PUT /1.0/instances/<name>/state.
func (q *query) instanceState(e *entry) {
	s := q.s
	switch q.r.Method {
	case http.MethodGet:
		s.mu.Lock()
		st := s.stateLocked(e)
		s.mu.Unlock()
		q.sync(http.StatusOK, st)
	case http.MethodPut:
		var body struct {
			Action string `json:"action"`
		}
		if !q.decode(&body) {
			return
		}
		a, ok := stateActions[body.Action]
		if !ok {
			q.fail(http.StatusBadRequest, fmt.Sprintf("Unknown action: '%s'", body.Action))
			return
		}
		q.changeInstance(a.description, e, func(inst *entry) error {
			status, _ := inst.obj["status"].(string)
			if msg, refused := a.refuse[status]; refused {
				return errors.New(msg)
			}
			inst.obj["status"] = a.to
			cfg, _ := inst.obj["config"].(map[string]any)
			if cfg != nil && a.power != "" {
				cfg["volatile.last_state.power"] = a.power
			}
			if a.to == "Running" {
				inst.obj["last_used_at"] = time.Now().UTC().Format(time.RFC3339Nano)
			}
			s.lifecycleLocked(a.event, inst.url(), inst.project)
			return nil
		})
	default:
		q.fail(http.StatusMethodNotAllowed, "method not allowed")
	}
}

// stateAction is what PUT .../state {"action": …} does.
type stateAction struct {
	description string
	to, power   string
	event       string
	refuse      map[string]string // status before → LXD's refusal
}

var stateActions = map[string]stateAction{
	"start": {"Starting instance", "Running", "RUNNING", "instance-started",
		map[string]string{"Running": "The instance is already running", "Frozen": "The instance is already running"}},
	"stop": {"Stopping instance", "Stopped", "STOPPED", "instance-stopped",
		map[string]string{"Stopped": "The instance is already stopped"}},
	"restart": {"Restarting instance", "Running", "RUNNING", "instance-restarted",
		map[string]string{"Stopped": "The instance is already stopped"}},
	"freeze": {"Freezing instance", "Frozen", "", "instance-paused",
		map[string]string{"Stopped": "The container isn't running", "Frozen": "The container is already frozen"}},
	"unfreeze": {"Unfreezing instance", "Running", "", "instance-resumed",
		map[string]string{"Stopped": "The container isn't running", "Running": "The container is already running"}},
}

// stateLocked is the instance's state as GET .../state shows it.
func (s *Server) stateLocked(e *entry) Object {
	status, _ := e.obj["status"].(string)
	st := Object{"status": status, "status_code": float64(statusCodes[status]), "disk": Object{},
		"memory":  Object{"usage": float64(0), "usage_peak": float64(0), "swap_usage": float64(0), "swap_usage_peak": float64(0)},
		"network": nil, "pid": float64(0), "processes": float64(0), "cpu": Object{"usage": float64(0)}}
	if status == "Running" || status == "Frozen" {
		st["pid"], st["processes"] = float64(1000+e.seq), float64(1)
		st["memory"].(map[string]any)["usage"] = float64(565248)
		st["network"] = Object{"lo": Object{
			"addresses": []any{Object{"family": "inet", "address": "127.0.0.1", "netmask": "8", "scope": "local"}},
			"counters":  Object{"bytes_received": float64(0), "bytes_sent": float64(0), "packets_received": float64(0), "packets_sent": float64(0)},
			"hwaddr":    "", "host_name": "", "mtu": float64(65536), "state": "up", "type": "loopback"}}
	}
	for k, v := range e.extra {
		st[k] = cloneAny(v)
	}
	return st
}

// renderInstanceLocked adds what LXD computes to an instance: its status
// code, expanded config and devices, and with recursion=2 its state and
// snapshots.
func (s *Server) renderInstanceLocked(e *entry, obj Object, recursion int) {
	status, _ := obj["status"].(string)
	obj["status_code"] = float64(statusCodes[status])
	obj["project"] = e.project
	obj["expanded_config"], obj["expanded_devices"] = s.expandLocked(e.project, obj)
	if recursion < 2 {
		return
	}
	obj["state"] = s.stateLocked(e)
	var snaps any // LXD 5.0.2 sends null for an instance without snapshots
	if list := s.store.children(e.project, append(append([]string(nil), e.segs...), "snapshots"), false); len(list) > 0 {
		out := make([]any, len(list))
		for i, sn := range list {
			out[i] = s.renderLocked(sn, true, 1)
		}
		snaps = out
	}
	obj["snapshots"], obj["backups"] = snaps, nil
}

// expandLocked merges the profiles' config and devices under the object's
// own, as LXD's expanded_config and expanded_devices do.
func (s *Server) expandLocked(project string, obj Object) (Object, Object) {
	cfg, devs := Object{}, Object{}
	for _, p := range asList(obj["profiles"]) {
		name, _ := p.(string)
		if pe := s.store.get(project, []string{"profiles", name}); pe != nil {
			for k, v := range asObject(pe.obj["config"]) {
				cfg[k] = cloneAny(v)
			}
			for k, v := range asObject(pe.obj["devices"]) {
				devs[k] = cloneAny(v)
			}
		}
	}
	for k, v := range asObject(obj["config"]) {
		cfg[k] = cloneAny(v)
	}
	for k, v := range asObject(obj["devices"]) {
		devs[k] = cloneAny(v)
	}
	return cfg, devs
}

func asObject(v any) Object {
	o, _ := v.(map[string]any)
	return o
}

// createSnapshot is POST /1.0/instances/<name>/snapshots: LXD names it
// snapN when the request does not.
func (q *query) createSnapshot(inst *entry) {
	var body struct {
		Name      string `json:"name"`
		Stateful  bool   `json:"stateful"`
		ExpiresAt string `json:"expires_at"`
	}
	if !q.decode(&body) {
		return
	}
	if strings.Contains(body.Name, "/") {
		q.fail(http.StatusBadRequest, `Invalid snapshot name: Cannot contain "/"`)
		return
	}
	s := q.s
	project := inst.project
	parent := append(append([]string(nil), inst.segs...), "snapshots")
	s.mu.Lock()
	if body.Name == "" {
		body.Name = fmt.Sprintf("snap%d", len(s.store.children(project, parent, false)))
	}
	s.mu.Unlock()
	if body.ExpiresAt == "" {
		body.ExpiresAt = zeroTime
	}
	q.changeInstance(snapshotKind.async["create"], inst, func(ie *entry) error {
		segs := append(append([]string(nil), parent...), body.Name)
		if s.store.get(project, segs) != nil {
			return fmt.Errorf("Failed creating instance snapshot record %q: Add snapshot info to the database: "+
				"This \"instances_snapshots\" entry already exists", body.Name)
		}
		obj := Object{"expires_at": body.ExpiresAt, "created_at": time.Now().UTC().Format(time.RFC3339Nano),
			"last_used_at": zeroTime, "name": body.Name, "stateful": body.Stateful, "size": float64(-1)}
		for _, f := range []string{"architecture", "config", "devices", "ephemeral", "profiles"} {
			obj[f] = cloneAny(ie.obj[f])
		}
		e := s.store.put(project, segs, obj)
		s.lifecycleLocked("instance-snapshot-created", e.url(), project)
		return nil
	})
}

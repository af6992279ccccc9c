// Package desired works out what it takes to bring LXD objects to a
// desired state, with no state file: the difference between a spec and the
// object as the server has it now, the order in which the changes may run,
// how a plan reads, and carrying the changes out with bounded concurrency so
// that a failure stops whatever has not started. It knows nothing of
// Starlark or HTTP: the caller reads the objects, and requests go through a
// function it gives (Plan.Run).
package desired

import (
	"net/url"
	"sort"
)

// Kind is the type of an object a spec describes. The order of the
// constants is the order of creation: an object may need one of an earlier
// kind (an instance its profiles and volumes, a volume its pool), never of
// a later one. Deletions run in the reverse order.
type Kind int

const (
	Project Kind = iota
	StoragePool
	Network
	Profile
	Volume
	Instance
)

// kindNames are the names scripts use: those of the spec constructors.
var kindNames = [...]string{"project", "storage_pool", "network", "profile", "volume", "instance"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "object"
}

// Action is what a change does to its object.
type Action string

const (
	Create   Action = "create"
	Update   Action = "update"
	Start    Action = "start"
	Stop     Action = "stop"
	Freeze   Action = "freeze"
	Unfreeze Action = "unfreeze"
	Delete   Action = "delete"
)

// actions lists every action in the order the plan's summary counts them.
var actions = []Action{Create, Update, Start, Stop, Freeze, Unfreeze, Delete}

// Spec is the desired state of one object.
type Spec struct {
	Kind Kind
	// Name is how the plan names the object ("web1"; a volume
	// "pool/name").
	Name string
	// Path is the object's URL path; Collection the path new objects are
	// POSTed to, with CreateQuery (e.g. a cluster target).
	Path, Collection string
	CreateQuery      url.Values
	// Writable are the fields an update sends (the model's writable
	// fields): the server's values with the spec's applied, so that what
	// the spec does not mention is sent back as the server has it.
	Writable []string
	// Fields are what the spec enforces. "config" and "devices" are maps
	// enforced key by key: a nil value means the key must be absent, and a
	// device (a map) is enforced whole. Any other field is enforced whole.
	Fields map[string]any
	// Create are fields sent only when the object is created (name, type,
	// source, driver, ...). On an existing object a difference in one of
	// them is a note, never a change: nothing is re-created.
	Create map[string]any
	// Status is the state an instance must be in: "Running", "Stopped" or
	// "Frozen"; "" leaves it alone.
	Status string
}

// Object is an object as the server has it now.
type Object struct {
	Fields map[string]any // its JSON, as LXD sends it
	ETag   string
	// Notes are differences the caller found that apply never acts on
	// (an instance created from another image than the spec's source).
	Notes []string
}

// Gone is an existing object that the plan deletes (one that carries the
// stack's mark and is no longer in the specs).
type Gone struct {
	Kind   Kind
	Name   string
	Path   string
	Status string // an instance's status: a running one is stopped first
}

// FieldChange is the difference in one field or key. Old or New is nil
// when the field or key is (or is to be) absent.
type FieldChange struct {
	Path     string // "description", "config.limits.memory", "devices.eth0.network"
	Old, New any
}

// Change is one step of a plan: one action on one object.
type Change struct {
	Action Action
	Kind   Kind
	Name   string
	// Fields are the differences an update or a create settles (a
	// create's Old values are all nil).
	Fields []FieldChange
	// From and To are an instance's statuses, for the state changes (and
	// for a create that starts it, and a delete that stops it first).
	From, To string

	requests []Request
}

// Note is a difference apply does not act on.
type Note struct {
	Kind Kind
	Name string
	Text string
}

// Plan is what apply would do: its changes in the order they run, and the
// notes.
type Plan struct {
	Changes []Change
	Notes   []Note
}

// Empty reports whether the plan has nothing to do (notes are not work).
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Request is one HTTP request of a change. IfMatch, when set, is the ETag
// the change was planned against: the server refuses the request when the
// object has changed since.
type Request struct {
	Method  string
	Path    string
	Query   url.Values
	Body    any
	IfMatch string
	// Basis is, for an update, the object's writable fields as the plan
	// read them. An ETag can move without them moving (LXD's instance
	// ETag covers the content of its profiles, which an earlier change
	// of the same plan may have updated): Do may then re-read the object
	// and, when Unchanged holds, send the update again under the new ETag.
	Basis map[string]any
	// Reread says the ETag will have moved by the time the request is
	// sent, because an earlier change of the plan updates a profile the
	// instance uses: Do reads the object first and sends the update under
	// its ETag when Unchanged holds, rather than sending it twice.
	Reread bool
}

// Unchanged reports whether an object as read now (its fields) still has
// the writable fields it had when the plan was made (basis), so that an
// update planned against basis is still right for it.
func Unchanged(basis, fields map[string]any) bool {
	for f, v := range basis {
		if !equal(v, fields[f]) {
			return false
		}
	}
	return true
}

// Requests returns the requests that carry the change out, in order.
func (c *Change) Requests() []Request { return c.requests }

// Make assembles the plan that brings each spec's object, as current has
// it (current[i] for specs[i], nil when it does not exist), to its spec,
// and deletes every object in gone.
func Make(specs []Spec, current []*Object, gone []Gone) *Plan {
	p := &Plan{}
	for i, s := range specs {
		changes, notes := diff(s, current[i])
		p.Changes = append(p.Changes, changes...)
		p.Notes = append(p.Notes, notes...)
	}
	for _, g := range gone {
		p.Changes = append(p.Changes, deletion(g))
	}
	p.markRereads()
	p.sort()
	return p
}

// markRereads flags the updates of instances that use a profile the plan
// updates first: LXD's instance ETag covers its profiles' content.
func (p *Plan) markRereads() {
	updated := map[string]bool{}
	for _, c := range p.Changes {
		if c.Kind == Profile && c.Action == Update {
			updated[c.Name] = true
		}
	}
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Kind != Instance || c.Action != Update {
			continue
		}
		r := &c.requests[0]
		profiles, _ := r.Basis["profiles"].([]any)
		for _, name := range profiles {
			if n, _ := name.(string); updated[n] {
				r.Reread = true
			}
		}
	}
}

// sort puts the changes in the order they run: creations, updates and
// state changes by kind (the order of Kind), then the deletions by kind
// in reverse; within a kind by name. One object's changes keep their
// order (an update before the start that uses it).
func (p *Plan) sort() {
	sort.SliceStable(p.Changes, func(i, j int) bool {
		a, b := &p.Changes[i], &p.Changes[j]
		if da, db := a.Action == Delete, b.Action == Delete; da != db {
			return db
		}
		if a.Kind != b.Kind {
			if a.Action == Delete {
				return a.Kind > b.Kind
			}
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
	sort.SliceStable(p.Notes, func(i, j int) bool {
		a, b := p.Notes[i], p.Notes[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Name < b.Name
	})
}

// Package apidoc is the one registry of lxdstar's documentation: for every
// builtin, module member, manager, model type and method of the Starlark
// API (docs/guide.md states its rules), its
// signature and a one-paragraph description. The REPL's help() and Tab
// completion read it, and docs/reference.md is generated from it.
//
// Keys are canonical dotted names: "catch", "lxd.Client", "lxd.wait_all",
// "time.sleep", "Client.has_api_extension", "instances.create",
// "Instance.start", "Snapshot.restore", "files.put", "Operation.wait", …
// Managers are named after the client attribute that holds them
// ("instances", "images"), sub-managers after the model attribute
// ("snapshots", "files", "volumes"), and model types after their Starlark
// type ("Instance"). Aliases resolve to canonical keys, so "containers.create"
// and "virtual_machines.get" find the "instances.*" entries.
//
// A method added to lxdmod gets help with one entry in registry.go, and
// Tab completion with none (completion lists a value's AttrNames).
package apidoc

import (
	"slices"
	"sort"
	"strings"
	"sync"
)

// Kind classifies an entry.
type Kind string

const (
	Module    Kind = "module"    // lxd, json, time, math, sys
	Function  Kind = "function"  // a callable that is not a method: catch, lxd.wait_all
	Type      Kind = "type"      // a kind of value: Client, Instance, Operation
	Manager   Kind = "manager"   // a collection manager: instances, snapshots
	Method    Kind = "method"    // a callable attribute of a value: Instance.start
	Attribute Kind = "attribute" // a non-callable attribute: Client.host_info
)

// Entry documents one name.
type Entry struct {
	Key     string // canonical key, e.g. "instances.create"
	Kind    Kind
	Params  string // functions and methods: "(config, wait=False, target=None)"
	Returns string // what a call returns, "" when nothing useful (None)
	Doc     string // one paragraph
	// Of names the registry entry describing the attribute's value, for
	// attributes that hold a manager or another documented value (e.g.
	// "Client.instances" is Of "instances"). Completion follows it when no
	// live value is at hand.
	Of string
	// IO marks an attribute whose read performs I/O (client.resources):
	// completion and help never read it.
	IO bool
}

// Callable reports whether the entry documents something one calls.
func (e Entry) Callable() bool { return e.Kind == Function || e.Kind == Method }

// Name is the last component of the key: "create" for "instances.create".
func (e Entry) Name() string {
	if i := strings.LastIndexByte(e.Key, '.'); i >= 0 {
		return e.Key[i+1:]
	}
	return e.Key
}

// Parent is the key without its last component ("" for top-level keys).
func (e Entry) Parent() string {
	if i := strings.LastIndexByte(e.Key, '.'); i >= 0 {
		return e.Key[:i]
	}
	return ""
}

// Signature is the entry's one-line synopsis, e.g.
// "instances.create(config, wait=False, target=None) -> Instance" or
// "Client.host_info: dict".
func (e Entry) Signature() string {
	s := e.Key
	switch {
	case e.Callable():
		s += e.Params
		if e.Returns != "" {
			s += " -> " + e.Returns
		}
	case e.Kind == Attribute && e.ValueType() != "":
		s += ": " + e.ValueType()
	case e.Kind != Attribute:
		s += " (" + string(e.Kind) + ")"
	}
	return s
}

// Summary is the first sentence of Doc.
func (e Entry) Summary() string {
	doc := e.Doc
	for i := 0; i+1 < len(doc); i++ {
		if doc[i] == '.' && doc[i+1] == ' ' && !strings.HasSuffix(doc[:i], "e.g") && !strings.HasSuffix(doc[:i], "i.e") {
			return doc[:i+1]
		}
	}
	return doc
}

// ValueType describes the value of an attribute, or what a function or
// method returns: "dict", "Instance", "instances manager".
func (e Entry) ValueType() string {
	if e.Of != "" {
		if of, ok := Lookup(e.Of); ok && of.Kind == Manager {
			return of.Key + " manager"
		}
	}
	return e.Returns
}

// Lookup returns the entry for key, resolving aliases: a manager alias
// ("containers.get" → "instances.get") and the short names some builtins
// carry ("Client" → "lxd.Client" is not applied here: "Client" is the
// type; see Index for values).
func Lookup(key string) (Entry, bool) {
	e, ok := reg().byKey[Canonical(key)]
	return e, ok
}

// Canonical maps key to its canonical spelling by resolving manager
// aliases in its first component: "containers.create" → "instances.create",
// "cluster.members.all" → "members.all". A manager may also be named after
// the attribute that holds it: "StorageVolume.snapshots.all" →
// "volume_snapshots.all". Unknown keys are returned as is.
func Canonical(key string) string {
	if _, ok := reg().byKey[key]; ok {
		return key
	}
	if to, ok := managerOf(key); ok {
		return to
	}
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		if to, ok := managerOf(key[:i]); ok {
			return to + key[i:]
		}
	}
	return key
}

// managerOf resolves a manager's other name: an alias, or an attribute
// documented as holding a manager.
func managerOf(name string) (string, bool) {
	if to, ok := managerAliases[name]; ok {
		return to, true
	}
	if e, ok := reg().byKey[name]; ok && e.Kind == Attribute && e.Of != "" {
		if of, ok := reg().byKey[e.Of]; ok && of.Kind == Manager {
			return of.Key, true
		}
	}
	return "", false
}

// Entries returns every entry, in reference order (the order of
// docs/reference.md). The slice is the caller's.
func Entries() []Entry {
	out := make([]Entry, 0, len(reg().byKey))
	for _, s := range reg().sections {
		out = append(out, s.entries...)
	}
	return out
}

// Members returns the entries directly under key (e.g. the methods of
// "instances" or "Instance"), sorted by name.
func Members(key string) []Entry {
	key = Canonical(key)
	out := slices.Clone(reg().children[key])
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Section is a titled group of entries, as in docs/reference.md.
type Section struct {
	Title   string
	Intro   string
	Entries []Entry
}

// Sections returns the registry grouped as the reference is.
func Sections() []Section {
	out := make([]Section, len(reg().sections))
	for i, s := range reg().sections {
		out[i] = Section{Title: s.title, Intro: s.intro, Entries: slices.Clone(s.entries)}
	}
	return out
}

// registry is the indexed form of the tables in registry.go. It is built
// once and never changed.
type registry struct {
	sections []section
	byKey    map[string]Entry
	children map[string][]Entry
}

type section struct {
	title, intro string
	entries      []Entry
}

// reg builds the registry on first use: a script that never asks for help
// does not pay for it, and building it at package initialisation was
// most of the binary's start-up time.
var reg = sync.OnceValue(func() *registry { return build(sections()) })

func build(secs []section) *registry {
	r := &registry{sections: secs, byKey: map[string]Entry{}, children: map[string][]Entry{}}
	for _, s := range secs {
		for _, e := range s.entries {
			if _, dup := r.byKey[e.Key]; dup {
				panic("apidoc: duplicate key " + e.Key)
			}
			r.byKey[e.Key] = e
			if p := e.Parent(); p != "" {
				r.children[p] = append(r.children[p], e)
			}
		}
	}
	return r
}

package lxdmod

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/desired"
	"github.com/lxdstar/lxdstar/internal/starargs"
)

// The spec constructors, lxd.project(...) to lxd.instance(...): plain
// values saying what should exist, for client.plan and client.apply. Their
// parameters mirror the managers' create; one table per kind says what
// each parameter becomes (an enforced writable field, a field sent only at
// creation, ...), and the model type supplies the paths and the writable
// fields, so that no resource is described twice.

// specRole is what a constructor's parameter becomes.
type specRole int

const (
	enforced     specRole = iota // a writable field the spec enforces
	atCreation                   // sent only when the object is created
	clusterPlace                 // the creation's ?target= (cluster member or @group)
	wantedStatus                 // the instance's status
)

// specParam is one keyword parameter of a constructor.
type specParam struct {
	name string
	role specRole
	// conv checks the argument and returns its JSON form; nil means "not
	// given" (the spec leaves the field alone). Its errors are worded as
	// an Unpacker's: construct says which function and parameter.
	conv     func(v starlark.Value) (any, error)
	def      starlark.Value // the default (nil: None)
	required bool           // a keyword-only parameter that must be given
}

// specKind is one constructor: the kind it makes, the model type whose
// table gives the object's paths and writable fields, its positional
// parameters (the object's identity) and its keyword parameters.
type specKind struct {
	name       string // "instance": lxd.instance, and the plan's word
	kind       desired.Kind
	t          *modelType
	positional []string
	params     []specParam
}

func specKinds() []*specKind {
	config := specParam{name: "config", conv: convConfig}
	description := specParam{name: "description", conv: convOpt[starlark.String]}
	return []*specKind{
		{name: "project", kind: desired.Project, t: projectType, positional: []string{"name"},
			params: []specParam{config, description}},
		{name: "storage_pool", kind: desired.StoragePool, t: storagePoolType, positional: []string{"name"},
			params: []specParam{{name: "driver", role: atCreation, conv: convName, required: true}, config, description}},
		{name: "network", kind: desired.Network, t: networkType, positional: []string{"name"},
			params: []specParam{{name: "type", role: atCreation, conv: convOpt[starlark.String]}, config, description}},
		{name: "profile", kind: desired.Profile, t: profileType, positional: []string{"name"},
			params: []specParam{config, {name: "devices", conv: convDevices}, description}},
		{name: "volume", kind: desired.Volume, t: storageVolumeType, positional: []string{"pool", "name"},
			params: []specParam{{name: "type", role: atCreation, conv: convName, def: starlark.String("custom")},
				config, description, {name: "content_type", role: atCreation, conv: convOpt[starlark.String]}}},
		{name: "instance", kind: desired.Instance, t: instanceType, positional: []string{"name"},
			params: []specParam{
				{name: "source", role: atCreation, conv: convSource},
				{name: "type", role: atCreation, conv: convInstanceType, def: starlark.String("container")},
				{name: "profiles", conv: convStringList},
				config,
				{name: "devices", conv: convDevices},
				description,
				{name: "ephemeral", conv: convOpt[starlark.Bool]},
				{name: "status", role: wantedStatus, conv: convStatus, def: starlark.String("Running")},
				{name: "target", role: clusterPlace, conv: convOpt[starlark.String]},
			}},
	}
}

// specConstructors are the lxd module's constructors, by name.
func specConstructors() starlark.StringDict {
	out := starlark.StringDict{}
	for _, k := range specKinds() {
		k := k
		out[k.name] = starlark.NewBuiltin("lxd."+k.name, k.construct)
	}
	return out
}

// construct implements the constructor: the positional parameters, then
// keyword-only ones.
func (k *specKind) construct(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	fn := b.Name()
	if len(args) > len(k.positional) {
		return nil, fmt.Errorf("%s: got %d positional arguments, want at most %d (%s; the others are keyword-only)",
			fn, len(args), len(k.positional), strings.Join(k.positional, ", "))
	}
	keys := make([]string, len(k.positional))
	vals := make([]starlark.Value, len(k.params))
	var pairs []any
	for i, p := range k.positional {
		pairs = append(pairs, p, &keys[i])
	}
	for i, p := range k.params {
		vals[i] = starlark.None
		if p.def != nil {
			vals[i] = p.def
		}
		name := p.name + "?"
		if p.required {
			name = p.name
		}
		pairs = append(pairs, name, &vals[i])
	}
	if err := starlark.UnpackArgs(fn, args, kwargs, pairs...); err != nil {
		return nil, err
	}
	s := &specValue{k: k, key: keys, args: vals, fields: map[string]any{}, create: map[string]any{}}
	for i, p := range k.positional {
		if err := urlSegment("name")(keys[i]); err != nil {
			return nil, fmt.Errorf("%s: for parameter %s: %w", fn, p, err)
		}
	}
	for i, p := range k.params {
		g, err := p.conv(vals[i])
		if err != nil {
			return nil, fmt.Errorf("%s: for parameter %s: %w", fn, p.name, err)
		}
		if g == nil {
			continue
		}
		switch p.role {
		case enforced:
			s.fields[p.name] = g
		case atCreation:
			s.create[p.name] = g
		case clusterPlace:
			s.target = g.(string)
		case wantedStatus:
			s.status = g.(string)
		}
		// A spec is a value: the caller's later edits of a dict it gave
		// must not show in it, nor may the spec freeze the caller's dict.
		vals[i] = deepCopy(vals[i])
		vals[i].Freeze()
	}
	return s, nil
}

// specValue is what a constructor returns: the desired state of one
// object, as a value scripts can keep, print and pass to client.plan.
type specValue struct {
	k    *specKind
	key  []string         // the positional arguments: name, or pool and name
	args []starlark.Value // the keyword arguments, as given (frozen)

	fields map[string]any // enforced writable fields (JSON form)
	create map[string]any // fields sent at creation only
	status string         // instances: "" leaves the state alone
	target string         // instances: cluster member or @group to create on
}

var _ starlark.HasAttrs = (*specValue)(nil)

// String reads as the call that makes the spec, without the defaults:
// lxd.profile("web", config={"limits.memory": "256MB"}).
func (s *specValue) String() string {
	parts := make([]string, 0, len(s.key)+len(s.args))
	for _, k := range s.key {
		parts = append(parts, strconv.Quote(k))
	}
	for i, p := range s.k.params {
		v := s.args[i]
		def := p.def
		if def == nil {
			def = starlark.None
		}
		if eq, err := starlark.Equal(v, def); err == nil && eq {
			continue
		}
		parts = append(parts, p.name+"="+v.String())
	}
	return "lxd." + s.k.name + "(" + strings.Join(parts, ", ") + ")"
}

func (s *specValue) Type() string         { return "Spec" }
func (s *specValue) Freeze()              {}
func (s *specValue) Truth() starlark.Bool { return true }
func (s *specValue) Hash() (uint32, error) {
	return 0, fmt.Errorf("unhashable type: Spec")
}

// Attr reads the spec's arguments: kind ("instance", ...), the positional
// ones, and every keyword parameter (its default, or None, when not given).
func (s *specValue) Attr(name string) (starlark.Value, error) {
	if name == "kind" {
		return starlark.String(s.k.name), nil
	}
	for i, p := range s.k.positional {
		if p == name {
			return starlark.String(s.key[i]), nil
		}
	}
	for i, p := range s.k.params {
		if p.name == name {
			return s.args[i], nil
		}
	}
	return nil, nil
}

func (s *specValue) AttrNames() []string {
	names := append([]string{"kind"}, s.k.positional...)
	for _, p := range s.k.params {
		names = append(names, p.name)
	}
	sort.Strings(names)
	return names
}

// name is the object's name (the last positional argument).
func (s *specValue) name() string { return s.key[len(s.key)-1] }

// --- argument conversions ----------------------------------------------------

// convOpt is an argument of the Starlark type T (a string, a bool), or
// None: starargs.Opt checks it, and its JSON form is the Go value.
func convOpt[T starlark.Value](v starlark.Value) (any, error) {
	var o starargs.Opt[T]
	if err := o.Unpack(v); err != nil || !o.Set {
		return nil, err
	}
	return toGoArg(o.Value)
}

// convName is a required non-empty string (a driver, a volume type).
func convName(v starlark.Value) (any, error) {
	str, ok := v.(starlark.String)
	if !ok || str == "" {
		return nil, fmt.Errorf("got %s, want a non-empty string", describeArg(v))
	}
	return string(str), nil
}

func convStringList(v starlark.Value) (any, error) {
	var list starargs.Strings
	if err := list.Unpack(v); err != nil {
		return nil, err
	}
	if list == nil {
		return nil, nil
	}
	out := make([]any, len(list))
	for i, s := range list {
		out[i] = s
	}
	return out, nil
}

func convInstanceType(v starlark.Value) (any, error) {
	if s, ok := v.(starlark.String); ok && (s == "container" || s == "virtual-machine") {
		return string(s), nil
	}
	return nil, fmt.Errorf("got %s, want \"container\" or \"virtual-machine\"", describeArg(v))
}

func convStatus(v starlark.Value) (any, error) {
	if v == starlark.None {
		return nil, nil
	}
	if s, ok := v.(starlark.String); ok && slices.Contains(instanceStatuses, string(s)) {
		return string(s), nil
	}
	return nil, fmt.Errorf("got %s, want \"Running\", \"Stopped\", \"Frozen\" or None", describeArg(v))
}

// convSource is an instance's source: LXD's InstanceSource dict, or a
// string naming a local image alias.
func convSource(v starlark.Value) (any, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.String:
		if x == "" {
			return nil, errors.New("empty image alias")
		}
		return map[string]any{"type": "image", "alias": string(x)}, nil
	case *starlark.Dict:
		return toGoArg(x)
	}
	return nil, fmt.Errorf("got %s, want an image alias (string), a source dict or None", v.Type())
}

// convConfig is a config dict: string keys, values strings (ints and
// bools are written as LXD writes them), None for "must be absent".
func convConfig(v starlark.Value) (any, error) {
	return specDict(v, func(k string, val starlark.Value) (any, error) {
		s, err := configValue(val)
		if err != nil {
			return nil, fmt.Errorf("key %q: %v", k, err)
		}
		return s, nil
	})
}

// convDevices is a devices dict: each device a dict of settings (as
// config values), or None for "must be absent".
func convDevices(v starlark.Value) (any, error) {
	return specDict(v, func(name string, val starlark.Value) (any, error) {
		dev, ok := val.(*starlark.Dict)
		if !ok {
			return nil, fmt.Errorf("device %q is %s, want dict or None", name, val.Type())
		}
		settings := make(map[string]any, dev.Len())
		for _, skv := range dev.Items() {
			sk, ok := skv[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("device %q: key %s is %s, want string", name, skv[0], skv[0].Type())
			}
			s, err := configValue(skv[1])
			if err != nil {
				return nil, fmt.Errorf("device %q: key %q: %v", name, string(sk), err)
			}
			settings[string(sk)] = s
		}
		return settings, nil
	})
}

// specDict converts a dict argument with non-empty string keys (all
// checked first) to its JSON form: None as a value is kept as nil ("must
// be absent"), any other value is converted by conv. None as the argument
// gives nil.
func specDict(v starlark.Value, conv func(key string, val starlark.Value) (any, error)) (any, error) {
	d, err := starargs.OptDict(v)
	if d == nil {
		return nil, err
	}
	for _, kv := range d.Items() {
		if k, ok := kv[0].(starlark.String); !ok || k == "" {
			return nil, fmt.Errorf("key %s is %s, want a non-empty string", kv[0], describeArg(kv[0]))
		}
	}
	out := make(map[string]any, d.Len())
	for _, kv := range d.Items() {
		k := string(kv[0].(starlark.String))
		if kv[1] == starlark.None {
			out[k] = nil
			continue
		}
		if out[k], err = conv(k, kv[1]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// configValue is an LXD config value: a string, or an int or bool written
// as LXD writes them ("2", "true").
func configValue(v starlark.Value) (string, error) {
	switch x := v.(type) {
	case starlark.String:
		return string(x), nil
	case starlark.Int:
		return x.String(), nil
	case starlark.Bool:
		return strconv.FormatBool(bool(x)), nil
	}
	return "", fmt.Errorf("got %s, want string, int, bool or None", v.Type())
}

// describeArg names a wrong argument: its value when it is a string (an
// unknown status), else its type.
func describeArg(v starlark.Value) string {
	if s, ok := v.(starlark.String); ok {
		return strconv.Quote(string(s))
	}
	return v.Type()
}

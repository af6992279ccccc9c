package lxdmod

// Argument types of the lxd module's methods, beside the generic ones of
// internal/starargs: they check LXD's naming rules or convert to the JSON
// LXD takes. Each is a starlark.Unpacker, so a method declares them in
// starlark.UnpackArgs and UnpackArgs names the method and the parameter in
// their errors.

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/internal/starjson"
)

// newName is the name of an object being created or renamed: LXD takes it
// as one URL segment.
type newName string

func (n *newName) Unpack(v starlark.Value) error {
	return unpackString(v, (*string)(n), urlSegment("name"))
}

// snapshotName is the name of an instance snapshot.
type snapshotName string

func (n *snapshotName) Unpack(v starlark.Value) error {
	return unpackString(v, (*string)(n), urlSegment("snapshot name"))
}

// nonEmpty is a string that must not be empty (a key, an alias).
type nonEmpty string

func (n *nonEmpty) Unpack(v starlark.Value) error {
	return unpackString(v, (*string)(n), notEmpty("want a non-empty string"))
}

// unpackString is the Unpack method of a string type with a rule: it reads
// the string v into *dst and fails with what check says of it.
func unpackString(v starlark.Value, dst *string, check func(string) error) error {
	s, err := starargs.String(v)
	if err == nil {
		err = check(s)
	}
	*dst = s
	return err
}

// urlSegment checks a string that must be one non-empty URL segment; what
// names it in the error.
func urlSegment(what string) func(string) error {
	return func(s string) error {
		if s == "" || strings.Contains(s, "/") {
			return fmt.Errorf("invalid %s %q", what, s)
		}
		return nil
	}
}

// notEmpty checks a string that must not be "": the error then says empty.
func notEmpty(empty string) func(string) error {
	return func(s string) error {
		if s == "" {
			return errors.New(empty)
		}
		return nil
	}
}

// pathInInstance is a path inside an instance: absolute, and cleaned.
type pathInInstance string

func (p *pathInInstance) Unpack(v starlark.Value) error {
	s, err := starargs.String(v)
	switch {
	case err != nil:
		return err
	case !strings.HasPrefix(s, "/"):
		return fmt.Errorf("%q is not an absolute path (paths inside the instance start with /)", s)
	case strings.ContainsRune(s, 0):
		return errors.New("path contains a NUL byte")
	}
	*p = pathInInstance(path.Clean(s))
	return nil
}

// optPathInInstance is a pathInInstance, or None ("").
type optPathInInstance string

func (p *optPathInInstance) Unpack(v starlark.Value) error {
	var s starargs.OptString
	if err := s.Unpack(v); err != nil || !s.Set {
		*p = ""
		return err
	}
	return (*pathInInstance)(p).Unpack(v)
}

// statusWanted is an instance status to wait for: "Running", "Stopped" or
// "Frozen"; None or "" for any.
type statusWanted string

func (s *statusWanted) Unpack(v starlark.Value) error {
	var o starargs.OptString
	if err := o.Unpack(v); err != nil {
		return err
	}
	if o.Value != "" && !slices.Contains(instanceStatuses, o.Value) {
		return fmt.Errorf("got %q, want \"Running\", \"Stopped\" or \"Frozen\"", o.Value)
	}
	*s = statusWanted(o.Value)
	return nil
}

// jsonObject is a dict sent to LXD as a JSON object, or None (nil).
type jsonObject map[string]any

func (o *jsonObject) Unpack(v starlark.Value) error {
	d, err := starargs.OptDict(v)
	if d == nil {
		*o = nil
		return err
	}
	g, err := toGoArg(d)
	if err != nil {
		return err
	}
	*o = g.(map[string]any)
	return nil
}

// jsonObjects is a list of dicts sent to LXD as JSON objects (ACL rules,
// forward ports, DNS record entries), or None (nil).
type jsonObjects []any

func (l *jsonObjects) Unpack(v starlark.Value) error {
	seq, err := starargs.OptSequence(v, "list of dicts")
	if seq == nil {
		*l = nil
		return err
	}
	for i := range seq.Len() {
		if _, ok := seq.Index(i).(*starlark.Dict); !ok {
			return fmt.Errorf("element %d is %s, want dict", i, seq.Index(i).Type())
		}
	}
	g, err := toGoArg(v)
	if err != nil {
		return err
	}
	*l = g.([]any)
	return nil
}

// toGoArg is starjson.ToGo for an argument: a failure deep inside it says
// where, after UnpackArgs's "fn: for parameter x: ".
func toGoArg(v starlark.Value) (any, error) {
	g, err := starjson.ToGo(v, "")
	var e *starjson.Error
	if errors.As(err, &e) {
		if p := e.Path(); p != "" {
			return nil, fmt.Errorf("at %s: %s", p, e.Msg)
		}
		return nil, errors.New(e.Msg)
	}
	return g, err
}

// maxPositional enforces Python's keyword-only marker (*): starlark's
// UnpackArgs would otherwise accept those parameters positionally.
func maxPositional(fn string, args starlark.Tuple, n int) error {
	if len(args) > n {
		return fmt.Errorf("%s: got %d positional arguments, want at most %d (the rest are keyword-only)", fn, len(args), n)
	}
	return nil
}

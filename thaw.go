package lxdstar

import (
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Thawer is implemented by values that can return an unfrozen copy of
// themselves (lxd models), so that a session can go on changing the
// globals of a script it ran, which Starlark froze (see ExecFile).
type Thawer interface {
	Thaw() starlark.Value
}

// thaw returns an unfrozen copy of v where one can be made: lists, dicts
// and sets are copied (deeply, through tuples and structs too), values
// implementing Thawer copy themselves, and anything else (functions,
// strings, numbers, clients) is returned as is. A script's globals are
// frozen once it has run; a session goes on with such copies so that they
// stay editable. memo keeps shared and cyclic structure.
func thaw(v starlark.Value, memo map[starlark.Value]starlark.Value) starlark.Value {
	switch x := v.(type) {
	case *starlark.List:
		if c, ok := memo[x]; ok {
			return c
		}
		c := starlark.NewList(make([]starlark.Value, 0, x.Len()))
		memo[x] = c
		for i := 0; i < x.Len(); i++ {
			_ = c.Append(thaw(x.Index(i), memo))
		}
		return c
	case *starlark.Dict:
		if c, ok := memo[x]; ok {
			return c
		}
		c := starlark.NewDict(x.Len())
		memo[x] = c
		for _, kv := range x.Items() {
			_ = c.SetKey(kv[0], thaw(kv[1], memo)) // keys are hashable, so immutable
		}
		return c
	case *starlark.Set:
		if c, ok := memo[x]; ok {
			return c
		}
		c := starlark.NewSet(x.Len())
		memo[x] = c
		it := x.Iterate()
		defer it.Done()
		var e starlark.Value
		for it.Next(&e) {
			_ = c.Insert(e) // elements are hashable, so immutable
		}
		return c
	case starlark.Tuple:
		c := make(starlark.Tuple, len(x))
		for i, e := range x {
			c[i] = thaw(e, memo)
		}
		return c
	case *starlarkstruct.Struct:
		if c, ok := memo[x]; ok {
			return c
		}
		fields := starlark.StringDict{}
		x.ToStringDict(fields)
		for k, f := range fields {
			fields[k] = thaw(f, memo)
		}
		c := starlarkstruct.FromStringDict(x.Constructor(), fields)
		memo[x] = c
		return c
	case Thawer:
		if c, ok := memo[v]; ok {
			return c
		}
		c := x.Thaw()
		memo[v] = c
		return c
	}
	return v
}

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
		return once(memo, x, func() *starlark.List { return starlark.NewList(make([]starlark.Value, 0, x.Len())) }, func(c *starlark.List) {
			for i := 0; i < x.Len(); i++ {
				_ = c.Append(thaw(x.Index(i), memo))
			}
		})
	case *starlark.Dict:
		return once(memo, x, func() *starlark.Dict { return starlark.NewDict(x.Len()) }, func(c *starlark.Dict) {
			for _, kv := range x.Items() {
				_ = c.SetKey(kv[0], thaw(kv[1], memo)) // keys are hashable, so immutable
			}
		})
	case *starlark.Set:
		return once(memo, x, func() *starlark.Set { return starlark.NewSet(x.Len()) }, func(c *starlark.Set) {
			it := x.Iterate()
			defer it.Done()
			var e starlark.Value
			for it.Next(&e) {
				_ = c.Insert(e) // elements are hashable, so immutable
			}
		})
	case starlark.Tuple:
		c := make(starlark.Tuple, len(x))
		for i, e := range x {
			c[i] = thaw(e, memo)
		}
		return c
	case *starlarkstruct.Struct:
		return once(memo, x, func() *starlarkstruct.Struct {
			fields := starlark.StringDict{}
			x.ToStringDict(fields)
			for k, f := range fields {
				fields[k] = thaw(f, memo)
			}
			return starlarkstruct.FromStringDict(x.Constructor(), fields)
		}, nil)
	case Thawer:
		return once(memo, v, x.Thaw, nil)
	}
	return v
}

// once returns memo's copy of x, or makes one, records it and then fills
// it (when fill is not nil): a value met again, also within itself, gets
// the same copy. Tuples are not memoised (they cannot be map keys).
func once[T starlark.Value](memo map[starlark.Value]starlark.Value, x starlark.Value, newCopy func() T, fill func(c T)) starlark.Value {
	if c, ok := memo[x]; ok {
		return c
	}
	c := newCopy()
	memo[x] = c
	if fill != nil {
		fill(c)
	}
	return c
}

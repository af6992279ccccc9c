package starargs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"
)

// unpack calls fn(arg) the way a builtin declaring parameter x does and
// returns UnpackArgs's error.
func unpack(ptr any, arg starlark.Value) error {
	return starlark.UnpackArgs("fn", starlark.Tuple{arg}, nil, "x?", ptr)
}

func list(elems ...starlark.Value) *starlark.List { return starlark.NewList(elems) }

func dict(kv ...starlark.Value) *starlark.Dict {
	d := starlark.NewDict(len(kv) / 2)
	for i := 0; i < len(kv); i += 2 {
		_ = d.SetKey(kv[i], kv[i+1])
	}
	return d
}

var (
	s   = func(x string) starlark.Value { return starlark.String(x) }
	i   = func(x int64) starlark.Value { return starlark.MakeInt64(x) }
	fl  = func(x float64) starlark.Value { return starlark.Float(x) }
	non = starlark.None
)

// Each bad argument fails in go.starlark.net's form, naming the function
// and the parameter; each good one converts.
func TestErrorsNameFunctionAndParameter(t *testing.T) {
	cases := []struct {
		ptr  any
		arg  starlark.Value
		want string
	}{
		{new(Seconds), s("1"), "got string, want number or None"},
		{new(Seconds), i(0), "must be positive, got 0"},
		{new(Seconds), fl(-1.5), "must be positive, got -1.5"},
		{new(OptString), i(1), "got int, want string or None"},
		{new(Text), i(1), "got int, want string or bytes"},
		{new(FileMode), fl(1.5), `got float, want int (0o644) or octal string ("0644")`},
		{new(FileMode), i(0o17777), "mode 8191 out of range (want 0 to 0o7777)"},
		{new(FileMode), s("0999"), `"0999" is not an octal mode like "0644"`},
		{new(FileMode), s("rwx"), `"rwx" is not an octal mode like "0644"`},
		{new(FileMode), s("0o"), `"0o" is not an octal mode like "0644"`},
		{new(FileMode), s("17777"), `mode "17777" out of range (want 0 to 0o7777)`},
		{new(Owner), i(-1), "-1 out of range (want 0 to 4294967295)"},
		{new(Owner), i(1 << 32), "4294967296 out of range (want 0 to 4294967295)"},
		{new(Owner), s("root"), "got string, want int or None"},
		{new(Command), s("ls -l"), `got string, want a list of strings (to run a shell command line, use ["sh", "-c", "ls -l"])`},
		{new(Command), i(1), "got int, want a list of strings"},
		{new(Command), list(), "the command is empty"},
		{new(Command), list(s("ls"), i(1)), "element 1 is int, want string"},
		{new(Strings), s("a"), "got string, want list of strings or None"},
		{new(Strings), starlark.Bytes("a"), "got bytes, want list of strings or None"},
		{new(Strings), list(s("a"), non), "element 1 is NoneType, want string"},
		{new(StringDict), list(), "got list, want dict or None"},
		{new(StringDict), dict(s("A"), i(1)), "want string keys and values, got string: int"},
		{new(Callable), s("print"), "got string, want a callable or None"},
	}
	for _, tc := range cases {
		err := unpack(tc.ptr, tc.arg)
		if assert.Error(t, err, "%T(%s)", tc.ptr, tc.arg) {
			assert.Equal(t, "fn: for parameter x: "+tc.want, err.Error())
		}
	}
}

func TestConversions(t *testing.T) {
	var sec Seconds
	require.NoError(t, unpack(&sec, fl(1.5)))
	assert.Equal(t, 1500*time.Millisecond, sec.Duration())
	require.NoError(t, unpack(&sec, non))
	assert.Zero(t, sec.Duration(), "None: no limit")
	require.NoError(t, unpack(&sec, fl(1e300)))
	assert.Greater(t, sec.Duration(), time.Duration(0), "a huge timeout does not wrap around")

	var o OptString
	require.NoError(t, unpack(&o, s("")))
	assert.Equal(t, OptString{Value: "", Set: true}, o)
	require.NoError(t, unpack(&o, non))
	assert.Equal(t, OptString{}, o)

	var txt Text
	require.NoError(t, unpack(&txt, starlark.Bytes("\xff")))
	assert.Equal(t, Text("\xff"), txt)

	m := FileMode(-1)
	require.NoError(t, starlark.UnpackArgs("fn", nil, nil, "x?", &m))
	assert.Equal(t, FileMode(-1), m, "omitted")
	for arg, want := range map[starlark.Value]FileMode{i(0o644): 0o644, s("0644"): 0o644, s("755"): 0o755, s("0o4755"): 0o4755, non: -1} {
		require.NoError(t, unpack(&m, arg))
		assert.Equal(t, want, m, "%s", arg)
	}

	var id Owner
	require.NoError(t, unpack(&id, i(4294967295)))
	assert.Equal(t, Owner(4294967295), id)
	require.NoError(t, unpack(&id, non))
	assert.Equal(t, Owner(-1), id)

	var cmd Command
	require.NoError(t, unpack(&cmd, starlark.Tuple{s("ls"), s("-l")}))
	assert.Equal(t, Command{"ls", "-l"}, cmd)

	var strs Strings
	require.NoError(t, unpack(&strs, list(s("a"), s("b"))))
	assert.Equal(t, Strings{"a", "b"}, strs)
	require.NoError(t, unpack(&strs, non))
	assert.Nil(t, strs)

	var env StringDict
	require.NoError(t, unpack(&env, dict(s("A"), s("1"))))
	assert.Equal(t, StringDict{"A": "1"}, env)
	require.NoError(t, unpack(&env, non))
	assert.Nil(t, env)

	var fn Callable
	require.NoError(t, unpack(&fn, starlark.NewBuiltin("f", nil)))
	assert.NotNil(t, fn.Fn)
	require.NoError(t, unpack(&fn, non))
	assert.Nil(t, fn.Fn)
}

// A keyword argument is reported as go.starlark.net reports it, its name
// quoted.
func TestKeyword(t *testing.T) {
	var secs Seconds
	err := starlark.UnpackArgs("Operation.wait", nil, []starlark.Tuple{{s("timeout"), s("1")}}, "timeout?", &secs)
	assert.EqualError(t, err, `Operation.wait: for parameter "timeout": got string, want number or None`)
}

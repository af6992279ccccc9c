package starjson

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"
)

// sameAsEncodingJSON checks Decode against encoding/json: both decodings,
// re-encoded, must be the same JSON.
func sameAsEncodingJSON(t *testing.T, in string) {
	t.Helper()
	var want any
	require.NoError(t, json.Unmarshal([]byte(in), &want), in)
	got, err := Decode([]byte(in))
	require.NoError(t, err, in)
	g, err := ToGo(got, "value")
	require.NoError(t, err)
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(g)
	assert.JSONEq(t, string(wantJSON), string(gotJSON), "input %s", in)
}

func TestDecodeMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`null`, `true`, `false`, `0`, `-0`, `42`, `-17`, `3.25`, `1e3`, `-2.5E-3`,
		`12345678901234567890123`, `""`, `"plain"`, `"tab\there"`, `"quote\"d"`, `"\u00e9\u4e2d"`,
		`"\ud83d\ude00"`, `"bad\ud800surrogate"`, "\"raw utf8 é中😀\"", "\"invalid \xff utf8\"",
		`[]`, `{}`, `[1, "two", [3], {"four": 4}]`, ` { "a" : [ true , null ] , "b" : { } } `,
		`{"dup": 1, "dup": 2}`,
	} {
		sameAsEncodingJSON(t, in)
	}
}

func TestDecodeKeepsKeyOrderAndTypes(t *testing.T) {
	v, err := Decode([]byte(`{"zeta": 1, "alpha": 2.5, "mid": [true, null], "big": 99999999999999999999}`))
	require.NoError(t, err)
	d := v.(*starlark.Dict)
	var keys []string
	for _, k := range d.Keys() {
		keys = append(keys, string(k.(starlark.String)))
	}
	assert.Equal(t, []string{"zeta", "alpha", "mid", "big"}, keys)
	assert.Equal(t, `{"zeta": 1, "alpha": 2.5, "mid": [True, None], "big": 99999999999999999999}`, d.String())
}

func TestDecodeRejectsMalformedInput(t *testing.T) {
	for _, in := range []string{
		`{`, `[1,`, `{"a" 1}`, `{"a":}`, `[1 2]`, `tru`, `nul`, `01`, `1.`, `-`, `"unterminated`,
		"\"control \x01 char\"", `{"a":1}}`, `[1] x`, `{1: 2}`, `"\x"`,
		strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2),
	} {
		_, err := Decode([]byte(in))
		assert.Error(t, err, "input %q", in)
		var dummy any
		assert.Error(t, json.Unmarshal([]byte(in), &dummy), "encoding/json accepts %q too", in)
	}
	v, err := Decode([]byte("  \n"))
	require.NoError(t, err)
	assert.Equal(t, starlark.None, v, "an empty body is None")
}

// A list or dict that contains itself fails to convert, promptly, naming
// where; it used to recurse until the stack overflowed (which fails this
// test by crashing it). No time limit is asserted: under -race on a loaded
// machine even the refusal took seconds.
func TestToGoRefusesCycles(t *testing.T) {
	l := starlark.NewList(nil)
	_ = l.Append(l)
	d := starlark.NewDict(1)
	_ = d.SetKey(starlark.String("me"), d)
	outer := starlark.NewDict(1)
	_ = outer.SetKey(starlark.String("a"), starlark.NewList([]starlark.Value{starlark.MakeInt(1), d}))
	for _, tc := range []struct {
		v    starlark.Value
		want string
	}{
		{l, `json[0][0]`},
		{outer, `json["a"][1]["me"]["me"]`},
	} {
		_, err := ToGo(tc.v, "json")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !strings.Contains(err.Error(), "contain itself") {
			t.Errorf("got %v, want an error starting %q", err, tc.want)
		}
		if c := Canonical(tc.v); c != Unsendable {
			t.Errorf("canonical: %q", c)
		}
	}
	// Deep but finite nesting within the limit converts.
	v := starlark.Value(starlark.NewList(nil))
	for range MaxDepth - 1 {
		v = starlark.NewList([]starlark.Value{v})
	}
	if _, err := ToGo(v, "json"); err != nil {
		t.Errorf("%d levels: %v", MaxDepth, err)
	}
}

// object is an Object: a value sent as the JSON object of its fields.
type object struct{ name string }

func (o object) String() string        { return "<Object " + o.name + ">" }
func (o object) Type() string          { return "Object" }
func (o object) Freeze()               {}
func (o object) Truth() starlark.Bool  { return true }
func (o object) Hash() (uint32, error) { return starlark.String(o.name).Hash() }

func (o object) ToDict() *starlark.Dict {
	d := starlark.NewDict(1)
	_ = d.SetKey(starlark.String("name"), starlark.String(o.name))
	return d
}

// ToGo sends an Object inside a value as its fields; ToGoData, for data
// such as a model's field, refuses it and says where it is.
func TestObjects(t *testing.T) {
	v := starlark.NewList([]starlark.Value{object{"c1"}})
	g, err := ToGo(v, "json")
	require.NoError(t, err)
	assert.Equal(t, []any{map[string]any{"name": "c1"}}, g)

	_, err = ToGoData(v, "Instance.config")
	assert.EqualError(t, err, "Instance.config[0]: cannot send a Object to LXD")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "[0]", e.Path())
	assert.Equal(t, Unsendable, Canonical(v))
}

// FromGo turns decoded JSON and the Go types LXD's answers use into
// Starlark values, map keys sorted.
func TestFromGo(t *testing.T) {
	v := FromGo(map[string]any{"b": []any{1.0, 1.5, json.Number("12345678901234567890123")}, "a": map[string][]string{"k": {"x"}}, "n": nil})
	assert.Equal(t, `{"a": {"k": ["x"]}, "b": [1, 1.5, 12345678901234567890123], "n": None}`, v.String())
}

// Canonical forms compare values as LXD sees them: key order does not
// matter, and a value converts back to the same form.
func TestCanonical(t *testing.T) {
	a, err := Decode([]byte(`{"b": 1, "a": [true, null, "x"]}`))
	require.NoError(t, err)
	b, err := Decode([]byte(`{"a": [true, null, "x"], "b": 1}`))
	require.NoError(t, err)
	assert.Equal(t, Canonical(a), Canonical(b))
	assert.Equal(t, `{"a":[true,null,"x"],"b":1}`, Canonical(a))
}

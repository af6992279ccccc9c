package lxdmod

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"
)

// sameAsEncodingJSON checks fromJSON against encoding/json: both decodings,
// re-encoded, must be the same JSON.
func sameAsEncodingJSON(t *testing.T, in string) {
	t.Helper()
	var want any
	require.NoError(t, json.Unmarshal([]byte(in), &want), in)
	got, err := fromJSON([]byte(in))
	require.NoError(t, err, in)
	g, err := toGo(got, "value")
	require.NoError(t, err)
	wantJSON, _ := json.Marshal(want)
	gotJSON, _ := json.Marshal(g)
	assert.JSONEq(t, string(wantJSON), string(gotJSON), "input %s", in)
}

func TestFromJSONMatchesEncodingJSON(t *testing.T) {
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

func TestFromJSONKeepsKeyOrderAndTypes(t *testing.T) {
	v, err := fromJSON([]byte(`{"zeta": 1, "alpha": 2.5, "mid": [true, null], "big": 99999999999999999999}`))
	require.NoError(t, err)
	d := v.(*starlark.Dict)
	var keys []string
	for _, k := range d.Keys() {
		keys = append(keys, string(k.(starlark.String)))
	}
	assert.Equal(t, []string{"zeta", "alpha", "mid", "big"}, keys)
	assert.Equal(t, `{"zeta": 1, "alpha": 2.5, "mid": [True, None], "big": 99999999999999999999}`, d.String())
}

func TestFromJSONRejectsMalformedInput(t *testing.T) {
	for _, in := range []string{
		`{`, `[1,`, `{"a" 1}`, `{"a":}`, `[1 2]`, `tru`, `nul`, `01`, `1.`, `-`, `"unterminated`,
		"\"control \x01 char\"", `{"a":1}}`, `[1] x`, `{1: 2}`, `"\x"`,
		strings.Repeat("[", maxJSONDepth+2) + strings.Repeat("]", maxJSONDepth+2),
	} {
		_, err := fromJSON([]byte(in))
		assert.Error(t, err, "input %q", in)
		var dummy any
		assert.Error(t, json.Unmarshal([]byte(in), &dummy), "encoding/json accepts %q too", in)
	}
	v, err := fromJSON([]byte("  \n"))
	require.NoError(t, err)
	assert.Equal(t, starlark.None, v, "an empty body is None")
}

// Values small enough to share one string (maxSharedText) and larger ones
// decode alike, and own their strings: changing the input afterwards
// changes no decoded value.
func TestFromJSONStringsOwnTheirText(t *testing.T) {
	small := `{"plain": "value", "esc\"aped": "tab\tand \u00e9", "raw": "é中"}`
	var b strings.Builder
	b.WriteString(`{"pad": "`)
	b.WriteString(strings.Repeat("x", maxSharedText))
	b.WriteString(`", "plain": "value", "esc\"aped": "tab\tand \u00e9", "raw": "é中"}`)
	for _, in := range []string{small, b.String()} {
		sameAsEncodingJSON(t, in)
		data := []byte(in)
		v, err := fromJSON(data)
		require.NoError(t, err)
		for i := range data {
			data[i] = 'z'
		}
		d := v.(*starlark.Dict)
		for key, want := range map[string]string{"plain": "value", `esc"aped`: "tab\tand é", "raw": "é中"} {
			got, found, err := d.Get(starlark.String(key))
			require.NoError(t, err)
			require.True(t, found, "key %q lost (input of %d bytes)", key, len(in))
			assert.Equal(t, starlark.String(want), got, "input of %d bytes", len(in))
		}
	}
}

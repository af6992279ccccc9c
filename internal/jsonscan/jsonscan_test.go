package jsonscan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestObjectMembersInOrder(t *testing.T) {
	var got []string
	err := Object([]byte(` {"b": [1, {"x": "}"}], "a\u0041": "s\"q", "c": null} `), func(key, value []byte) error {
		got = append(got, Unquote(key)+"="+string(value))
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, []string{`b=[1, {"x": "}"}]`, `aA="s\"q"`, `c=null`}, got)
}

func TestArrayElements(t *testing.T) {
	var got []string
	require.NoError(t, Array([]byte(`[ {"a":1} ,2,"x" ,[]]`), func(v []byte) error {
		got = append(got, string(v))
		return nil
	}))
	assert.Equal(t, []string{`{"a":1}`, `2`, `"x"`, `[]`}, got)
	require.NoError(t, Array([]byte(`[]`), func([]byte) error { t.Fatal("called"); return nil }))
}

func TestRefusals(t *testing.T) {
	for _, bad := range []string{``, `[1,]`, `{"a"}`, `{"a":1,}`, `[1 2]`, `01`, `1.`, `1e`, `-`, `"\x"`, `"\u12"`, "\"a\x01\"",
		`tru`, `nul`, `1e400`, `[-1.5e999]`, `[`, `{`, `"`, `{"a":1} x`, `{1:2}`, strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1)} {
		assert.Error(t, Valid([]byte(bad)), "%q", bad)
	}
	assert.Error(t, Object([]byte(`[1]`), nil))
	assert.Error(t, Array([]byte(`{}`), nil))
}

// Valid agrees with encoding/json, and Unquote decodes strings as it does.
func FuzzAgreesWithEncodingJSON(f *testing.F) {
	for _, seed := range []string{
		`{"name":"c1","config":{"volatile.idmap.next":"[{\"Isuid\":true}]"},"n":-1.5e+3}`,
		`"\u00e9\ud83d\ude00\u0000\ud800x\udc00"`, "\"\xff\xfe\xc3\"", `"\/\b\f\n\r\t"`,
		`[1, -0, 1E-7, 12345678901234567890123]`, `null`, `true`, ` {} `, `[1,]`, `01`, `{"a":1}{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := Valid(data)
		if want := json.Valid(data) && floatsFit(data); (err == nil) != want {
			t.Fatalf("Valid(%q) = %v, want valid: %v", data, err, want)
		}
		if err != nil || len(data) == 0 {
			return
		}
		pos := Space(data, 0)
		if data[pos] != '"' {
			return
		}
		end, _, err := String(data, pos)
		if err != nil {
			t.Fatal(err)
		}
		var want string
		if err := json.Unmarshal(data[pos:end], &want); err != nil {
			t.Fatal(err)
		}
		if got := Unquote(data[pos:end]); got != want {
			t.Fatalf("Unquote(%q) = %q, want %q", data[pos:end], got, want)
		}
	})
}

// floatsFit reports whether every number of a valid JSON text that has a
// fraction or an exponent fits a float64.
func floatsFit(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return true
		}
		if n, ok := tok.(json.Number); ok && strings.ContainsAny(string(n), ".eE") {
			if _, err := strconv.ParseFloat(string(n), 64); err != nil {
				return false
			}
		}
	}
}

// Skip finds the same end as Value on a valid JSON value (followed by what
// may follow one in a document), and stops on anything else.
func FuzzSkip(f *testing.F) {
	for _, seed := range []string{`{"a":"b\"}","c":[1,{"d":"\\"}]} x`, `"\\\\" ,`, `123}`, `true]`, `[`, `"abc`, `}`, ``} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		end, err := Skip(data, 0)
		if err == nil && (end < 0 || end > len(data)) {
			t.Fatalf("Skip(%q) = %d", data, end)
		}
		want, verr := Value(data, 0, 0)
		if verr != nil || (want < len(data) && !bytes.ContainsRune([]byte(", \t\n\r}]"), rune(data[want]))) {
			return
		}
		if err != nil || end != want {
			t.Fatalf("Skip(%q) = %d, %v; Value says %d", data, end, err, want)
		}
	})
}

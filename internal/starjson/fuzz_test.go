package starjson

// FuzzJSONRoundTrip: the conversion every server object goes through.
// `go test` runs the seeds (f.Add and testdata/fuzz/FuzzJSONRoundTrip/);
// `make fuzz` explores further.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"testing"

	"go.starlark.net/starlark"
)

func FuzzJSONRoundTrip(f *testing.F) {
	for _, seed := range []string{
		`{"name":"c1","status":"Running","config":{"limits.cpu":"2","volatile.idmap.next":"[]"},"devices":{},"profiles":["default"],"ephemeral":false,"status_code":103}`,
		`[1, -0, 1.5, 1e3, 1E-7, 12345678901234567890123, -9223372036854775808, 9223372036854775808, 0.1]`,
		`{"a":{"b":[{"c":null}]},"a":2}`,
		`"\u00e9\ud83d\ude00\u0000"`,
		"\"\xff\xfe\"",
		`{"": ""}`,
		`null`, `true`, `false`, `0`, `""`, `[]`, `{}`,
		` {"x": 1} `,
		`{"x": 1} {"y": 2}`,
		`[1,]`, `{"a"}`, `1e400`, `[[[[[[[[[[]]]]]]]]]]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Decode(data)
		if err != nil {
			return // refused cleanly: fine
		}
		if len(bytes.TrimSpace(data)) == 0 {
			if v != starlark.None {
				t.Fatalf("empty input gave %s", v)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted invalid JSON %s", short(data))
		}
		g, err := ToGo(v, "value")
		if err != nil {
			t.Fatalf("ToGo(%s): %v", short([]byte(v.String())), err)
		}
		out, err := json.Marshal(g)
		if err != nil {
			t.Fatalf("json.Marshal of %s: %v", short(data), err)
		}
		if !sameJSON(t, data, out) {
			t.Fatalf("round trip changed the value:\n in: %s\nout: %s", short(data), short(out))
		}
		// canonical is stable: the canonical form of its own decoding is
		// itself (dirty tracking compares these strings).
		c := Canonical(v)
		v2, err := Decode([]byte(c))
		if err != nil {
			t.Fatalf("canonical form %s does not decode: %v", short([]byte(c)), err)
		}
		if c2 := Canonical(v2); c2 != c {
			t.Fatalf("canonical form not stable:\n%s\n%s", short([]byte(c)), short([]byte(c2)))
		}
	})
}

// short quotes at most the first 200 bytes of data, for failure messages.
func short(data []byte) string {
	if len(data) > 200 {
		return fmt.Sprintf("%q… (%d bytes)", data[:200], len(data))
	}
	return fmt.Sprintf("%q", data)
}

// sameJSON compares two JSON texts as values: object key order and number
// formatting (1.0 vs 1, 1e2 vs 100) do not matter.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	decode := func(data []byte) any {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("decoding %s: %v", short(data), err)
		}
		return v
	}
	return sameValue(decode(a), decode(b))
}

func sameValue(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		return ok && sameNumber(x, y)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			if w, ok := y[k]; !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// sameNumber: integers compare exactly; anything else as float64, which is
// what a float is held as.
func sameNumber(a, b json.Number) bool {
	ai, aok := new(big.Int).SetString(string(a), 10)
	bi, bok := new(big.Int).SetString(string(b), 10)
	if aok && bok {
		return ai.Cmp(bi) == 0
	}
	af, err1 := a.Float64()
	bf, err2 := b.Float64()
	if err1 != nil || err2 != nil {
		return false
	}
	return af == bf || (math.IsNaN(af) && math.IsNaN(bf))
}

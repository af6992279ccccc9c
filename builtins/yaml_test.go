package builtins

import (
	"context"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// Every Starlark value yaml.encode takes comes back from yaml.decode with
// its type: ints (big ones included) stay ints, floats floats, strings that
// look like other scalars strings; dict order is kept.
func TestYAMLRoundTrip(t *testing.T) {
	mustExec(t, `
values = [
    None, True, False, 0, -7, 1 << 64, -(1 << 100), 1.0, -0.5, 1e100, 1e-7, float("inf"), -float("inf"),
    "", "plain", "true", "null", "123", "1.5", "~", "- x", "a: b", "#c", "multi\nline\n", "tab\there", "日本",
    b"\x00\xff", [], {}, [1, [2, [3]]], (1, 2),
    {"z": 1, "a": 2, "m": {"y": None, "b": [True]}},
    {1: "one", 2.5: "x", True: "t", None: "n"},
]
for v in values:
    text = yaml.encode(v)
    back = yaml.decode(text)
    want = list(v) if type(v) == "tuple" else v
    if back != want or type(back) != type(want):
        fail("%r -> %r -> %r" % (v, text, back))
    if type(v) == "dict" and list(back.keys()) != list(v.keys()):
        fail("key order: %r" % back.keys())
nan = yaml.decode(yaml.encode(float("nan")))
if str(nan) != "nan" or type(nan) != "float":
    fail("nan: %r" % nan)
`)
}

func TestYAMLEncodeLayout(t *testing.T) {
	g, _ := mustExec(t, `
out = "".join([
    yaml.encode({"name": "web", "config": {"limits.cpu": "2", "boot.autostart": True},
                 "profiles": ["default", "x"], "n": 3, "empty": {}, "none": None}),
    yaml.encode(struct(b=1, a="x")),
    yaml.encode("text"),
    yaml.encode({"bin": b"hi"}),
])
`)
	out := string(g["out"].(starlark.String))
	want := `name: web
config:
  limits.cpu: "2"
  boot.autostart: true
profiles:
  - default
  - x
n: 3
empty: {}
none: null
a: x
b: 1
text
bin: !!binary aGk=
`
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestYAMLDecode(t *testing.T) {
	mustExec(t, `
doc = yaml.decode("""
# lxc-style configuration
default-remote: local
remotes:
  local: &l {addr: "unix://", public: false}
  again: *l
ports: [0x1F, 0o17, 1_000, 018]
big: 123456789012345678901234567890
neg: -98765432109876543210
tagged: !!float 1
str: !!str 12
when: 2001-12-14
yes_is_a_string: yes
block: |
  two
  lines
base: &base {a: 1, b: 2}
merged:
  <<: *base
  b: 3
  c: 4
""")
want = {
    "default-remote": "local",
    "remotes": {"local": {"addr": "unix://", "public": False}, "again": {"addr": "unix://", "public": False}},
    "ports": [31, 15, 1000, 18],
    "big": 123456789012345678901234567890,
    "neg": -98765432109876543210,
    "tagged": 1.0,
    "str": "12",
    "when": "2001-12-14",
    "yes_is_a_string": "yes",
    "block": "two\nlines\n",
    "base": {"a": 1, "b": 2},
    "merged": {"a": 1, "b": 3, "c": 4},
}
if doc != want:
    fail("got %r" % doc)
if type(doc["tagged"]) != "float" or type(doc["big"]) != "int":
    fail("types")
if yaml.decode("") != None or yaml.decode("# nothing\n") != None or yaml.decode(b"a: 1") != {"a": 1}:
    fail("empty or bytes")
d = yaml.decode("k: v")
d["new"] = 1   # decoded values are ordinary, mutable values
`)
}

func TestYAMLErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`yaml.decode(1)`, "yaml.decode: for parameter x: got int, want string or bytes"},
		{`yaml.decode()`, "yaml.decode: missing argument for x"},
		{`yaml.decode("a: 1", 2)`, "yaml.decode: got 2 arguments, want at most 1"},
		{`yaml.decode("a: [1, 2")`, "yaml.decode: line 1: did not find expected ',' or ']'"},
		{`yaml.decode("a:\n\tb: 1")`, "yaml.decode: line 2: found character that cannot start any token"},
		{`yaml.decode("a: 1\na: 2")`, `yaml.decode: line 2: duplicate key "a"`},
		{`yaml.decode("a: 1\n---\nb: 2")`, "yaml.decode: line 2: a second document: decode one document at a time"},
		{`yaml.decode("? [a]\n: 1")`, "yaml.decode: line 1: a mapping key must be a scalar"},
		{`yaml.decode("x: !!int abc")`, `yaml.decode: line 1: invalid int "abc"`},
		{`yaml.decode("x: !!binary '%%%'")`, `yaml.decode: line 1: invalid !!binary (base64) "%%%"`},
		{`yaml.decode("a: &x [*x]")`, "yaml.decode: line 1: the anchor &x contains an alias of itself"},
		{`yaml.decode("a: 1\nb: {<<: [1]}")`, "yaml.decode: line 2: a merge (<<) needs a mapping or a list of mappings, got int"},
		{`yaml.encode()`, "yaml.encode: missing argument for x"},
		{`yaml.encode(len)`, "yaml.encode: for parameter x: cannot encode builtin_function_or_method as YAML"},
		{`yaml.encode({"a": [1, len]})`, `yaml.encode: for parameter x: at ["a"][1]: cannot encode builtin_function_or_method as YAML`},
		{`yaml.encode({(1, 2): 1})`, "yaml.encode: for parameter x: cannot encode a tuple key (1, 2) (keys must be strings, numbers, bools or None)"},
		{`yaml.encode(struct(a=struct(f=len)))`, "yaml.encode: for parameter x: at .a.f: cannot encode builtin_function_or_method as YAML"},
		{"l = [1]\nl.append(l)\nyaml.encode(l)", "yaml.encode: for parameter x: at [1]: cycle: the list contains itself"},
	} {
		_, err, _ := exec(t, context.Background(), tc.src, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.src, err, tc.want)
		}
	}
}

// Only a Go host can hand a script a string that is not UTF-8.
func TestYAMLEncodeInvalidUTF8(t *testing.T) {
	enc := env()["yaml"].(*starlarkstruct.Module).Members["encode"]
	_, err := starlark.Call(newThread(context.Background()), enc, starlark.Tuple{starlark.NewList([]starlark.Value{starlark.String("\xff")})}, nil)
	want := `yaml.encode: for parameter x: at [0]: the string "\xff" is not valid UTF-8 (encode binary data as bytes)`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// An alias bomb stays linear: aliases share the value of their anchor.
func TestYAMLAliasesShareValues(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 40; i++ {
		prev := "*a" + string(rune('0'+(i-1)%10)) + strings.Repeat("_", (i-1)/10)
		name := "a" + string(rune('0'+i%10)) + strings.Repeat("_", i/10)
		b.WriteString(name + ": &" + name + " [" + strings.Repeat(prev+", ", 9) + prev + "]\n")
	}
	v, err := decodeYAML(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if v.(interface{ Len() int }).Len() != 40 {
		t.Fatalf("got %v", v.Type())
	}
}

// FuzzYAMLRoundTrip: yaml.decode never panics, and whatever it accepts,
// yaml.encode writes out so that it decodes to an equal value and encodes
// to the same text again.
func FuzzYAMLRoundTrip(f *testing.F) {
	for _, seed := range []string{
		"a: 1\nb: [x, 2.5, null, true]\n",
		"big: 123456789012345678901234567890\nhex: 0x1F\nbin: !!binary aGk=\n",
		"base: &b {a: 1}\nm: {<<: *b, c: 2}\nl: [*b, *b]\n",
		"s: '123'\nt: \"true\"\nblock: |\n  x\n  y\nwhen: 2001-12-14\n",
		"? 1\n: one\n.inf: x\n",
		"- - - deep\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		v, err := decodeYAML(text)
		if err != nil {
			return
		}
		thread := newThread(context.Background())
		enc := env()["yaml"].(*starlarkstruct.Module).Members["encode"]
		out, err := starlark.Call(thread, enc, starlark.Tuple{v}, nil)
		if err != nil {
			t.Fatalf("cannot encode what was decoded: %v\ninput: %q", err, text)
		}
		again, err := decodeYAML(string(out.(starlark.String)))
		if err != nil {
			t.Fatalf("the encoding does not decode: %v\n%s", err, out)
		}
		if eq, err := starlark.Equal(v, again); err != nil || !eq {
			t.Fatalf("round trip changed the value: %v -> %v (%v)\n%s", v, again, err, out)
		}
		out2, err := starlark.Call(thread, enc, starlark.Tuple{again}, nil)
		if err != nil || out2 != out {
			t.Fatalf("the encoding is not stable: %v\n%s\n%s", err, out, out2)
		}
	})
}

package lxdmod

import (
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

func TestParseFileMode(t *testing.T) {
	good := map[starlark.Value]int{
		starlark.None:             -1,
		starlark.MakeInt(0o644):   0o644,
		starlark.MakeInt(0):       0,
		starlark.MakeInt(0o7777):  0o7777,
		starlark.String("0644"):   0o644,
		starlark.String("644"):    0o644,
		starlark.String("0o755"):  0o755,
		starlark.String("04755"):  0o4755,
		starlark.String("7"):      0o7,
		starlark.String("007777"): 0o7777,
	}
	for in, want := range good {
		got, err := parseFileMode("files.put", "mode", in)
		if err != nil || got != want {
			t.Errorf("%s: got %o, %v; want %o", in, got, err, want)
		}
	}
	bad := map[starlark.Value]string{
		starlark.MakeInt(-1):       "out of range",
		starlark.MakeInt(0o10000):  "out of range",
		starlark.String(""):        "not an octal mode",
		starlark.String("0o"):      "not an octal mode",
		starlark.String("0x1ff"):   "not an octal mode",
		starlark.String("rw-r--r"): "not an octal mode",
		starlark.String("0999"):    "not an octal mode",
		starlark.String("017777"):  "out of range",
		starlark.String("-644"):    "not an octal mode",
		starlark.String(" 644"):    "not an octal mode",
		starlark.Float(6.44):       "got float, want int",
		starlark.True:              "got bool, want int",
	}
	for in, want := range bad {
		_, err := parseFileMode("files.put", "mode", in)
		if err == nil || !strings.HasPrefix(err.Error(), "files.put: for parameter mode: ") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", in, err, want)
		}
	}
}

func TestParseOwner(t *testing.T) {
	if id, err := parseOwner("f", "uid", starlark.None); id != -1 || err != nil {
		t.Errorf("None: %d %v", id, err)
	}
	if id, err := parseOwner("f", "uid", starlark.MakeInt(1000)); id != 1000 || err != nil {
		t.Errorf("1000: %d %v", id, err)
	}
	for _, v := range []starlark.Value{starlark.MakeInt(-1), starlark.MakeInt64(1 << 33), starlark.String("0")} {
		if _, err := parseOwner("f", "gid", v); err == nil || !strings.HasPrefix(err.Error(), "f: for parameter gid: ") {
			t.Errorf("%s: got %v", v, err)
		}
	}
}

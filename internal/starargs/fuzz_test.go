package starargs

// FuzzParseFileMode: file-mode arguments. `go test` runs the seeds (f.Add
// and testdata/fuzz/FuzzParseFileMode/); `make fuzz` explores further.

import (
	"math"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/filemode"
)

func FuzzParseFileMode(f *testing.F) {
	for _, s := range []string{"0644", "644", "0o755", "0O755", "04755", "7777", "17777", "", "0o", "0x1ff", "rw-r--r--", "-644", " 644", "0000000000007", "0000000000000007", "８"} {
		f.Add(s, int64(0), false)
	}
	for _, i := range []int64{0, 0o644, 0o7777, 0o10000, -1, math.MaxInt64, math.MinInt64} {
		f.Add("", i, true)
	}
	f.Fuzz(func(t *testing.T, s string, i int64, useInt bool) {
		var v starlark.Value = starlark.String(s)
		if useInt {
			v = starlark.MakeInt64(i)
		}
		var m FileMode
		err := starlark.UnpackArgs("files.put", starlark.Tuple{v}, nil, "mode", &m)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "files.put: for parameter mode: ") {
				t.Fatalf("error not in Starlark style: %v", err)
			}
			return
		}
		if m < 0 || m > filemode.Max {
			t.Fatalf("%s: mode %o out of range", v, m)
		}
		if useInt && int64(m) != i {
			t.Fatalf("%d became %o", i, m)
		}
		// The text LXD is sent parses back to the same mode.
		var again FileMode
		err = again.Unpack(starlark.String(filemode.Format(int(m))))
		if err != nil || again != m {
			t.Fatalf("%s -> %o -> %q -> %o, %v", v, m, filemode.Format(int(m)), again, err)
		}
	})
}

package hostfile

import "testing"

func TestLinkStaysInside(t *testing.T) {
	cases := []struct {
		rel, target string
		ok          bool
	}{
		{"a", "b", true},
		{"a", "./b/c", true},
		{"a", ".", true},
		{"a", "..", false},
		{"a", "../x", false},
		{"d/a", "..", true},
		{"d/a", "../x/y", true},
		{"d/a", "../..", false},
		{"d/e/a", "../../x", true},
		{"d/e/a", "../../../x", false},
		// ".." after a descent may climb through a symlink: refused.
		{"a", "sub/../x", false},
		{"d/e/a", "b/../../..", false},
		{"a", "/etc/passwd", false},
		{"a", "/", false},
		{"a", "", false},
		{"a", "x\x00y", false},
	}
	for _, c := range cases {
		if got := LinkStaysInside(c.rel, c.target); got != c.ok {
			t.Errorf("LinkStaysInside(%q, %q) = %v, want %v", c.rel, c.target, got, c.ok)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, n := range []string{"a", "..foo", "...", ".hidden", "spaced name", "ü"} {
		if err := CheckName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range []string{"", ".", "..", "a/b", "/etc", "../x", "x\x00"} {
		if err := CheckName(n); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

package lxdmod

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
		if got := linkStaysInside(c.rel, c.target); got != c.ok {
			t.Errorf("linkStaysInside(%q, %q) = %v, want %v", c.rel, c.target, got, c.ok)
		}
	}
}

func TestLocalLinkTarget(t *testing.T) {
	w := &treeGetter{top: "/root/tree"}
	cases := []struct {
		remote, target, want string
		ok                   bool
	}{
		// LXD 5.0 sends targets joined to the link's directory.
		{"/root/tree/l", "/root/tree/a.txt", "a.txt", true},
		{"/root/tree/sub/l", "/root/tree/a.txt", "../a.txt", true},
		{"/root/tree/sub/l", "/root/tree", "..", true},
		{"/root/tree/l", "/root", "", false},
		{"/root/tree/l", "/", "", false},
		{"/root/tree/l", "/root/treehouse/x", "", false},
		{"/root/tree/l", "/etc/passwd", "", false},
		// Raw relative targets are joined the same way.
		{"/root/tree/sub/l", "../a.txt", "../a.txt", true},
		{"/root/tree/sub/l", "../../x", "", false},
		{"/root/tree/sub/l", "", "", false},
	}
	for _, c := range cases {
		got, ok := w.localLinkTarget(c.remote, c.target)
		if ok != c.ok || got != c.want {
			t.Errorf("localLinkTarget(%q, %q) = %q, %v; want %q, %v", c.remote, c.target, got, ok, c.want, c.ok)
		}
	}
}

func TestCheckEntryName(t *testing.T) {
	for _, n := range []string{"a", "..foo", "...", ".hidden", "spaced name", "ü"} {
		if err := checkEntryName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range []string{"", ".", "..", "a/b", "/etc", "../x", "x\x00"} {
		if err := checkEntryName(n); err == nil {
			t.Errorf("%q accepted", n)
		}
	}
}

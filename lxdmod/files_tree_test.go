package lxdmod

import "testing"

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

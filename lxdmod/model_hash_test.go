package lxdmod_test

import "testing"

// A model object's hash leaves out its name: renamed, it is still found
// in the dicts and sets that held it, and equal objects hash alike.
func TestRenameKeepsTheHash(t *testing.T) {
	s := withInstance(t)
	s.run(`
		i = c.instances.get("c1")
		p = c.profiles.get("web")
		seen = {i: "instance", p: "profile"}
		i.rename("c9", wait=True)
		p.rename("www")
		assert_eq(i.name, "c9")
		assert_eq(seen[i], "instance")
		assert_eq(seen[p], "profile")
		assert_eq(seen.get(c.instances.get("c9")), "instance", "an equal object, read afresh")
		assert_eq(c.instances.get("c9") in set([i]), True)
	`)
}

package hostfile

// The rules a copy of a directory tree into a host directory follows to
// stay inside it, whatever names and symlinks the tree's source sends.

import (
	"fmt"
	"path"
	"strings"
)

// CheckName rejects directory entry names no real directory holds, which
// a tree copied from elsewhere (an instance) may still send: ".", "..",
// empty, or containing "/" (which includes absolute names) or NUL.
func CheckName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("unsafe entry name %q", name)
	}
	return nil
}

// LinkStaysInside reports whether a symlink at rel (relative to the root)
// with this target resolves inside the root, whatever the other links do.
// Absolute targets never qualify (on the host they would point at the
// host's own files). A relative target qualifies when its ".." components
// all come first and do not climb above the root: the link's directory is
// a real directory (a tree copy creates only real directories), so
// leading ".." are physical; after them the target only descends, through
// real directories or links that themselves satisfy this rule.
func LinkStaysInside(rel, target string) bool {
	if target == "" || path.IsAbs(target) || strings.ContainsRune(target, 0) {
		return false
	}
	depth := 0
	if dir := path.Dir(rel); dir != "." {
		depth = strings.Count(dir, "/") + 1
	}
	ups, descended := 0, false
	for _, part := range strings.Split(target, "/") {
		switch part {
		case "", ".":
		case "..":
			if descended {
				return false
			}
			ups++
		default:
			descended = true
		}
	}
	return ups <= depth
}

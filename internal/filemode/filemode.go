// Package filemode reads and writes a file's permission bits as octal text,
// the way LXD's file API takes them (the X-LXD-mode header): "0644".
package filemode

import (
	"fmt"
	"strings"
)

// Max is the largest mode: permission bits plus setuid, setgid and sticky.
const Max = 0o7777

// Parse reads an octal mode such as "0644", "644" or "0o644". Its errors
// say what is wrong with s, for the caller to say which argument it was.
func Parse(s string) (int, error) {
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
	if digits == "" || len(digits) > 12 { // 12 octal digits cannot overflow an int
		return 0, fmt.Errorf("%q is not an octal mode like \"0644\"", s)
	}
	m := 0
	for _, r := range digits {
		if r < '0' || r > '7' {
			return 0, fmt.Errorf("%q is not an octal mode like \"0644\"", s)
		}
		m = m*8 + int(r-'0')
	}
	if m > Max {
		return 0, fmt.Errorf("mode %q out of range (want 0 to 0o7777)", s)
	}
	return m, nil
}

// Format renders a mode the way LXD parses it: "0644".
func Format(mode int) string { return fmt.Sprintf("%04o", mode) }

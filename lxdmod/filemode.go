package lxdmod

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
)

// maxFileMode is the largest mode LXD accepts: permission bits plus
// setuid, setgid and sticky.
const maxFileMode = 0o7777

// parseFileMode reads the mode argument of files.put and friends: None
// (returns -1: let LXD choose), an int such as 0o644, or an octal string
// such as "0644", "644" or "0o644". fn and param name the argument in errors.
func parseFileMode(fn, param string, v starlark.Value) (int, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return -1, nil
	case starlark.Int:
		m, ok := x.Int64()
		if !ok || m < 0 || m > maxFileMode {
			return 0, fmt.Errorf("%s: for parameter %s: mode %s out of range (want 0 to 0o7777)", fn, param, x)
		}
		return int(m), nil
	case starlark.String:
		return parseOctalMode(fn, param, string(x))
	}
	return 0, fmt.Errorf("%s: for parameter %s: got %s, want int (0o644) or octal string (\"0644\")", fn, param, v.Type())
}

func parseOctalMode(fn, param, s string) (int, error) {
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
	if digits == "" || len(digits) > 12 {
		return 0, fmt.Errorf("%s: for parameter %s: %q is not an octal mode like \"0644\"", fn, param, s)
	}
	m := 0
	for _, r := range digits {
		if r < '0' || r > '7' {
			return 0, fmt.Errorf("%s: for parameter %s: %q is not an octal mode like \"0644\"", fn, param, s)
		}
		m = m*8 + int(r-'0')
	}
	if m > maxFileMode {
		return 0, fmt.Errorf("%s: for parameter %s: mode %q out of range (want 0 to 0o7777)", fn, param, s)
	}
	return m, nil
}

// parseOwner reads a uid/gid argument: None (returns -1: let LXD choose)
// or a non-negative int.
func parseOwner(fn, param string, v starlark.Value) (int64, error) {
	switch x := v.(type) {
	case starlark.NoneType:
		return -1, nil
	case starlark.Int:
		id, ok := x.Int64()
		if !ok || id < 0 || id > 1<<32-1 {
			return 0, fmt.Errorf("%s: for parameter %s: %s out of range (want 0 to 4294967295)", fn, param, x)
		}
		return id, nil
	}
	return 0, fmt.Errorf("%s: for parameter %s: got %s, want int or None", fn, param, v.Type())
}

// maxPositional enforces Python's keyword-only marker (*): starlark's
// UnpackArgs would otherwise accept those parameters positionally.
func maxPositional(fn string, args starlark.Tuple, n int) error {
	if len(args) > n {
		return fmt.Errorf("%s: got %d positional arguments, want at most %d (the rest are keyword-only)", fn, len(args), n)
	}
	return nil
}

package repl

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/apidoc"
)

// wrapWidth is the width help text is wrapped to.
const wrapWidth = 78

// help(x=None) prints documentation from the registry: without an argument
// the predeclared names, else x's signature and description (x may also be
// a registry key as a string, help("Instance.start")).
func (s *session) help(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "x?", &x); err != nil {
		return nil, err
	}
	w := s.cfg.Out
	if x == nil {
		s.helpIndex(w)
		return starlark.None, nil
	}
	if key, ok := x.(starlark.String); ok {
		if e, ok := apidoc.Lookup(string(key)); ok {
			s.helpEntry(w, e, nil)
			return starlark.None, nil
		}
		fmt.Fprintf(w, "No documentation for %q. help() lists the predeclared names.\n", string(key))
		return starlark.None, nil
	}
	if e, ok := s.docs.Lookup(x); ok {
		s.helpEntry(w, e, x)
		return starlark.None, nil
	}
	helpUndocumented(w, x)
	return starlark.None, nil
}

// helpIndex lists the predeclared names with a line each.
func (s *session) helpIndex(w io.Writer) {
	fmt.Fprintln(w, "Predeclared names (help(x) describes x; Tab completes names and attributes):")
	fmt.Fprintln(w)
	names := s.predeclaredNames()
	width := 0
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		// The registry's entry for the name itself ("client") says more
		// than that of its value's type ("Client").
		e, ok := apidoc.Lookup(n)
		if !ok {
			e, ok = s.docs.Lookup(s.env[n])
		}
		summary := ""
		if ok {
			summary = e.Summary()
		}
		text := wrap(summary, strings.Repeat(" ", width+4))
		fmt.Fprintf(w, "  %-*s  %s", width, n, strings.TrimLeft(text, " "))
		if text == "" {
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintln(w)
	universe := make([]string, 0, len(starlark.Universe))
	for n := range starlark.Universe {
		universe = append(universe, n)
	}
	slices.Sort(universe)
	fmt.Fprintln(w, "Starlark builtins:")
	fmt.Fprint(w, wrap(strings.Join(universe, " "), "  "))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Ctrl-C interrupts a running statement; exit() or Ctrl-D leaves.")
}

// helpEntry prints an entry and, for modules, types and managers, their
// members. v is the value asked about (nil for a key), whose attributes
// complete the registry's list.
func (s *session) helpEntry(w io.Writer, e apidoc.Entry, v starlark.Value) {
	fmt.Fprintln(w, e.Signature())
	fmt.Fprintln(w)
	fmt.Fprint(w, wrap(e.Doc, "    "))
	switch e.Kind {
	case apidoc.Module, apidoc.Type, apidoc.Manager:
	default:
		return
	}
	members := apidoc.Members(e.Key)
	documented := map[string]bool{}
	var methods, attrs []apidoc.Entry
	for _, m := range members {
		documented[m.Name()] = true
		if m.Callable() {
			methods = append(methods, m)
		} else {
			attrs = append(attrs, m)
		}
	}
	// What the value has beyond the registry (a model's fields, a
	// method someone has just added): names only. AttrNames does no I/O.
	var others []string
	if ha, ok := v.(starlark.HasAttrs); ok {
		for _, n := range ha.AttrNames() {
			if !documented[n] {
				others = append(others, n)
			}
		}
	}
	if len(methods) > 0 {
		fmt.Fprintln(w, "\nMethods:")
		for _, m := range methods {
			fmt.Fprintf(w, "  %s%s", m.Name(), m.Params)
			if m.Returns != "" {
				fmt.Fprintf(w, " -> %s", m.Returns)
			}
			fmt.Fprintln(w)
			fmt.Fprint(w, wrap(m.Summary(), "      "))
		}
	}
	if len(attrs) > 0 {
		fmt.Fprintln(w, "\nAttributes:")
		for _, a := range attrs {
			fmt.Fprintf(w, "  %s", a.Name())
			if t := a.ValueType(); t != "" {
				fmt.Fprintf(w, ": %s", t)
			}
			fmt.Fprintln(w)
			fmt.Fprint(w, wrap(a.Summary(), "      "))
		}
	}
	if len(others) > 0 {
		label := "Other attributes"
		if _, isModel := v.(interface{ Dirty() bool }); isModel {
			label = "Fields"
		}
		fmt.Fprintf(w, "\n%s:\n", label)
		fmt.Fprint(w, wrap(strings.Join(others, ", "), "  "))
	}
}

// helpUndocumented describes a value the registry does not know: a
// function defined in Starlark (its parameters and docstring) or any other
// value (its type and attributes).
func helpUndocumented(w io.Writer, x starlark.Value) {
	if fn, ok := x.(*starlark.Function); ok {
		fmt.Fprintf(w, "%s%s\n", fn.Name(), params(fn))
		if doc := fn.Doc(); doc != "" {
			fmt.Fprintln(w)
			fmt.Fprint(w, wrap(doc, "    "))
		}
		return
	}
	fmt.Fprintf(w, "%s: a %s value, no documentation in the reference.\n", shorten(x.String(), 60), x.Type())
	if ha, ok := x.(starlark.HasAttrs); ok {
		if names := ha.AttrNames(); len(names) > 0 {
			fmt.Fprintln(w, "\nAttributes:")
			fmt.Fprint(w, wrap(strings.Join(names, ", "), "  "))
		}
	}
}

// params renders a Starlark function's parameter list. Param lists the
// positional, then keyword-only parameters, then *args and **kwargs.
func params(fn *starlark.Function) string {
	n, kwonly := fn.NumParams(), fn.NumKwonlyParams()
	nPos := n - kwonly
	if fn.HasVarargs() {
		nPos--
	}
	if fn.HasKwargs() {
		nPos--
	}
	param := func(i int) string {
		name, _ := fn.Param(i)
		if d := fn.ParamDefault(i); d != nil {
			name += "=" + d.String()
		}
		return name
	}
	var ps []string
	for i := 0; i < nPos; i++ {
		ps = append(ps, param(i))
	}
	if fn.HasVarargs() {
		name, _ := fn.Param(nPos + kwonly)
		ps = append(ps, "*"+name)
	} else if kwonly > 0 {
		ps = append(ps, "*")
	}
	for i := nPos; i < nPos+kwonly; i++ {
		ps = append(ps, param(i))
	}
	if fn.HasKwargs() {
		name, _ := fn.Param(n - 1)
		ps = append(ps, "**"+name)
	}
	return "(" + strings.Join(ps, ", ") + ")"
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// wrap fills text into lines of at most wrapWidth columns, each starting
// with prefix, and ends it with a newline.
func wrap(text, prefix string) string {
	var b strings.Builder
	line := prefix
	for _, word := range strings.Fields(text) {
		if len(line) > len(prefix) && len(line)+1+len(word) > wrapWidth {
			b.WriteString(line + "\n")
			line = prefix
		}
		if len(line) > len(prefix) {
			line += " "
		}
		line += word
	}
	if len(line) > len(prefix) {
		b.WriteString(line + "\n")
	}
	return b.String()
}

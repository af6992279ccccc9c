package desired

import (
	"fmt"
	"strconv"
	"strings"
)

// String reads like a code review, one object per line, in the order the
// changes run, so that two plans can be compared line by line:
//
//	plan: 1 to create, 1 to update, 1 to start
//	+ profile web
//	    config.limits.memory: "256MB"
//	~ instance web1
//	    config.limits.memory: "128MB" -> "256MB"
//	> instance web2: start (Stopped -> Running)
//	- instance old
//	# instance web3: type is "virtual-machine", the spec says "container": ...
//
// Values are written as Starlark writes them; (absent) is a key or field
// that is not there.
func (p *Plan) String() string {
	var b strings.Builder
	b.WriteString(p.Summary())
	for _, c := range p.Changes {
		b.WriteString("\n" + c.Headline())
		if c.Action != Create && c.Action != Update {
			continue
		}
		for _, f := range c.Fields {
			if c.Action == Create {
				fmt.Fprintf(&b, "\n    %s: %s", f.Path, format(f.New))
			} else {
				fmt.Fprintf(&b, "\n    %s: %s -> %s", f.Path, formatOrAbsent(f.Old), formatOrAbsent(f.New))
			}
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "\n# %s %s: %s", n.Kind, n.Name, n.Text)
	}
	return b.String()
}

// Summary is the plan's first line: "plan: 1 to create, 2 to update",
// "plan: no changes", with the notes counted.
func (p *Plan) Summary() string {
	counts := map[Action]int{}
	for _, c := range p.Changes {
		counts[c.Action]++
	}
	var parts []string
	for _, a := range actions {
		if n := counts[a]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", n, a))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no changes")
	}
	switch len(p.Notes) {
	case 0:
	case 1:
		parts = append(parts, "1 note")
	default:
		parts = append(parts, fmt.Sprintf("%d notes", len(p.Notes)))
	}
	return "plan: " + strings.Join(parts, ", ")
}

// Headline is the change's line in the plan: "+ profile web", "~
// instance web1", "> instance web2: start (Stopped -> Running)", "-
// instance old (Running: stopped first)".
func (c *Change) Headline() string {
	obj := c.Kind.String() + " " + c.Name
	switch c.Action {
	case Create:
		return "+ " + obj
	case Update:
		return "~ " + obj
	case Delete:
		if stopsFirst(c.Kind, c.From) {
			return "- " + obj + " (" + c.From + ": stopped first)"
		}
		return "- " + obj
	}
	return fmt.Sprintf("> %s: %s (%s -> %s)", obj, c.Action, c.From, c.To)
}

func formatOrAbsent(v any) string {
	if v == nil {
		return "(absent)"
	}
	return format(v)
}

// format writes a JSON-like value as Starlark's repr would: strings
// quoted, True/False, None, dict keys sorted.
func format(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return strconv.Quote(x)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, strconv.Quote(k)+": "+format(x[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = format(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

package apidoc

import (
	"bytes"
	"fmt"
	"strings"
)

//go:generate go run ./gen -o ../../docs/reference.md

// Markdown renders the registry as docs/reference.md: one section per
// group, a heading for each module, type and manager, and a line with the
// signature and description of every function, method and attribute.
func Markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# lxdstar reference\n\n")
	b.WriteString("<!-- Generated from internal/apidoc (go generate ./internal/apidoc). Do not edit. -->\n\n")
	b.WriteString("Every builtin, module member, manager, model and method of the Starlark API\n")
	b.WriteString("(the rules they all follow are in [guide.md](guide.md)). In the REPL, `help(x)`\n")
	b.WriteString("prints the same text.\n")
	b.WriteString("Signatures use Python notation; `*` starts keyword-only parameters.\n")
	for _, s := range reg().sections {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", s.title, s.intro)
		inList := false
		for _, e := range s.entries {
			switch e.Kind {
			case Module, Type, Manager:
				fmt.Fprintf(&b, "\n### `%s` (%s)\n\n%s\n", e.Key, e.Kind, mdText(e.Doc))
				inList = false
			default:
				if !inList {
					b.WriteString("\n")
					inList = true
				}
				fmt.Fprintf(&b, "- `%s` — %s\n", e.Signature(), mdText(e.Doc))
			}
		}
	}
	return b.Bytes()
}

// mdText escapes what Markdown would otherwise interpret in prose taken
// from the registry (which is plain text with occasional `code`).
func mdText(s string) string {
	return strings.NewReplacer("*", `\*`, "_", `\_`, "<", `\<`).Replace(s)
}

package repl

import (
	"slices"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/apidoc"
)

// keywords are completed at the start of a name like globals.
var keywords = []string{
	"and", "break", "continue", "def", "elif", "else", "for", "if", "in",
	"lambda", "load", "not", "or", "pass", "return", "while",
	"None", "True", "False",
}

// indent is what Tab inserts on a line holding only blanks.
const indent = "    "

// completer adapts the session's completion to the line editor.
type completer struct{ s *session }

// Do implements readline.AutoCompleter: the suffixes that complete the
// word before the cursor, and the length of that word.
func (c completer) Do(line []rune, pos int) ([][]rune, int) {
	before := string(line[:pos])
	if strings.TrimSpace(before) == "" {
		return [][]rune{[]rune(indent)}, 0
	}
	word, cands := c.s.complete(before)
	out := make([][]rune, len(cands))
	for i, cand := range cands {
		out[i] = []rune(cand[len(word):])
	}
	return out, len([]rune(word))
}

// complete returns the partial name at the end of text and the names that
// complete it, sorted. After a dotted chain (client.instances.g) they are
// the attributes of the value the chain names.
//
// Completion never performs I/O: it reads attributes only along the chain
// the user typed, never one the registry marks as doing I/O
// (client.resources), never calls anything, and completes a lazy value
// (client) from the registry until a statement has made it.
func (s *session) complete(text string) (word string, cands []string) {
	start := len(text)
	for start > 0 && (isIdentByte(text[start-1]) || text[start-1] == '.') {
		start--
	}
	chain := text[start:]
	if chain == "" || inString(text[:start]) || (chain[0] >= '0' && chain[0] <= '9') {
		return "", nil
	}
	if chain[0] == '.' {
		return "", nil // an attribute of a call result, literal or index: unknown without evaluating
	}
	parts := strings.Split(chain, ".")
	word = parts[len(parts)-1]

	globals := s.sess.Globals()
	var names []string
	if len(parts) == 1 {
		for k := range globals {
			names = append(names, k)
		}
		for k := range starlark.Universe {
			names = append(names, k)
		}
		names = append(names, keywords...)
	} else {
		n := s.root(globals, parts[0])
		for _, p := range parts[1 : len(parts)-1] {
			if n == nil {
				break
			}
			n = n.child(p)
		}
		if n == nil {
			return word, nil
		}
		names = n.names()
	}
	for _, name := range names {
		if strings.HasPrefix(name, word) {
			cands = append(cands, name)
		}
	}
	slices.Sort(cands)
	return word, slices.Compact(cands)
}

// root is the node of a global or universal name.
func (s *session) root(globals starlark.StringDict, name string) node {
	v, ok := globals[name]
	if !ok {
		v, ok = starlark.Universe[name]
	}
	if !ok {
		return nil
	}
	return valueNode{v: v, docs: s.docs}
}

// node is a step of a dotted chain during completion.
type node interface {
	names() []string
	child(name string) node // nil when unknown
}

// valueNode is a value in hand.
type valueNode struct {
	v    starlark.Value
	docs *apidoc.Index
}

func (n valueNode) names() []string {
	if l, ok := n.v.(*lazyValue); ok && l.loaded() == nil {
		return staticNode{l.spec.docKey}.names()
	}
	if ha, ok := n.v.(starlark.HasAttrs); ok {
		return ha.AttrNames()
	}
	return nil
}

func (n valueNode) child(name string) node {
	v := n.v
	if l, ok := v.(*lazyValue); ok {
		if v = l.loaded(); v == nil {
			return staticNode{l.spec.docKey}.child(name)
		}
	}
	ha, ok := v.(starlark.HasAttrs)
	if !ok {
		return nil
	}
	// An attribute whose read does I/O is described from the registry
	// instead of read.
	if key, ok := n.docs.KeyOf(v); ok {
		if e, ok := apidoc.Lookup(key + "." + name); ok && e.IO {
			return staticNode{key}.child(name)
		}
	}
	// The user typed this name: reading it is what the statement would
	// do, and attributes make no requests (docs/guide.md, “Fields and dirty
	// tracking”). Names need not
	// be listed by AttrNames: client.api takes any path segment.
	cv, err := ha.Attr(name)
	if err != nil || cv == nil {
		return nil
	}
	return valueNode{v: cv, docs: n.docs}
}

// staticNode is what the registry documents under a key, for values not
// made yet.
type staticNode struct{ key string }

func (n staticNode) names() []string {
	var names []string
	for _, e := range apidoc.Members(n.key) {
		names = append(names, e.Name())
	}
	return names
}

func (n staticNode) child(name string) node {
	e, ok := apidoc.Lookup(n.key + "." + name)
	if !ok || e.Of == "" || e.IO {
		return nil
	}
	return staticNode{e.Of}
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// inString reports whether text ends inside a string literal, roughly:
// an odd number of unescaped quotes of the kind that opened last.
func inString(text string) bool {
	var quote byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == 0 && c == '#':
			return true // a comment
		}
	}
	return quote != 0
}

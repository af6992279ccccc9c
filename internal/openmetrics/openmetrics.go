// Package openmetrics parses the text exposition that LXD and Incus serve
// at GET /1.0/metrics: OpenMetrics text (# HELP / # TYPE lines, samples,
// a final # EOF), which the older Prometheus text format also satisfies.
// It knows nothing of HTTP or Starlark.
//
// Parse accepts what servers send in practice and refuses the rest with the
// line number: blank lines, \r\n endings, a trailing comma in a label set and
// an exemplar after the value are accepted; a malformed name, label, value
// or anything after # EOF is an error. Work is linear in the input, so any
// byte string (the fuzz test tries them) ends in a result or an error.
package openmetrics

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Label is one name="value" pair of a sample, value unescaped.
type Label struct {
	Name, Value string
}

// Sample is one line of the exposition: a metric name with its labels (in
// the order the server sent them) and its value.
type Sample struct {
	Name   string
	Labels []Label
	Value  float64
	// Timestamp is the optional timestamp after the value, as sent
	// (OpenMetrics: seconds); HasTimestamp says whether there was one.
	Timestamp    float64
	HasTimestamp bool
}

// SyntaxError reports where the exposition is malformed.
type SyntaxError struct {
	Line int // 1-based
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse reads a whole exposition and returns its samples in order. Comment
// lines (# HELP, # TYPE, # UNIT and any other) carry nothing a sample needs
// and are skipped; # EOF ends the exposition.
func Parse(data []byte) ([]Sample, error) {
	var out []Sample
	eof := false
	text := string(data)
	for n := 1; text != ""; n++ {
		line, rest, _ := strings.Cut(text, "\n")
		text = rest
		line = strings.TrimSuffix(line, "\r")
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case eof:
			return nil, &SyntaxError{Line: n, Msg: "content after # EOF"}
		case line[0] == '#':
			if strings.TrimSpace(line) == "# EOF" {
				eof = true
			}
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, &SyntaxError{Line: n, Msg: err.Error()}
		}
		out = append(out, s)
	}
	return out, nil
}

// parseSample parses `name{label="value",...} value [timestamp] [# exemplar]`.
func parseSample(line string) (Sample, error) {
	var s Sample
	p := &scanner{s: line}
	name := p.name(isNameStart, isNameChar)
	if name == "" {
		return s, fmt.Errorf("want a metric name, got %q", p.rest(20))
	}
	s.Name = name
	if p.peek() == '{' {
		p.i++
		labels, err := p.labels()
		if err != nil {
			return s, fmt.Errorf("%s: %w", name, err)
		}
		s.Labels = labels
	}
	if p.i < len(p.s) && !isSpace(p.s[p.i]) {
		return s, fmt.Errorf("%s: want a space before the value, got %q", name, p.rest(20))
	}
	fields := strings.FieldsFunc(p.s[p.i:], func(r rune) bool { return r == ' ' || r == '\t' })
	// An exemplar (" # {trace_id=...} 1.0") may follow; it is not a sample.
	for i, f := range fields {
		if f == "#" {
			fields = fields[:i]
			break
		}
	}
	switch len(fields) {
	case 0:
		return s, fmt.Errorf("%s: no value", name)
	case 1, 2:
	default:
		return s, fmt.Errorf("%s: unexpected %q after the value", name, fields[2])
	}
	v, err := parseFloat(fields[0])
	if err != nil {
		return s, fmt.Errorf("%s: invalid value %q", name, fields[0])
	}
	s.Value = v
	if len(fields) == 2 {
		ts, err := parseFloat(fields[1])
		if err != nil {
			return s, fmt.Errorf("%s: invalid timestamp %q", name, fields[1])
		}
		s.Timestamp, s.HasTimestamp = ts, true
	}
	return s, nil
}

// parseFloat reads a sample value: decimal or exponent notation, and the
// special values +Inf, -Inf and NaN (in any case, as Go spells them too). A
// number too large for a float64 becomes ±Inf rather than an error.
func parseFloat(f string) (float64, error) {
	v, err := strconv.ParseFloat(f, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, err
	}
	return v, nil
}

// scanner walks one line.
type scanner struct {
	s string
	i int
}

func (p *scanner) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *scanner) space() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

// rest returns up to n bytes of what is left, for error messages.
func (p *scanner) rest(n int) string {
	r := p.s[p.i:]
	if len(r) > n {
		r = r[:n] + "…"
	}
	return r
}

// name reads an identifier whose first byte satisfies start and the others
// more; "" when there is none.
func (p *scanner) name(start, more func(byte) bool) string {
	j := p.i
	if j >= len(p.s) || !start(p.s[j]) {
		return ""
	}
	for j++; j < len(p.s) && more(p.s[j]); j++ {
	}
	n := p.s[p.i:j]
	p.i = j
	return n
}

// labels reads `name="value", ...}` (the '{' already consumed).
func (p *scanner) labels() ([]Label, error) {
	var out []Label
	for {
		p.space()
		if p.peek() == '}' {
			p.i++
			return out, nil
		}
		name := p.name(isLabelStart, isLabelChar)
		if name == "" {
			if p.i >= len(p.s) {
				return nil, errors.New("unterminated label set")
			}
			return nil, fmt.Errorf("want a label name, got %q", p.rest(20))
		}
		for _, l := range out {
			if l.Name == name {
				return nil, fmt.Errorf("duplicate label %q", name)
			}
		}
		p.space()
		if p.peek() != '=' {
			return nil, fmt.Errorf("label %s: want =", name)
		}
		p.i++
		p.space()
		if p.peek() != '"' {
			return nil, fmt.Errorf("label %s: want a quoted value", name)
		}
		p.i++
		value, err := p.quoted()
		if err != nil {
			return nil, fmt.Errorf("label %s: %w", name, err)
		}
		out = append(out, Label{Name: name, Value: value})
		p.space()
		switch p.peek() {
		case ',':
			p.i++
		case '}':
		case 0:
			return nil, errors.New("unterminated label set")
		default:
			return nil, fmt.Errorf("label %s: want , or } after the value", name)
		}
	}
}

// quoted reads a label value up to its closing quote (the opening one
// already consumed), undoing the format's escapes \\, \" and \n. Other
// escapes are kept as written, as Prometheus does.
func (p *scanner) quoted() (string, error) {
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.i >= len(p.s) {
				return "", errors.New("unterminated value")
			}
			e := p.s[p.i]
			p.i++
			switch e {
			case '\\', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated value")
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func isLabelStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isLabelChar(c byte) bool { return isLabelStart(c) || '0' <= c && c <= '9' }

func isNameStart(c byte) bool { return isLabelStart(c) || c == ':' }

func isNameChar(c byte) bool { return isLabelChar(c) || c == ':' }

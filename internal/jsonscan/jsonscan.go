// Package jsonscan finds the parts of a JSON text without decoding them:
// the members of an object and the elements of an array, each as the slice
// of the text that holds it, checked on the way to be JSON that
// encoding/json accepts. Decoders built on it turn only the parts they need
// into values: a listing of a thousand instances is checked in one pass,
// and an instance's fields are decoded when a script reads them.
package jsonscan

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth bounds nesting, as encoding/json does, so hostile input cannot
// exhaust the stack.
const MaxDepth = 10000

// Error is a syntax error at an offset of the text.
type Error struct {
	Offset int
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

func fail(pos int, msg string) error { return &Error{Offset: pos, Msg: msg} }

// Space returns the offset of the first byte at or after pos that is not
// JSON white space.
func Space(data []byte, pos int) int {
	for pos < len(data) {
		switch data[pos] {
		case ' ', '\t', '\n', '\r':
			pos++
		default:
			return pos
		}
	}
	return pos
}

// Value checks the JSON value that starts at data[pos] and returns the
// offset just after it. depth is the number of enclosing arrays and
// objects.
func Value(data []byte, pos, depth int) (int, error) {
	if depth >= MaxDepth {
		return pos, fail(pos, "nested too deeply")
	}
	if pos >= len(data) {
		return pos, fail(pos, "unexpected end of input")
	}
	switch c := data[pos]; {
	case c == '{':
		return object(data, pos, depth, nil)
	case c == '[':
		return array(data, pos, depth, nil)
	case c == '"':
		end, _, err := String(data, pos)
		return end, err
	case c == 't':
		return literal(data, pos, "true")
	case c == 'f':
		return literal(data, pos, "false")
	case c == 'n':
		return literal(data, pos, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return Number(data, pos)
	default:
		return pos, fail(pos, fmt.Sprintf("unexpected %q", c))
	}
}

func literal(data []byte, pos int, word string) (int, error) {
	if !bytes.HasPrefix(data[pos:], []byte(word)) {
		return pos, fail(pos, "invalid literal")
	}
	return pos + len(word), nil
}

// String checks the string literal that starts at data[pos] (a quote) and
// returns the offset just after it, and whether it is plain: no escapes and
// valid UTF-8, so that its content is the bytes between the quotes.
func String(data []byte, pos int) (end int, plain bool, err error) {
	start := pos
	pos++ // opening quote
	plain = true
	ascii := true
	for pos < len(data) {
		// A tight loop over the bytes that need no look: most of a
		// listing is plain strings.
		for pos < len(data) && !special[data[pos]] {
			pos++
		}
		if pos >= len(data) {
			break
		}
		c := data[pos]
		switch {
		case c == '"':
			if !ascii && plain {
				plain = utf8.Valid(data[start+1 : pos])
			}
			return pos + 1, plain, nil
		case c == '\\':
			plain = false
			if pos+1 >= len(data) {
				return pos, false, fail(pos, "unterminated string")
			}
			switch data[pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				pos += 2
			case 'u':
				if pos+6 > len(data) || !isHex4(data[pos+2:pos+6]) {
					return pos, false, fail(pos, "invalid \\u escape in string")
				}
				pos += 6
			default:
				return pos, false, fail(pos, "invalid escape in string")
			}
		case c < 0x20:
			return pos, false, fail(pos, "control character in string")
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			pos++
		}
	}
	return pos, false, fail(start, "unterminated string")
}

// special marks the bytes that end a plain run inside a string: a quote,
// a backslash, a control character, a byte of a multi-byte UTF-8
// sequence. It is never written.
var special = func() (t [256]bool) {
	for c := range t {
		t[c] = c == '"' || c == '\\' || c < 0x20 || c >= utf8.RuneSelf
	}
	return t
}()

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// Number checks the number that starts at data[pos] and returns the offset
// just after it. A number with a fraction or an exponent must fit a
// float64, as decoders need (encoding/json's Valid accepts 1e400, its
// Unmarshal refuses it); integers of any size pass.
func Number(data []byte, pos int) (int, error) {
	start := pos
	float := false
	if pos < len(data) && data[pos] == '-' {
		pos++
	}
	switch {
	case pos < len(data) && data[pos] == '0':
		pos++
	case pos < len(data) && data[pos] >= '1' && data[pos] <= '9':
		pos = digits(data, pos)
	default:
		return pos, fail(start, "invalid number")
	}
	if pos < len(data) && data[pos] == '.' {
		float = true
		if pos++; pos >= len(data) || data[pos] < '0' || data[pos] > '9' {
			return pos, fail(start, "invalid number")
		}
		pos = digits(data, pos)
	}
	if pos < len(data) && (data[pos] == 'e' || data[pos] == 'E') {
		float = true
		pos++
		if pos < len(data) && (data[pos] == '+' || data[pos] == '-') {
			pos++
		}
		if pos >= len(data) || data[pos] < '0' || data[pos] > '9' {
			return pos, fail(start, "invalid number")
		}
		pos = digits(data, pos)
	}
	if float {
		if _, err := strconv.ParseFloat(string(data[start:pos]), 64); err != nil {
			return pos, fail(start, "number out of range")
		}
	}
	return pos, nil
}

func digits(data []byte, pos int) int {
	for pos < len(data) && data[pos] >= '0' && data[pos] <= '9' {
		pos++
	}
	return pos
}

// object checks the object at data[pos] ('{'), calling member (when not
// nil) with each member's key literal and value.
func object(data []byte, pos, depth int, member func(key, value []byte) error) (int, error) {
	return composite(data, pos, '}', "object", func(pos int) (int, error) {
		if pos >= len(data) || data[pos] != '"' {
			return pos, fail(pos, "expected an object key")
		}
		kend, _, err := String(data, pos)
		if err != nil {
			return kend, err
		}
		key := data[pos:kend]
		pos = Space(data, kend)
		if pos >= len(data) || data[pos] != ':' {
			return pos, fail(pos, "expected ':'")
		}
		pos = Space(data, pos+1)
		vend, err := Value(data, pos, depth+1)
		if err != nil || member == nil {
			return vend, err
		}
		return vend, member(key, data[pos:vend])
	})
}

// array checks the array at data[pos] ('['), calling elem (when not nil)
// with each element.
func array(data []byte, pos, depth int, elem func(value []byte) error) (int, error) {
	return composite(data, pos, ']', "array", func(pos int) (int, error) {
		end, err := Value(data, pos, depth+1)
		if err != nil || elem == nil {
			return end, err
		}
		return end, elem(data[pos:end])
	})
}

// composite walks the object or array (what) that opens at data[pos] and
// closes with closer: item checks the member or element starting at its
// position and returns where it ends; commas separate them.
func composite(data []byte, pos int, closer byte, what string, item func(pos int) (int, error)) (int, error) {
	pos = Space(data, pos+1)
	if pos < len(data) && data[pos] == closer {
		return pos + 1, nil
	}
	for {
		end, err := item(pos)
		if err != nil {
			return end, err
		}
		pos = Space(data, end)
		if pos >= len(data) {
			return pos, fail(pos, "unterminated "+what)
		}
		switch data[pos] {
		case ',':
			pos = Space(data, pos+1)
		case closer:
			return pos + 1, nil
		default:
			return pos, fail(pos, "expected ',' or '"+string(closer)+"'")
		}
	}
}

// whole checks that data is one value of the kind open starts, with only
// white space around it, and walks it with walk.
func whole(data []byte, open byte, what string, walk func(pos int) (int, error)) error {
	pos := Space(data, 0)
	if pos >= len(data) || data[pos] != open {
		return fail(pos, "expected "+what)
	}
	end, err := walk(pos)
	if err != nil {
		return err
	}
	if end = Space(data, end); end != len(data) {
		return fail(end, "trailing data")
	}
	return nil
}

// Object checks that data is one JSON object and calls member with the key
// literal (quotes included: see Unquote) and the value of each member, in
// the order of the text. An error from member stops the walk and is
// returned.
func Object(data []byte, member func(key, value []byte) error) error {
	return whole(data, '{', "an object", func(pos int) (int, error) { return object(data, pos, 0, member) })
}

// Array checks that data is one JSON array and calls elem with each element.
func Array(data []byte, elem func(value []byte) error) error {
	return whole(data, '[', "an array", func(pos int) (int, error) { return array(data, pos, 0, elem) })
}

// Skip returns the offset just after the JSON value that starts at
// data[pos], without checking what is inside it: it only follows strings
// (whose content it jumps over with a fast byte search) and brackets. It
// is for text that its reader will check anyway, such as the metadata of
// an envelope; on text that is not JSON it returns some offset or an
// error, never reads out of bounds.
func Skip(data []byte, pos int) (int, error) {
	start := pos
	if pos >= len(data) {
		return pos, fail(pos, "unexpected end of input")
	}
	switch data[pos] {
	case '"':
		return skipString(data, pos)
	case '{', '[':
		depth := 0
		for pos < len(data) {
			switch data[pos] {
			case '"':
				end, err := skipString(data, pos)
				if err != nil {
					return end, err
				}
				pos = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return pos + 1, nil
				}
			}
			pos++
		}
		return pos, fail(start, "unterminated "+map[byte]string{'{': "object", '[': "array"}[data[start]])
	}
	// A number or a literal: up to the next delimiter.
	for pos < len(data) {
		switch data[pos] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if pos == start {
				return pos, fail(pos, fmt.Sprintf("unexpected %q", data[pos]))
			}
			return pos, nil
		}
		pos++
	}
	return pos, nil
}

// skipString returns the offset just after the string literal at data[pos].
func skipString(data []byte, pos int) (int, error) {
	start := pos
	pos++
	for {
		i := bytes.IndexByte(data[pos:], '"')
		if i < 0 {
			return len(data), fail(start, "unterminated string")
		}
		pos += i
		// The quote is escaped when an odd number of backslashes
		// precede it.
		n := 0
		for pos-1-n > start && data[pos-1-n] == '\\' {
			n++
		}
		pos++
		if n%2 == 0 {
			return pos, nil
		}
	}
}

// Valid reports whether data is one JSON value, white space around it
// allowed, and the error when it is not.
func Valid(data []byte) error {
	pos := Space(data, 0)
	end, err := Value(data, pos, 0)
	if err != nil {
		return err
	}
	if end = Space(data, end); end != len(data) {
		return fail(end, "trailing data")
	}
	return nil
}

// Unquote returns the content of a string literal that String accepted,
// as encoding/json decodes it: escapes resolved, UTF-16 surrogate pairs
// joined, and each lone surrogate or byte of invalid UTF-8 replaced by
// U+FFFD.
func Unquote(lit []byte) string {
	s := lit[1 : len(lit)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		return string(s)
	}
	var b strings.Builder // its buffer becomes the string: one copy
	b.Grow(len(s))
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			switch e := s[i+1]; e {
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				r := hex4(s[i+2 : i+6])
				i += 6
				if utf16.IsSurrogate(r) {
					if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if r2 := utf16.DecodeRune(r, hex4(s[i+2:i+6])); r2 != utf8.RuneError {
							b.WriteRune(r2)
							i += 6
							continue
						}
					}
					r = utf8.RuneError
				}
				b.WriteRune(r)
				continue
			default: // '"', '\\', '/'
				b.WriteByte(e)
			}
			i += 2
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteRune(utf8.RuneError)
			} else {
				b.Write(s[i : i+size])
			}
			i += size
		}
	}
	return b.String()
}

// hex4 decodes four hex digits (String checked them).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// Package textcodec converts between text and the bytes a program reads
// and writes, in the few encodings a command's input and output come in:
// UTF-8, Latin-1 and ASCII. Decoding never fails: bytes the encoding
// cannot represent become U+FFFD, as Python's errors="replace" does.
package textcodec

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// A Codec is one encoding. The zero value is UTF-8.
type Codec int

const (
	UTF8 Codec = iota
	Latin1
	ASCII
)

// Lookup finds a codec by one of the names Python knows it by ("utf-8",
// "latin-1", "iso-8859-1", "ascii", ...), in any case, with _ or -.
func Lookup(name string) (Codec, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-") {
	case "utf-8", "utf8", "u8":
		return UTF8, nil
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "8859", "l1", "cp819":
		return Latin1, nil
	case "ascii", "us-ascii", "646":
		return ASCII, nil
	}
	return 0, fmt.Errorf("unsupported encoding %q (want utf-8, latin-1 or ascii)", name)
}

// Encode encodes s, failing on the first character c cannot represent.
func (c Codec) Encode(s string) ([]byte, error) {
	if c == UTF8 {
		return []byte(s), nil
	}
	limit := rune(0xFF)
	if c == ASCII {
		limit = 0x7F
	}
	out := make([]byte, 0, len(s))
	for i, r := range s {
		if r > limit {
			return nil, fmt.Errorf("character %q at offset %d cannot be encoded in %s", r, i, c)
		}
		out = append(out, byte(r))
	}
	return out, nil
}

func (c Codec) String() string {
	return [...]string{"utf-8", "latin-1", "ascii"}[c]
}

// A Decoder decodes a stream chunk by chunk: a UTF-8 character split
// between two chunks is held back until its end arrives.
type Decoder struct {
	Codec   Codec
	pending []byte
}

// Decode decodes the next chunk p; final says it is the last, so nothing
// is held back.
func (d *Decoder) Decode(p []byte, final bool) string {
	switch d.Codec {
	case Latin1:
		return latin1(p)
	case ASCII:
		return ascii(p)
	}
	data := p
	if len(d.pending) > 0 {
		data = append(d.pending, p...)
		d.pending = nil
	}
	if !final {
		if cut := incompleteSuffix(data); cut < len(data) {
			d.pending = bytes.Clone(data[cut:])
			data = data[:cut]
		}
	}
	if utf8.Valid(data) {
		return string(data)
	}
	return replaceInvalid(data)
}

// incompleteSuffix returns where a trailing, not yet complete UTF-8
// sequence starts, or len(data) if there is none.
func incompleteSuffix(data []byte) int {
	for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax; i-- {
		if utf8.RuneStart(data[i]) {
			if !utf8.FullRune(data[i:]) {
				return i
			}
			break
		}
	}
	return len(data)
}

// replaceInvalid decodes UTF-8, turning each invalid byte into U+FFFD.
func replaceInvalid(data []byte) string {
	var b strings.Builder
	b.Grow(len(data) + 16)
	for len(data) > 0 {
		r, size := utf8.DecodeRune(data)
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.Write(data[:size])
		}
		data = data[size:]
	}
	return b.String()
}

func latin1(p []byte) string {
	var b strings.Builder
	b.Grow(len(p) + len(p)/4)
	for _, c := range p {
		b.WriteRune(rune(c))
	}
	return b.String()
}

func ascii(p []byte) string {
	var b strings.Builder
	b.Grow(len(p))
	for _, c := range p {
		if c < utf8.RuneSelf {
			b.WriteByte(c)
		} else {
			b.WriteRune(utf8.RuneError)
		}
	}
	return b.String()
}

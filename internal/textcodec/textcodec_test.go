package textcodec

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLookup(t *testing.T) {
	for name, want := range map[string]Codec{
		"utf-8": UTF8, "UTF8": UTF8, " utf_8 ": UTF8,
		"latin-1": Latin1, "ISO-8859-1": Latin1, "latin_1": Latin1,
		"ascii": ASCII, "US-ASCII": ASCII,
	} {
		c, err := Lookup(name)
		require.NoError(t, err, name)
		assert.Equal(t, want, c, name)
	}
	_, err := Lookup("klingon")
	assert.EqualError(t, err, `unsupported encoding "klingon" (want utf-8, latin-1 or ascii)`)
}

func TestEncode(t *testing.T) {
	b, err := Latin1.Encode("é")
	require.NoError(t, err)
	assert.Equal(t, []byte{0xe9}, b)
	b, err = UTF8.Encode("é")
	require.NoError(t, err)
	assert.Equal(t, []byte("é"), b)
	_, err = ASCII.Encode("aé")
	assert.EqualError(t, err, `character 'é' at offset 1 cannot be encoded in ascii`)
	_, err = Latin1.Encode("€")
	assert.EqualError(t, err, `character '€' at offset 0 cannot be encoded in latin-1`)
}

// A character split between chunks comes out whole, once; invalid bytes
// and a character cut off at the end become U+FFFD.
func TestDecodeChunks(t *testing.T) {
	d := Decoder{}
	euro := []byte("€") // 3 bytes
	assert.Equal(t, "a", d.Decode(append([]byte("a"), euro[:1]...), false))
	assert.Equal(t, "", d.Decode(euro[1:2], false))
	assert.Equal(t, "€b", d.Decode(append(euro[2:], 'b'), false))
	assert.Equal(t, "x\uFFFDy", d.Decode([]byte("x\xffy"), false))
	assert.Equal(t, "\uFFFD\uFFFD", d.Decode(euro[:2], true), "cut off at the end: each byte")

	l := Decoder{Codec: Latin1}
	assert.Equal(t, "Ã©xÿ", l.Decode([]byte("\xc3\xa9x\xff"), false))
	a := Decoder{Codec: ASCII}
	assert.Equal(t, "a\uFFFD", a.Decode([]byte("a\xe9"), true))
}

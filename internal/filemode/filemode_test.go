package filemode

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]int{
		"0644": 0o644, "644": 0o644, "0o755": 0o755, "0O755": 0o755, "04755": 0o4755,
		"7": 0o7, "0": 0, "007777": 0o7777, "000000000007": 0o7,
	} {
		got, err := Parse(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	for in, want := range map[string]string{
		"":              `"" is not an octal mode like "0644"`,
		"0o":            `"0o" is not an octal mode like "0644"`,
		"0x1ff":         `"0x1ff" is not an octal mode like "0644"`,
		"rw-r--r--":     `"rw-r--r--" is not an octal mode like "0644"`,
		"0999":          `"0999" is not an octal mode like "0644"`,
		"-644":          `"-644" is not an octal mode like "0644"`,
		" 644":          `" 644" is not an octal mode like "0644"`,
		"0000000000007": `"0000000000007" is not an octal mode like "0644"`,
		"17777":         `mode "17777" out of range (want 0 to 0o7777)`,
	} {
		_, err := Parse(in)
		assert.EqualError(t, err, want, "%q", in)
	}
}

// What Format renders, LXD reads as the same mode, and so does Parse.
func TestFormat(t *testing.T) {
	assert.Equal(t, "0644", Format(0o644))
	assert.Equal(t, "0000", Format(0))
	assert.Equal(t, "4755", Format(0o4755))
	for m := 0; m <= Max; m++ {
		got, err := Parse(Format(m))
		if err != nil || got != m {
			t.Fatalf("%o -> %q -> %o, %v", m, Format(m), got, err)
		}
	}
}

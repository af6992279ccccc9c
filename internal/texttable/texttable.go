// Package texttable lays out rows of text in aligned columns, as the lxc
// CLI's `--format compact` does: no borders, two blanks before, between and
// after the columns, headers centred, cells left-aligned. Widths are
// display widths: wide East Asian characters and emoji count two columns,
// combining marks none.
package texttable

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Render returns header and rows laid out in columns, one line per text
// line (a cell containing newlines spans several lines of its row), with
// trailing blanks removed and no final newline. Rows shorter than header
// are padded with empty cells; longer ones are cut to it.
func Render(header []string, rows [][]string) string {
	cols := len(header)
	split := func(row []string) [][]string {
		out := make([][]string, cols)
		for i := range out {
			if i < len(row) {
				out[i] = strings.Split(row[i], "\n")
			} else {
				out[i] = []string{""}
			}
		}
		return out
	}
	cells := make([][][]string, 0, len(rows)+1)
	cells = append(cells, split(header))
	for _, r := range rows {
		cells = append(cells, split(r))
	}
	widths := make([]int, cols)
	for _, row := range cells {
		for i, lines := range row {
			for _, l := range lines {
				widths[i] = max(widths[i], Width(l))
			}
		}
	}
	var b strings.Builder
	for r, row := range cells {
		height := 0
		for _, lines := range row {
			height = max(height, len(lines))
		}
		for h := 0; h < height; h++ {
			var line strings.Builder
			for i, lines := range row {
				text := ""
				if h < len(lines) {
					text = lines[h]
				}
				gap := widths[i] - Width(text)
				left := 0
				if r == 0 {
					left = gap / 2 // headers are centred, the odd blank on the right
				}
				line.WriteString("  ")
				line.WriteString(strings.Repeat(" ", left))
				line.WriteString(text)
				line.WriteString(strings.Repeat(" ", gap-left))
			}
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(strings.TrimRight(line.String(), " "))
		}
	}
	return b.String()
}

// Width is the number of terminal columns s takes.
func Width(s string) int {
	w := 0
	for _, r := range s {
		w += runeWidth(r)
	}
	return w
}

func runeWidth(r rune) int {
	switch {
	case r == utf8.RuneError:
		return 1
	case r < 0x20 || (r >= 0x7f && r < 0xa0):
		return 0 // control characters
	case r == 0x200b || r == 0x200c || r == 0x200d || r == 0x2060 || r == 0xfeff:
		return 0 // zero-width spaces and joiners
	case unicode.In(r, unicode.Mn, unicode.Me):
		return 0 // combining marks, variation selectors
	case isWide(r):
		return 2
	}
	return 1
}

// wide lists the East Asian Wide and Fullwidth blocks and the emoji that
// terminals draw two columns wide (Unicode's EastAsianWidth.txt, condensed
// to whole blocks), sorted.
var wide = [][2]rune{
	{0x1100, 0x115f}, {0x231a, 0x231b}, {0x2329, 0x232a}, {0x23e9, 0x23ec}, {0x23f0, 0x23f0},
	{0x23f3, 0x23f3}, {0x25fd, 0x25fe}, {0x2614, 0x2615}, {0x2648, 0x2653}, {0x267f, 0x267f},
	{0x2693, 0x2693}, {0x26a1, 0x26a1}, {0x26aa, 0x26ab}, {0x26bd, 0x26be}, {0x26c4, 0x26c5},
	{0x26ce, 0x26ce}, {0x26d4, 0x26d4}, {0x26ea, 0x26ea}, {0x26f2, 0x26f3}, {0x26f5, 0x26f5},
	{0x26fa, 0x26fa}, {0x26fd, 0x26fd}, {0x2705, 0x2705}, {0x270a, 0x270b}, {0x2728, 0x2728},
	{0x274c, 0x274c}, {0x274e, 0x274e}, {0x2753, 0x2755}, {0x2757, 0x2757}, {0x2795, 0x2797},
	{0x27b0, 0x27b0}, {0x27bf, 0x27bf}, {0x2b1b, 0x2b1c}, {0x2b50, 0x2b50}, {0x2b55, 0x2b55},
	{0x2e80, 0x303e}, {0x3041, 0x33ff}, {0x3400, 0x4dbf}, {0x4e00, 0x9fff}, {0xa000, 0xa4cf},
	{0xa960, 0xa97f}, {0xac00, 0xd7a3}, {0xf900, 0xfaff}, {0xfe10, 0xfe19}, {0xfe30, 0xfe6f},
	{0xff00, 0xff60}, {0xffe0, 0xffe6}, {0x16fe0, 0x16fe4}, {0x17000, 0x18cff}, {0x1b000, 0x1b2ff},
	{0x1f004, 0x1f004}, {0x1f0cf, 0x1f0cf}, {0x1f18e, 0x1f18e}, {0x1f191, 0x1f19a}, {0x1f200, 0x1f251},
	{0x1f300, 0x1f320}, {0x1f32d, 0x1f335}, {0x1f337, 0x1f37c}, {0x1f37e, 0x1f393}, {0x1f3a0, 0x1f3ca},
	{0x1f3cf, 0x1f3d3}, {0x1f3e0, 0x1f3f0}, {0x1f3f4, 0x1f3f4}, {0x1f3f8, 0x1f43e}, {0x1f440, 0x1f440},
	{0x1f442, 0x1f4fc}, {0x1f4ff, 0x1f53d}, {0x1f54b, 0x1f54e}, {0x1f550, 0x1f567}, {0x1f57a, 0x1f57a},
	{0x1f595, 0x1f596}, {0x1f5a4, 0x1f5a4}, {0x1f5fb, 0x1f64f}, {0x1f680, 0x1f6c5}, {0x1f6cc, 0x1f6cc},
	{0x1f6d0, 0x1f6d2}, {0x1f6d5, 0x1f6d7}, {0x1f6dc, 0x1f6df}, {0x1f6eb, 0x1f6ec}, {0x1f6f4, 0x1f6fc},
	{0x1f7e0, 0x1f7eb}, {0x1f7f0, 0x1f7f0}, {0x1f90c, 0x1f93a}, {0x1f93c, 0x1f945}, {0x1f947, 0x1f9ff},
	{0x1fa70, 0x1faff}, {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
}

func isWide(r rune) bool {
	if r < wide[0][0] {
		return false
	}
	lo, hi := 0, len(wide)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case r < wide[m][0]:
			hi = m
		case r > wide[m][1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

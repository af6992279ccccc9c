package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// A targeted run (-only, with -merge) measures some workloads again
// without the hour of the full run; mergeReport puts what it measured into
// the full report and leaves the rest as it was, so that the report says
// at each section when it was measured.

// section is one "## " or "### " section of a report: its heading line
// and the lines up to the next such heading.
type section struct {
	level   int
	heading string
	body    []string
}

func splitSections(doc string) []*section {
	var out []*section
	cur := &section{} // the title and everything before the first heading
	for _, line := range strings.Split(strings.TrimRight(doc, "\n"), "\n") {
		level := 0
		switch {
		case strings.HasPrefix(line, "## "):
			level = 2
		case strings.HasPrefix(line, "### "):
			level = 3
		}
		if level == 0 {
			cur.body = append(cur.body, line)
			continue
		}
		out = append(out, cur)
		cur = &section{level: level, heading: line}
	}
	return append(out, cur)
}

func joinSections(secs []*section) string {
	var b strings.Builder
	for _, s := range secs {
		if s.heading != "" {
			b.WriteString(s.heading + "\n")
		}
		for _, l := range s.body {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// profileKey is the workload a profile section is about ("" for other
// sections).
func profileKey(s *section) string {
	k, _ := strings.CutPrefix(s.heading, "### lxdstar, workload ")
	if k == s.heading {
		return ""
	}
	return k
}

const targetedNote = "Some sections were measured again later, in targeted runs of a few workloads (`go run ./bench -only …`): each of them says when, and at which commit."

// mergeReport returns old, a whole report, with what fresh, the report of
// a targeted run of the workloads keys, measured: their result sections
// (stamped), their rows of the targets table, their columns of the peak
// memory table, and their profiles (an old profile of a workload whose
// target is now met goes).
func mergeReport(old, fresh string, keys []string, stamp string) (string, error) {
	olds, news := splitSections(old), splitSections(fresh)
	find := func(secs []*section, heading string) int {
		return slices.IndexFunc(secs, func(s *section) bool { return s.heading == heading })
	}
	if find(olds, "## Results") < 0 || find(olds, "## Targets") < 0 {
		return "", fmt.Errorf("the report to merge into has no Results or Targets section")
	}
	rerun := map[string]bool{}
	for _, k := range keys {
		rerun[k] = true
	}
	// Old profiles of the workloads run again go; the new ones come in
	// after the last remaining profile.
	olds = slices.DeleteFunc(olds, func(s *section) bool { return rerun[profileKey(s)] })
	inResults := false
	var profiles []*section
	for _, s := range news {
		if s.level == 2 {
			inResults = s.heading == "## Results"
		}
		switch {
		case s.heading == "## Targets", s.heading == "### 14. Peak memory":
			i := find(olds, s.heading)
			if i < 0 {
				return "", fmt.Errorf("the report to merge into has no %q", s.heading)
			}
			mode := byRow // a target's figures and verdict go together
			if s.heading == "### 14. Peak memory" {
				mode = byCell // the run measured some columns
			}
			olds[i].body = mergeTables(olds[i].body, s.body, mode)
		case profileKey(s) != "":
			profiles = append(profiles, &section{level: 3, heading: s.heading, body: stamped(s.body, stamp)})
		case inResults && s.level == 3:
			i := find(olds, s.heading)
			if i < 0 {
				return "", fmt.Errorf("the report to merge into has no %q", s.heading)
			}
			olds[i].body = stamped(mergeTables(olds[i].body, s.body, wholeSection), stamp)
		}
	}
	if len(profiles) > 0 {
		last := slices.IndexFunc(olds, func(s *section) bool { return strings.HasPrefix(s.heading, "## Profiles") })
		if last < 0 {
			olds = append(olds, &section{level: 2, heading: "## Profiles of the missed targets", body: []string{""}})
			last = len(olds) - 1
		}
		for last+1 < len(olds) && olds[last+1].level == 3 {
			last++
		}
		olds = slices.Insert(olds, last+1, profiles...)
	}
	head := olds[0]
	if !slices.Contains(head.body, targetedNote) {
		for i, l := range head.body {
			if strings.HasPrefix(l, "Measured on ") {
				head.body = slices.Insert(head.body, i+1, "", targetedNote)
				break
			}
		}
	}
	return joinSections(olds), nil
}

// stamped puts the stamp at the top of a section's body, in place of an
// older one.
func stamped(body []string, stamp string) []string {
	for len(body) > 0 && (body[0] == "" || strings.HasPrefix(body[0], "_Measured again on ")) {
		body = body[1:]
	}
	return append([]string{"", "_" + stamp + "_", ""}, body...)
}

// How mergeTables merges.
const (
	// wholeSection: the new body, its tables keeping the old rows the
	// new run did not measure (the 100-instance row of the per-instance
	// table when only the 1000-instance listing ran).
	wholeSection = iota
	// byRow: the old body, the rows of its tables replaced by the new
	// ones, and new rows added.
	byRow
	// byCell: as byRow, but cell by cell; a new "—" (nothing measured)
	// never replaces a value.
	byCell
)

// mergeTables merges the tables of oldBody and newBody that have the same
// header, matching rows by their first cell (see the modes above). A
// targets row about a workload the run left out is never taken.
func mergeTables(oldBody, newBody []string, mode int) []string {
	tables := func(body []string) map[string][][]string {
		out := map[string][][]string{}
		for i := 0; i < len(body); i++ {
			if !strings.HasPrefix(body[i], "|") || i > 0 && strings.HasPrefix(body[i-1], "|") {
				continue
			}
			var rows [][]string
			for j := i + 2; j < len(body) && strings.HasPrefix(body[j], "|"); j++ {
				rows = append(rows, cells(body[j]))
			}
			out[body[i]] = rows
		}
		return out
	}
	if mode == wholeSection {
		oldT := tables(oldBody)
		return rewriteTables(newBody, func(header string, rows [][]string) [][]string {
			return overlay(oldT[header], rows, mode)
		})
	}
	newT := tables(newBody)
	return rewriteTables(oldBody, func(header string, rows [][]string) [][]string {
		return overlay(rows, newT[header], mode)
	})
}

// overlay puts the rows of top over those of base (by first cell): for
// wholeSection top's rows, then base's others; else base's rows with
// top's rows or cells put in, then top's new rows.
func overlay(base, top [][]string, mode int) [][]string {
	index := func(rows [][]string, key string) int {
		return slices.IndexFunc(rows, func(r []string) bool { return r[0] == key })
	}
	var out [][]string
	if mode == wholeSection {
		out = append(out, top...)
		for _, r := range base {
			if index(top, r[0]) < 0 {
				out = append(out, r)
			}
		}
		return out
	}
	for _, r := range base {
		merged := slices.Clone(r)
		if j := index(top, r[0]); j >= 0 && !notRun(top[j]) {
			for c, v := range top[j] {
				if c < len(merged) && (mode == byRow || v != "—") {
					merged[c] = v
				}
			}
		}
		out = append(out, merged)
	}
	for _, r := range top {
		if index(base, r[0]) < 0 && !notRun(r) {
			out = append(out, r)
		}
	}
	return out
}

// notRun reports whether a row of the targets table has no figures from
// the targeted run: about a workload it left out ("n/a (workload not
// run)", "n/a (not run)" for the soak, "n/a (not measured for both)" for a
// peak-memory comparison of workloads it did not run), or one it could not
// measure. Such a row keeps the figures it had.
func notRun(row []string) bool {
	return strings.HasPrefix(row[len(row)-1], "n/a")
}

// rewriteTables replaces the rows of each table in body by what fn makes
// of them.
func rewriteTables(body []string, fn func(header string, rows [][]string) [][]string) []string {
	var out []string
	for i := 0; i < len(body); i++ {
		if !strings.HasPrefix(body[i], "|") || i+1 >= len(body) {
			out = append(out, body[i])
			continue
		}
		header := body[i]
		var rows [][]string
		j := i + 2
		for ; j < len(body) && strings.HasPrefix(body[j], "|"); j++ {
			rows = append(rows, cells(body[j]))
		}
		out = append(out, header, body[i+1])
		for _, r := range fn(header, rows) {
			out = append(out, "| "+strings.Join(r, " | ")+" |")
		}
		i = j - 1
	}
	return out
}

// cells splits a table row; "\|" is a bar inside a cell.
func cells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	var out []string
	var cur strings.Builder
	for i := 0; i < len(row); i++ {
		switch {
		case row[i] == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteString(`\|`)
			i++
		case row[i] == '|':
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(row[i])
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

// targetedStamp says when and how a targeted run measured its sections.
func targetedStamp(r *Results) string {
	only := slices.Sorted(maps.Keys(r.Config.Only))
	return fmt.Sprintf("Measured again on %s at commit %s, in a targeted run (`go run ./bench -only %s`, %s; load average %s at its start), not with the rest of this report.",
		r.Machine.Date.Format("2006-01-02 15:04 MST"), orUnknown(r.Machine.Lxdstar), strings.Join(only, ","),
		r.Duration.Round(1e9), r.Load[0])
}

// mergeInto merges the report of r, a targeted run, into the report at
// path (see mergeReport).
func mergeInto(path string, r *Results) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("-merge: %w", err)
	}
	var keys []string
	for k := range r.Config.Only {
		keys = append(keys, k)
	}
	var fresh strings.Builder
	if err := WriteReport(&fresh, r); err != nil {
		return err
	}
	merged, err := mergeReport(string(old), fresh.String(), keys, targetedStamp(r))
	if err != nil {
		return fmt.Errorf("-merge: %w", err)
	}
	return os.WriteFile(path, []byte(merged), 0o644)
}

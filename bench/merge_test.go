package main

import (
	"strings"
	"testing"
)

const mergeOld = `# lxdstar benchmarks

Measured on 2026-11-30 15:20 UTC; the whole run took 53m50s.

## Targets

| target | goal | measured | result |
|---|---|---|---|
| List vs raw API | within 1.5× | 1.06× | **met** |
| List 1000 vs raw API | within 1.25× | 1.29× | **missed** (profile below) |
| Peak memory (list 1000) | ≤ 24 MiB | 18.4 MiB | **met** |
| Peak memory (list) | below pylxd's | 12.1 MiB vs 39.9 MiB | **met** |
| Soak | flat | 23 → 23 goroutines | **met** |

## Results

### 2. List

| tool | median |
|---|---:|
| lxdstar | 180 ms |

### 8. List 1000

Old notes.

| tool | median |
|---|---:|
| lxdstar | 440 ms |
| curl | 341 ms |

#### Cost per instance

| listing | lxdstar per instance |
|---|---:|
| 100 instances | 1799 µs |
| 1000 instances | 440 µs |

### 14. Peak memory

| tool | 2. list | 8. list (large) |
|---|---:|---:|
| lxdstar | 12.1 MiB | 18.4 MiB |
| curl | 10.7 MiB | 10.5 MiB |

## Profiles of the missed targets

### lxdstar, workload exec

exec profile

### lxdstar, workload list-large

old list profile
`

const mergeNew = `# lxdstar benchmarks

Measured on 2026-11-30 18:40 UTC; the whole run took 12m0s.

## Targets

| target | goal | measured | result |
|---|---|---|---|
| List vs raw API | within 1.5× | — | n/a (workload not run) |
| List 1000 vs raw API | within 1.25× | 1.20× | **met** |
| Peak memory (list 1000) | ≤ 24 MiB | 17.0 MiB | **met** |
| Peak memory (list) | below pylxd's | — | n/a (not measured for both) |
| Soak | flat | — | n/a (not run) |

## Results

### 8. List 1000

New notes.

| tool | median |
|---|---:|
| lxdstar | 400 ms |
| curl | 340 ms |

#### Cost per instance

| listing | lxdstar per instance |
|---|---:|
| 1000 instances | 400 µs |

### 14. Peak memory

| tool | 2. list | 8. list (large) |
|---|---:|---:|
| lxdstar | — | 17.0 MiB |
| curl | — | 10.4 MiB |
`

func TestMergeReport(t *testing.T) {
	got, err := mergeReport(mergeOld, mergeNew, []string{"list-large"}, "Measured again on X at commit abc.")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		targetedNote,
		"| List vs raw API | within 1.5× | 1.06× | **met** |",       // not run: kept
		"| List 1000 vs raw API | within 1.25× | 1.20× | **met** |", // run: replaced
		"| Peak memory (list 1000) | ≤ 24 MiB | 17.0 MiB | **met** |",
		"| Peak memory (list) | below pylxd's | 12.1 MiB vs 39.9 MiB | **met** |", // no figures in the run: kept
		"| Soak | flat | 23 → 23 goroutines | **met** |",
		"### 8. List 1000\n\n_Measured again on X at commit abc._\n\nNew notes.",
		"| lxdstar | 400 ms |",
		"| 1000 instances | 400 µs |\n| 100 instances | 1799 µs |", // the row not measured again stays
		"| lxdstar | 12.1 MiB | 17.0 MiB |",                        // cell by cell
		"| curl | 10.7 MiB | 10.4 MiB |",
		"### 2. List\n\n| tool | median |\n|---|---:|\n| lxdstar | 180 ms |",
		"### lxdstar, workload exec\n\nexec profile",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("merged report lacks %q:\n%s", want, got)
		}
	}
	for _, gone := range []string{"old list profile", "Old notes", "440 ms", "workload not run", "not measured for both", "n/a (not run)"} {
		if strings.Contains(got, gone) {
			t.Errorf("merged report still has %q", gone)
		}
	}
	// Merging again stamps once and notes the targeted runs once.
	again, err := mergeReport(got, mergeNew, []string{"list-large"}, "Measured again on Y at commit def.")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(again, targetedNote) != 1 || strings.Contains(again, "commit abc") || !strings.Contains(again, "commit def") {
		t.Errorf("second merge:\n%s", again)
	}
	if _, err := mergeReport("# no sections\n", mergeNew, nil, ""); err == nil {
		t.Error("merging into a file that is no report: no error")
	}
}

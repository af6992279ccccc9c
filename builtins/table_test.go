package builtins

import (
	"context"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	_, out := mustExec(t, `
rows = [
    {"name": "web1", "status": "Running", "ipv4": "10.0.0.2", "snapshots": 0},
    {"name": "database", "status": "Stopped", "snapshots": 12, "extra": "not shown"},
]
print(table(rows))
print(table(rows, columns=["status", "name", "absent"]))
print(table([["a", 1, None], ("bb", True)], columns=["col_one", "two", "three"]))
print(table([struct(name="x", status="Running", size=1.5)], columns=["name", "size", "nope"]))
print(repr(table([])), repr(table([], columns=["a"])))
`)
	want := strings.Join([]string{
		"    NAME    STATUS     IPV4    SNAPSHOTS",
		"  web1      Running  10.0.0.2  0",
		"  database  Stopped            12",
		"  STATUS     NAME    ABSENT",
		"  Running  web1",
		"  Stopped  database",
		"  COL ONE  TWO   THREE",
		"  a        1",
		"  bb       True",
		"  NAME  SIZE  NOPE",
		"  x     1.5",
		`"" "  A"`,
	}, "\n") + "\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestTableErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`table()`, "table: missing argument for rows"},
		{`table([], ["a"])`, "table: got 2 positional arguments, want at most 1 (columns is keyword-only)"},
		{`table(rows=[], bogus=1)`, "table: unexpected keyword argument \"bogus\""},
		{`table({"a": 1})`, "table: for parameter rows: got dict, want list"},
		{`table(len)`, "table: for parameter rows: got builtin_function_or_method, want list"},
		{`table([], columns="name")`, `table: for parameter "columns": got string, want list of strings`},
		{`table([], columns=len)`, `table: for parameter "columns": got builtin_function_or_method, want list of strings`},
		{`table([], columns=["a", 1])`, `table: for parameter "columns": element 1 is int, want string`},
		{`table([["a"]])`, "table: row 0 is a list: give columns= to name its cells"},
		{`table([struct(a=1)])`, "table: row 0 is a struct: give columns= to name its cells"},
		{`table([1])`, "table: row 0 is int, want dict, list or an object with attributes"},
		{`table([{1: "x"}])`, "table: row 0 has a int key: give columns= to choose string keys"},
		{`table([{"a": 1}, "oops"])`, "table: row 1: got string, want dict, list or an object with attributes"},
		{`table([["a", "b", "c"]], columns=["x", "y"])`, "table: row 0: 3 cells for 2 columns"},
	} {
		_, err, _ := exec(t, context.Background(), tc.src, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.src, err, tc.want)
		}
	}
}

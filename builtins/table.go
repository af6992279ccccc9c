package builtins

import (
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/internal/texttable"
)

// table(rows, *, columns=None) lays rows out in aligned columns under a
// header, as `lxc list --format compact` does (internal/texttable). A row is
// a dict (cells by key), a list or tuple (cells in column order), or an
// object with attributes such as a model or a struct (cells by attribute
// name). columns picks and orders the columns; by default they are the
// first row's keys, so lists and objects need it. Missing cells and None
// are blank; strings are shown as they are, other values as str() gives
// them. Headers are the column names upper-cased, "_" shown as a blank.
func table(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var rows tableRows
	var columns starargs.Strings
	if len(args) > 1 {
		return nil, fmt.Errorf("%s: got %d positional arguments, want at most 1 (columns is keyword-only)", b.Name(), len(args))
	}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "rows", &rows, "columns?", &columns); err != nil {
		return nil, err
	}
	var err error
	if columns == nil {
		if len(rows) == 0 {
			return starlark.String(""), nil
		}
		if columns, err = firstRowKeys(b.Name(), rows[0]); err != nil {
			return nil, err
		}
	}
	cells := make([][]string, len(rows))
	for i, row := range rows {
		if cells[i], err = rowCells(row, columns); err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", b.Name(), i, err)
		}
	}
	header := make([]string, len(columns))
	for i, c := range columns {
		header[i] = strings.ToUpper(strings.ReplaceAll(c, "_", " "))
	}
	return starlark.String(texttable.Render(header, cells)), nil
}

// tableRows are the rows of a list, tuple or other sequence (not a mapping
// or string: those are mistakes).
type tableRows []starlark.Value

func (t *tableRows) Unpack(v starlark.Value) error {
	iterable, ok := v.(starlark.Iterable)
	if _, isMapping := v.(starlark.IterableMapping); !ok || isMapping {
		return fmt.Errorf("got %s, want list", v.Type())
	}
	var rows []starlark.Value
	iter := iterable.Iterate()
	defer iter.Done()
	var row starlark.Value
	for iter.Next(&row) {
		rows = append(rows, row)
	}
	*t = rows
	return nil
}

// rowKind classifies a row: "dict", "list" or "object"; "" for a value
// that cannot be a row.
func rowKind(row starlark.Value) string {
	switch row.(type) {
	case starlark.String, starlark.Bytes:
		return ""
	case starlark.IterableMapping:
		return "dict"
	case starlark.Indexable:
		return "list"
	case starlark.HasAttrs:
		return "object"
	}
	return ""
}

func firstRowKeys(fn string, row starlark.Value) ([]string, error) {
	switch rowKind(row) {
	case "dict":
		var keys []string
		for _, k := range row.(starlark.IterableMapping).Items() {
			s, ok := k[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("%s: row 0 has a %s key: give columns= to choose string keys", fn, k[0].Type())
			}
			keys = append(keys, string(s))
		}
		return keys, nil
	case "list", "object":
		return nil, fmt.Errorf("%s: row 0 is a %s: give columns= to name its cells", fn, row.Type())
	}
	return nil, fmt.Errorf("%s: row 0 is %s, want dict, list or an object with attributes", fn, row.Type())
}

// rowCells returns a row's cell texts, one per column.
func rowCells(row starlark.Value, columns []string) ([]string, error) {
	out := make([]string, len(columns))
	switch rowKind(row) {
	case "dict":
		m := row.(starlark.IterableMapping)
		for i, c := range columns {
			v, found, err := m.Get(starlark.String(c))
			if err != nil {
				return nil, err
			}
			if found {
				out[i] = cellText(v)
			}
		}
	case "list":
		seq := row.(starlark.Indexable)
		if seq.Len() > len(columns) {
			return nil, fmt.Errorf("%d cells for %d columns", seq.Len(), len(columns))
		}
		for i := 0; i < seq.Len(); i++ {
			out[i] = cellText(seq.Index(i))
		}
	case "object":
		obj := row.(starlark.HasAttrs)
		for i, c := range columns {
			v, err := obj.Attr(c)
			var missing starlark.NoSuchAttrError
			if errors.As(err, &missing) {
				continue // as a dict's missing key: a blank cell
			}
			if err != nil {
				return nil, err
			}
			if v != nil {
				out[i] = cellText(v)
			}
		}
	default:
		return nil, fmt.Errorf("got %s, want dict, list or an object with attributes", row.Type())
	}
	return out, nil
}

func cellText(v starlark.Value) string {
	switch v := v.(type) {
	case starlark.NoneType:
		return ""
	case starlark.String:
		return string(v)
	}
	return v.String()
}

package lxdmod

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.operations: handles on LXD's background operations,
// the same Operation values that async methods return.
var operationsKind = newKind("operations", nil, map[string]methodFn{
	"get":                operationsGet,
	"wait_for_operation": operationsWaitFor,
	"all":                operationsAll,
})

// operationID is an operation's id, given as such or as its URL
// ("/1.0/operations/<id>").
type operationID string

func (o *operationID) Unpack(v starlark.Value) error {
	s, err := starargs.String(v)
	if err != nil {
		return err
	}
	id := strings.TrimPrefix(s, "/1.0/operations/")
	if id == "" || strings.Contains(id, "/") {
		return fmt.Errorf("invalid operation id %q", id)
	}
	*o = operationID(id)
	return nil
}

// getOperation reads one operation and wraps it; a running one is followed
// in the background like any other pending operation.
func getOperation(thread *starlark.Thread, c *Client, id operationID) (*Operation, error) {
	op, err := c.rest.GetOperation(ctxOf(thread), string(id))
	if err != nil {
		return nil, err
	}
	return observedOperation(c, op), nil
}

// operations.get(operation_id) -> Operation
func operationsGet(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var id operationID
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "operation_id", &id); err != nil {
		return nil, err
	}
	return getOperation(thread, mgr(b).c, id)
}

// operations.wait_for_operation(operation_id, timeout=None) -> Operation,
// once it has ended; a failed operation fails the call, as wait=True does.
func operationsWaitFor(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var id operationID
	var timeout starargs.Seconds
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "operation_id", &id, "timeout?", &timeout); err != nil {
		return nil, err
	}
	op, err := getOperation(thread, mgr(b).c, id)
	if err != nil {
		return nil, err
	}
	if _, err := op.wait(thread, timeout.Duration()); err != nil {
		return nil, err
	}
	return op, nil
}

// operations.all() -> [Operation]: GET /1.0/operations?recursion=1 answers
// a map by status ("running": [...], "success": [...]); it is flattened,
// oldest first.
func operationsAll(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	var byStatus map[string][]*rest.Operation
	if _, err := g.c.rest.Get(ctxOf(thread), rest.Path("operations"), url.Values{"recursion": {"1"}}, &byStatus); err != nil {
		return nil, err
	}
	var ops []*rest.Operation
	for _, list := range byStatus {
		ops = append(ops, list...)
	}
	sort.SliceStable(ops, func(i, j int) bool {
		ti, tj := createdAt(ops[i]), createdAt(ops[j])
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return ops[i].ID < ops[j].ID
	})
	out := make([]starlark.Value, len(ops))
	for i, op := range ops {
		out[i] = observedOperation(g.c, op)
	}
	return starlark.NewList(out), nil
}

// createdAt parses an operation's creation time (zero when unparsable).
func createdAt(op *rest.Operation) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, op.CreatedAt)
	return t
}

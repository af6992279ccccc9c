package lxdmod

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/internal/starjson"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// apiNode is one node of client.api, the raw REST tree:
// client.api.instances["c1"].get(). Attribute names map "_" to "-"
// (storage_pools → storage-pools); [item] appends an escaped segment.
type apiNode struct {
	c    *Client
	path string
}

var (
	_ starlark.HasAttrs = (*apiNode)(nil)
	_ starlark.Mapping  = (*apiNode)(nil)
)

func (n *apiNode) String() string        { return fmt.Sprintf("<api %s>", n.path) }
func (n *apiNode) Type() string          { return "api" }
func (n *apiNode) Freeze()               {}
func (n *apiNode) Truth() starlark.Bool  { return true }
func (n *apiNode) Hash() (uint32, error) { return starlark.String(n.path).Hash() }

var apiMethods = newMethodTable("api", nil, map[string]methodFn{
	"get":    apiCall("GET"),
	"post":   apiCall("POST"),
	"put":    apiCall("PUT"),
	"patch":  apiCall("PATCH"),
	"delete": apiCall("DELETE"),
})

func (n *apiNode) Attr(name string) (starlark.Value, error) {
	if b := apiMethods.bind(n, name); b != nil {
		return b, nil
	}
	return &apiNode{c: n.c, path: n.path + "/" + strings.ReplaceAll(name, "_", "-")}, nil
}

func (n *apiNode) AttrNames() []string { return apiMethods.names() }

// Get implements api[segment]: the segment is escaped, so a name holding
// "/" stays one segment.
func (n *apiNode) Get(k starlark.Value) (starlark.Value, bool, error) {
	s, ok := starlark.AsString(k)
	if !ok {
		return nil, false, fmt.Errorf("api[...]: got %s, want string", k.Type())
	}
	return &apiNode{c: n.c, path: n.path + "/" + url.PathEscape(s)}, true, nil
}

// apiCall sends a raw request; it does not fail on HTTP error statuses.
func apiCall(method string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		n := b.Receiver().(*apiNode)
		fn := b.Name()
		var body jsonValue
		var params queryParams
		var err error
		switch method {
		case "GET", "DELETE":
			err = starlark.UnpackArgs(fn, args, kwargs, "params?", &params)
		case "POST":
			err = starlark.UnpackArgs(fn, args, kwargs, "json?", &body, "params?", &params)
		default:
			err = starlark.UnpackArgs(fn, args, kwargs, "json", &body, "params?", &params)
		}
		if err != nil {
			return nil, err
		}
		// Raw access: the method is the script's, not a typed verb.
		req := &rest.Request{Method: method, Path: n.path, Query: url.Values(params), Body: body.value}
		resp, cancel, err := n.c.rest.Raw(ctxOf(thread), req)
		if err != nil {
			return nil, err
		}
		defer cancel()
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, &rest.Error{Kind: rest.KindConnection, Message: "reading response of " + method + " " + n.path, Err: err}
		}
		headers := starlark.NewDict(len(resp.Header))
		for k := range resp.Header {
			_ = headers.SetKey(starlark.String(k), starlark.String(resp.Header.Get(k)))
		}
		return &apiResponse{status: resp.StatusCode, headers: headers, body: data}, nil
	}
}

// jsonValue is any value sent as JSON (None: no body).
type jsonValue struct{ value any }

func (j *jsonValue) Unpack(v starlark.Value) error {
	g, err := toGoArg(v)
	j.value = g
	return err
}

// queryParams is a dict of query parameters; values that are not strings
// are sent as Starlark prints them (1, True).
type queryParams url.Values

func (q *queryParams) Unpack(v starlark.Value) error {
	d, err := starargs.OptDict(v)
	if d == nil {
		*q = nil
		return err
	}
	out := url.Values{}
	for _, kv := range d.Items() {
		k, _ := starlark.AsString(kv[0])
		s, ok := starlark.AsString(kv[1])
		if !ok {
			s = kv[1].String()
		}
		out.Set(k, s)
	}
	*q = queryParams(out)
	return nil
}

// apiResponse is what client.api calls return.
type apiResponse struct {
	status  int
	headers *starlark.Dict
	body    []byte
}

func (r *apiResponse) String() string        { return fmt.Sprintf("<Response [%d]>", r.status) }
func (r *apiResponse) Type() string          { return "Response" }
func (r *apiResponse) Freeze()               { r.headers.Freeze() }
func (r *apiResponse) Truth() starlark.Bool  { return r.status < 400 }
func (r *apiResponse) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: Response") }
func (r *apiResponse) AttrNames() []string   { return []string{"headers", "json", "status_code", "text"} }

func (r *apiResponse) Attr(name string) (starlark.Value, error) {
	switch name {
	case "status_code":
		return starlark.MakeInt(r.status), nil
	case "headers":
		return r.headers, nil
	case "text":
		return starlark.String(r.body), nil
	}
	return apiResponseMethods.attr(r, name)
}

var apiResponseMethods = newMethodTable("Response", nil, map[string]methodFn{"json": apiResponseJSON})

func apiResponseJSON(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	v, err := starjson.Decode(b.Receiver().(*apiResponse).body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Name(), err)
	}
	return v, nil
}

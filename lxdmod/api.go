package lxdmod

import (
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"go.starlark.net/starlark"

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

var apiMethods = map[string]methodFn{
	"get":    apiCall("GET"),
	"post":   apiCall("POST"),
	"put":    apiCall("PUT"),
	"patch":  apiCall("PATCH"),
	"delete": apiCall("DELETE"),
}

func (n *apiNode) Attr(name string) (starlark.Value, error) {
	if fn, ok := apiMethods[name]; ok {
		return bind("api", name, fn, n), nil
	}
	return &apiNode{c: n.c, path: n.path + "/" + strings.ReplaceAll(name, "_", "-")}, nil
}

func (n *apiNode) AttrNames() []string {
	names := make([]string, 0, len(apiMethods))
	for k := range apiMethods {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

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
		var body, params starlark.Value = starlark.None, starlark.None
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
		req := &rest.Request{Method: method, Path: n.path, Query: url.Values{}}
		if params != starlark.None {
			d, ok := params.(*starlark.Dict)
			if !ok {
				return nil, fmt.Errorf("%s: for parameter params: got %s, want dict", fn, params.Type())
			}
			for _, kv := range d.Items() {
				k, _ := starlark.AsString(kv[0])
				v, ok := starlark.AsString(kv[1])
				if !ok {
					v = kv[1].String()
				}
				req.Query.Set(k, v)
			}
		}
		if body != starlark.None {
			g, err := toGo(body, fn+": json")
			if err != nil {
				return nil, err
			}
			req.Body = g
		}
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
	case "json":
		return starlark.NewBuiltin("Response.json", func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
				return nil, err
			}
			v, err := fromJSON(r.body)
			if err != nil {
				return nil, fmt.Errorf("Response.json: %w", err)
			}
			return v, nil
		}), nil
	}
	return nil, nil
}

package rest

// Typed verbs, in the spirit of LXD's own Go client (client/lxd.go:
// queryStruct, queryOperation): callers say what they want (read this
// object, change that one, with this ETag), and the client knows how to
// send it and how to read LXD's answer. Do and Raw stay for what does not
// fit (raw access, streams).

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
)

// Get reads the object or collection at path (with query, which may be
// nil) and decodes its metadata into target: a pointer, as for
// json.Unmarshal; a *json.RawMessage, which receives the metadata
// undecoded (no copy, no validation: listings are large); or nil, to read
// nothing but the outcome. It returns the answer's ETag, for a later Put
// or Patch.
func (c *Client) Get(ctx context.Context, path string, query url.Values, target any) (etag string, err error) {
	resp, err := c.Do(ctx, &Request{Method: http.MethodGet, Path: path, Query: query})
	if err != nil {
		return "", err
	}
	switch t := target.(type) {
	case nil:
	case *json.RawMessage:
		*t = resp.Metadata
	default:
		if err := resp.Decode(target); err != nil {
			return "", err
		}
	}
	return resp.ETag, nil
}

// Post is a request creating something at path, or acting on it.
func Post(path string, body any) *Request {
	return &Request{Method: http.MethodPost, Path: path, Body: body}
}

// Put is a request replacing the object at path with body. A non-empty
// etag makes it conditional: LXD refuses it (see IsStale) when the object
// changed since the read that returned etag.
func Put(path string, body any, etag string) *Request {
	return withETag(&Request{Method: http.MethodPut, Path: path, Body: body}, etag)
}

// Patch is a request changing the fields of the object at path that body
// holds; etag as for Put.
func Patch(path string, body any, etag string) *Request {
	return withETag(&Request{Method: http.MethodPatch, Path: path, Body: body}, etag)
}

// Delete is a request deleting the object at path.
func Delete(path string) *Request {
	return &Request{Method: http.MethodDelete, Path: path}
}

func withETag(r *Request, etag string) *Request {
	if etag != "" {
		r.Header = http.Header{"If-Match": {etag}}
	}
	return r
}

// WithQuery adds query parameters to r and returns it.
func (r *Request) WithQuery(q url.Values) *Request {
	r.Query = q
	return r
}

// Send sends a request that changes something. LXD either does it at once
// (Send returns nil, nil) or starts a background operation, which Send
// returns for the caller to follow (Watch, WaitOperation).
func (c *Client) Send(ctx context.Context, req *Request) (*Operation, error) {
	resp, err := c.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.Type != "async" {
		return nil, nil
	}
	return AsyncOperation(resp)
}

// SendAndWait is Send, then a wait until the operation (if LXD started
// one) has ended: for work nobody watches step by step.
func (c *Client) SendAndWait(ctx context.Context, req *Request) error {
	op, err := c.Send(ctx, req)
	if err != nil || op == nil {
		return err
	}
	_, err = c.WaitOperation(ctx, op, 0)
	return err
}

// CancelOperation asks LXD to cancel the operation id.
func (c *Client) CancelOperation(ctx context.Context, id string) error {
	_, err := c.Do(ctx, &Request{Method: http.MethodDelete, Path: Path("operations", id), NoProject: true})
	return err
}

// ServerWide returns a client like c whose requests name no project, for
// the server's own objects (trusted certificates, projects themselves).
func (c *Client) ServerWide() *Client { return c.WithProject("") }

// IsKind reports whether err (or an error it wraps) is an LXD error of
// kind k or of a kind below it: IsKind(err, KindAPI) holds for NotFound
// and Conflict too. It is the one way errors are matched by kind.
func IsKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind.within(k)
}

// IsStale reports whether err is LXD refusing a conditional Put or Patch
// because the object changed since it was read (HTTP 412): a Conflict.
func IsStale(err error) bool {
	var e *Error
	return IsKind(err, KindConflict) && errors.As(err, &e) && e.StatusCode == http.StatusPreconditionFailed
}

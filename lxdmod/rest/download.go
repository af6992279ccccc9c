package rest

import (
	"context"
	"fmt"
	"io"
)

// GetBody GETs a path whose answer is a file rather than LXD's JSON
// envelope (a network ACL's log, for one) and returns its bytes, refusing
// answers longer than limit. An error answer is parsed as usual, so its
// kind and LXD's message survive.
func (c *Client) GetBody(ctx context.Context, path string, limit int64) ([]byte, error) {
	req := &Request{Method: "GET", Path: path}
	resp, cancel, err := c.Raw(ctx, req)
	if err != nil {
		return nil, err
	}
	defer cancel()
	if resp.StatusCode >= 400 {
		return nil, responseError(resp)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(&connReader{ReadCloser: resp.Body, endpoint: c.endpoint}, limit+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ContextError(ctx, "request to "+c.endpoint)
		}
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &Error{Kind: KindAPI, StatusCode: resp.StatusCode,
			Message: fmt.Sprintf("%s %s: the answer is larger than %d bytes", req.Method, req.Path, limit)}
	}
	return data, nil
}

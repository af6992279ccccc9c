package rest

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// stream GETs req, whose answer is a file rather than LXD's JSON envelope,
// and hands the response and its body to consume, which reads what it
// needs before returning; nothing is buffered here. An error answer is
// parsed as usual, so its kind and LXD's message survive. A failure while
// reading is ClientConnectionFailed, Cancelled or Timeout (see readErr).
// Errors are annotated with what, when it is not empty.
func (c *Client) stream(ctx context.Context, req *Request, what string, consume func(resp *http.Response, body io.Reader) error) error {
	resp, cancel, err := c.Raw(ctx, req)
	if err != nil {
		return annotateIf(err, what)
	}
	defer cancel()
	if resp.StatusCode >= 400 {
		return annotateIf(responseError(resp), what)
	}
	body := &connReader{ReadCloser: resp.Body, server: c.name(), endpoint: c.endpoint}
	defer body.Close()
	return c.readErr(ctx, consume(resp, body), what)
}

func annotateIf(err error, what string) error {
	if what == "" {
		return err
	}
	return Annotate(err, what)
}

// Download streams the file at req (a backup's export, for one) to
// consume, which must read it all before returning. The request is exempt
// from the client's timeout: a large file takes as long as it takes, and
// ctx still ends it.
func (c *Client) Download(ctx context.Context, req *Request, what string, consume func(r io.Reader) error) error {
	cp := *req
	cp.NoTimeout = true
	return c.stream(ctx, &cp, what, func(_ *http.Response, body io.Reader) error { return consume(body) })
}

// GetBody GETs a path whose answer is a file rather than LXD's JSON
// envelope (a network ACL's log, for one) and returns its bytes, refusing
// answers longer than limit. An error answer is parsed as usual, so its
// kind and LXD's message survive.
func (c *Client) GetBody(ctx context.Context, path string, limit int64) ([]byte, error) {
	req := &Request{Method: http.MethodGet, Path: path}
	var data []byte
	err := c.stream(ctx, req, "", func(resp *http.Response, body io.Reader) error {
		var err error
		if data, err = io.ReadAll(io.LimitReader(body, limit+1)); err != nil {
			return err
		}
		if int64(len(data)) > limit {
			return &Error{Kind: KindAPI, StatusCode: resp.StatusCode,
				Message: fmt.Sprintf("%s %s: the answer is larger than %d bytes", req.Method, req.Path, limit)}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return data, nil
}

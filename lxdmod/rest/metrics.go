package rest

import (
	"context"
	"fmt"
	"io"

	"github.com/lxdstar/lxdstar/internal/openmetrics"
)

// maxMetrics bounds how much of /1.0/metrics is read: a cluster of many
// instances answers megabytes, never this much.
const maxMetrics = 256 << 20

// Metrics is GET /1.0/metrics (the metrics API extension): OpenMetrics text,
// not LXD's JSON envelope, parsed into samples. With a project set, the
// server limits the answer to that project's instances.
func (c *Client) Metrics(ctx context.Context) ([]openmetrics.Sample, error) {
	resp, cancel, err := c.Raw(ctx, &Request{Method: "GET", Path: Path("metrics")})
	if err != nil {
		return nil, err
	}
	defer cancel()
	if resp.StatusCode >= 400 {
		return nil, errorBody(resp, "metrics")
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(&connReader{ReadCloser: resp.Body, endpoint: c.endpoint}, maxMetrics+1))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ContextError(ctx, "request to "+c.endpoint)
		}
		return nil, Annotate(err, "reading /1.0/metrics")
	}
	if len(data) > maxMetrics {
		return nil, &Error{Kind: KindConnection, Message: fmt.Sprintf("/1.0/metrics from %s is larger than %d bytes", c.endpoint, maxMetrics)}
	}
	samples, err := openmetrics.Parse(data)
	if err != nil {
		return nil, &Error{Kind: KindConnection, Message: fmt.Sprintf("/1.0/metrics from %s is not OpenMetrics text: %v", c.endpoint, err), Err: err}
	}
	return samples, nil
}

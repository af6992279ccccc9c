package rest

import (
	"io"
	"net/http"
	"sync/atomic"
)

// TransferFunc observes a streamed request or response body as it moves:
// id tells concurrent transfers apart, label says what moves ("Uploading
// /root/big.bin"), total is -1 when unknown, done is true exactly once, at
// the end (or when the body is abandoned).
type TransferFunc func(id uint64, label string, n, total int64, done bool)

// WithTransfers returns a client sharing c's connections whose labelled
// requests (Request.Label) report their bytes to fn.
func (c *Client) WithTransfers(fn TransferFunc) *Client {
	cp := *c
	cp.transfers = fn
	if cp.transferIDs == nil {
		cp.transferIDs = new(atomic.Uint64)
	}
	return &cp
}

// meter counts bytes through a body and reports them.
type meter struct {
	fn       TransferFunc
	id       uint64
	label    string
	n, total int64
	ended    atomic.Bool
}

func (m *meter) add(k int) {
	m.n += int64(k)
	m.fn(m.id, m.label, m.n, m.total, false)
}

func (m *meter) end() {
	if m.ended.CompareAndSwap(false, true) {
		m.fn(m.id, m.label, m.n, m.total, true)
	}
}

type meteredReader struct {
	r io.Reader
	m *meter
}

func (r *meteredReader) Read(p []byte) (int, error) {
	k, err := r.r.Read(p)
	if k > 0 {
		r.m.add(k)
	}
	if err != nil {
		r.m.end()
	}
	return k, err
}

type meteredReadCloser struct {
	meteredReader
	c io.Closer
}

func (r *meteredReadCloser) Close() error {
	r.m.end()
	return r.c.Close()
}

// meterUpload wraps an upload body, when the request is labelled.
func (c *Client) meterUpload(req *Request, body io.Reader, size int64) (io.Reader, *meter) {
	if c.transfers == nil || req.Label == "" || body == nil {
		return body, nil
	}
	m := &meter{fn: c.transfers, id: c.transferIDs.Add(1), label: "Uploading " + req.Label, total: size}
	return &meteredReader{r: body, m: m}, m
}

// meterDownload wraps a response body, when the request is labelled.
func (c *Client) meterDownload(req *Request, resp *http.Response) {
	if c.transfers == nil || req.Label == "" || resp.StatusCode >= 400 {
		return
	}
	m := &meter{fn: c.transfers, id: c.transferIDs.Add(1), label: "Downloading " + req.Label, total: resp.ContentLength}
	resp.Body = &meteredReadCloser{meteredReader: meteredReader{r: resp.Body, m: m}, c: resp.Body}
}

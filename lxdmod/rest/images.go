package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
)

// ImageUpload describes POST /1.0/images with the image files as the body.
type ImageUpload struct {
	// Rootfs is the unified tarball, or the root file system of a split
	// image when Meta is set.
	Rootfs io.Reader
	// Meta is the metadata tarball of a split image; nil for unified.
	Meta io.Reader
	// VM marks a split image's rootfs as a VM disk (part "rootfs.img").
	VM bool
	// Fingerprint, when set, is the expected sha256; LXD refuses the
	// upload if the data does not match it.
	Fingerprint string
	Public      bool
	Filename    string
	// Properties are set on the new image by the server. (Aliases are
	// made afterwards: LXD 5.0 has no upload header for them.)
	Properties map[string]string
}

// ImageUploadRequest builds the upload request. The body streams from the
// readers: a split image is sent as multipart/form-data without buffering
// the files (only the few bytes of part headers are built in memory). The
// X-LXD-* headers go out as X-Incus-* to Incus (see Raw), which ignores the
// old names here.
func ImageUploadRequest(u ImageUpload) *Request {
	h := http.Header{}
	if u.Public {
		h.Set("X-LXD-public", "1")
	} else {
		h.Set("X-LXD-public", "0")
	}
	if u.Fingerprint != "" {
		h.Set("X-LXD-fingerprint", u.Fingerprint)
	}
	if u.Filename != "" {
		h.Set("X-LXD-filename", u.Filename)
	}
	// One header value per property, key=value URL-encoded as both
	// servers parse it (url.ParseQuery of each value).
	for _, k := range slices.Sorted(maps.Keys(u.Properties)) {
		h.Add("X-LXD-properties", url.Values{k: {u.Properties[k]}}.Encode())
	}
	req := &Request{Method: "POST", Path: Path("images"), Header: h, NoTimeout: true, Body: u.Rootfs, Label: "image"}
	if u.Meta == nil {
		h.Set("Content-Type", "application/octet-stream")
		return req
	}
	rootPart := "rootfs"
	if u.VM {
		rootPart = "rootfs.img"
	}
	var head, mid, tail bytes.Buffer
	sw := &switchWriter{w: &head}
	mw := multipart.NewWriter(sw)
	// Errors cannot happen: the writer is a bytes.Buffer.
	_, _ = mw.CreateFormFile("metadata", "metadata")
	sw.w = &mid
	_, _ = mw.CreateFormFile(rootPart, rootPart)
	sw.w = &tail
	_ = mw.Close()
	h.Set("Content-Type", mw.FormDataContentType())
	req.Body = io.MultiReader(&head, u.Meta, &mid, u.Rootfs, &tail)
	return req
}

// switchWriter lets one multipart.Writer emit its boundaries into several
// buffers, so the file parts in between can be streamed readers.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

// Names of the parts ExportImage hands to its callback.
const (
	ExportUnified  = "unified"  // the unified tarball
	ExportMetadata = "metadata" // split image: the metadata tarball
	ExportRootfs   = "rootfs"   // split image: the root file system (or VM disk)
)

// ExportImage streams GET /1.0/images/<fingerprint>/export to part: once
// with ExportUnified for a unified image, or with ExportMetadata then
// ExportRootfs for a split one (which LXD sends as multipart/form-data).
// part must consume r before returning.
func (c *Client) ExportImage(ctx context.Context, fingerprint string, part func(kind string, r io.Reader) error) error {
	req := &Request{Method: "GET", Path: Path("images", fingerprint, "export"), NoTimeout: true, Label: "image " + shortFingerprint(fingerprint)}
	return c.stream(ctx, req, "exporting image "+fingerprint, func(resp *http.Response, body io.Reader) error {
		ctype, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		if err != nil || ctype != "multipart/form-data" {
			return part(ExportUnified, body)
		}
		mr := multipart.NewReader(body, params["boundary"])
		for _, kind := range []string{ExportMetadata, ExportRootfs} {
			p, err := mr.NextPart()
			if err != nil {
				// Whatever broke the multipart framing came from the server.
				var e *Error
				if !errors.As(err, &e) {
					err = &Error{Kind: KindConnection, Message: fmt.Sprintf("reading the %s part", kind), Err: err}
				}
				return err
			}
			if name := p.FormName(); name != kind && !(kind == ExportRootfs && name == "rootfs.img") {
				return &Error{Kind: KindConnection, Message: fmt.Sprintf("unexpected part %q (want %q)", name, kind)}
			}
			if err := part(kind, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// readErr classifies an error met while reading a streamed body: a done
// context is Cancelled/Timeout; a body cut short (which the multipart
// reader reports as io.ErrUnexpectedEOF) is ClientConnectionFailed; other
// errors (e.g. the callback's own) pass through, annotated with what when
// it is not empty.
func (c *Client) readErr(ctx context.Context, err error, what string) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		if what == "" {
			return ContextError(ctx, "request to "+c.endpoint)
		}
		return ContextError(ctx, what)
	}
	var e *Error
	if !errors.As(err, &e) && errors.Is(err, io.ErrUnexpectedEOF) {
		err = &Error{Kind: KindConnection, Message: "the answer of " + c.name() + " at " + c.endpoint + " ended early", Err: err}
	}
	return annotateIf(err, what)
}

func shortFingerprint(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lxdstar/lxdstar/internal/filemode"
)

// FileInfo is what the server reports about a path inside an instance, taken
// from the X-LXD-* (Incus: X-Incus-*) headers of a file request.
type FileInfo struct {
	Type string // "file", "directory" or "symlink"
	Mode uint32 // permission bits, e.g. 0o644
	UID  int64
	GID  int64
}

// File is the answer to GET .../files?path=: a file's (or symlink's)
// content as a stream, or a directory's entries. Close releases the
// connection; it must be called once the body is consumed.
type File struct {
	FileInfo
	Body    io.ReadCloser // file content, or a symlink's target; nil for directories
	Size    int64         // Content-Length, -1 when unknown
	Entries []string      // directory entries (never "." or "..")
}

// Close releases the response.
func (f *File) Close() error {
	if f.Body == nil {
		return nil
	}
	return f.Body.Close()
}

// FilePush describes one POST .../files?path= request.
type FilePush struct {
	Type   string // "file", "directory" or "symlink"
	Mode   int    // permission bits; < 0 lets LXD choose
	UID    int64  // < 0 lets LXD choose
	GID    int64  // < 0 lets LXD choose
	Append bool   // X-LXD-write: append (extension file_append)
	// The X-LXD-* headers below go out as X-Incus-* to Incus (see Raw).
	// Content is the file's data, or a symlink's target. Nil for
	// directories. It is streamed, never buffered here.
	Content io.Reader
}

// filesPath is the files endpoint of an instance.
func filesPath(instance string) string { return Path("instances", instance, "files") }

// fileQuery puts the instance path in the query string, where LXD expects
// it; url.Values escapes spaces and non-ASCII names.
func fileQuery(path string) url.Values { return url.Values{"path": {path}} }

// PushFile creates or replaces a file, directory or symlink in an instance.
func (c *Client) PushFile(ctx context.Context, instance, path string, p FilePush) error {
	h := http.Header{}
	h.Set("X-LXD-type", p.Type)
	if p.Mode >= 0 {
		h.Set("X-LXD-mode", filemode.Format(p.Mode))
	}
	if p.UID >= 0 {
		h.Set("X-LXD-uid", strconv.FormatInt(p.UID, 10))
	}
	if p.GID >= 0 {
		h.Set("X-LXD-gid", strconv.FormatInt(p.GID, 10))
	}
	if p.Type == "file" {
		if p.Append {
			h.Set("X-LXD-write", "append")
		} else {
			h.Set("X-LXD-write", "overwrite")
		}
	}
	body := p.Content
	if body == nil {
		body = strings.NewReader("")
	}
	req := &Request{Method: "POST", Path: filesPath(instance), Query: fileQuery(path), Body: body, Header: h, NoTimeout: true, Label: path}
	if _, err := c.Do(ctx, req); err != nil {
		return Annotate(err, fmt.Sprintf("pushing %s to instance %s", path, instance))
	}
	return nil
}

// GetFile fetches a path from an instance. Symlinks are not followed: their
// body is the target. The caller must Close the result.
func (c *Client) GetFile(ctx context.Context, instance, path string) (*File, error) {
	// Large files stream: no request timeout on the body.
	resp, cancel, err := c.Raw(ctx, &Request{Method: "GET", Path: filesPath(instance), Query: fileQuery(path), NoTimeout: true, Label: path})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		defer cancel()
		return nil, errorBody(resp, fmt.Sprintf("%s in instance %s", path, instance))
	}
	info, err := parseFileHeaders(resp.Header, path)
	if err != nil {
		resp.Body.Close()
		cancel()
		return nil, err
	}
	f := &File{FileInfo: info, Size: resp.ContentLength}
	if info.Type == "directory" {
		defer cancel()
		defer resp.Body.Close()
		f.Entries, err = readEntries(resp, path)
		return f, err
	}
	f.Body = &cancelOnClose{ReadCloser: &connReader{ReadCloser: resp.Body, server: c.name(), endpoint: c.endpoint}, cancel: cancel}
	return f, nil
}

// StatFile reads a path's type, mode and owner without its content: with
// HEAD when the server has the instance_file_head extension, else with a
// GET whose body is dropped.
func (c *Client) StatFile(ctx context.Context, instance, path string, head bool) (FileInfo, error) {
	if !head {
		f, err := c.GetFile(ctx, instance, path)
		if err != nil {
			return FileInfo{}, err
		}
		f.Close()
		return f.FileInfo, nil
	}
	resp, cancel, err := c.Raw(ctx, &Request{Method: "HEAD", Path: filesPath(instance), Query: fileQuery(path)})
	if err != nil {
		return FileInfo{}, err
	}
	defer cancel()
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		// A HEAD answer has no body to carry LXD's message: ask again
		// with GET for a precise error.
		f, err := c.GetFile(ctx, instance, path)
		if err == nil {
			f.Close()
			err = Annotate(APIError(resp.StatusCode, http.StatusText(resp.StatusCode)), fmt.Sprintf("%s in instance %s", path, instance))
		}
		return FileInfo{}, err
	}
	return parseFileHeaders(resp.Header, path)
}

// DeleteFile removes a file, symlink or empty directory (extension
// file_delete).
func (c *Client) DeleteFile(ctx context.Context, instance, path string) error {
	if _, err := c.Do(ctx, &Request{Method: "DELETE", Path: filesPath(instance), Query: fileQuery(path)}); err != nil {
		return Annotate(err, fmt.Sprintf("deleting %s in instance %s", path, instance))
	}
	return nil
}

// errorBody turns an error response into an *Error naming what was asked.
func errorBody(resp *http.Response, what string) error {
	return Annotate(responseError(resp), what)
}

// responseError turns an error response into an *Error, reading at most a
// small envelope.
func responseError(resp *http.Response) error {
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_, err := ParseResponse(resp.StatusCode, resp.Header, data)
	if err == nil {
		err = APIError(resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return err
}

// Annotate adds context to an error. An *Error keeps its kind and status
// and its message still starts with the kind ("NotFound: /x in instance
// c1: Not Found"), so scripts see the kind first; other errors are wrapped.
func Annotate(err error, what string) error {
	var e *Error
	if !errors.As(err, &e) {
		return fmt.Errorf("%s: %w", what, err)
	}
	cp := *e
	cp.Message = what + ": " + e.Message
	if e.Message == "" && e.Err != nil {
		cp.Message = what + ": " + e.Err.Error()
	}
	return &cp
}

func parseFileHeaders(h http.Header, path string) (FileInfo, error) {
	info := FileInfo{Type: Header(h, "type"), UID: -1, GID: -1}
	if info.Type == "" {
		// Servers before file_symlinks only had files and directories
		// and always sent a type; no type means no file answer at all.
		return info, &Error{Kind: KindConnection, Message: fmt.Sprintf("file request for %s: the answer has no X-LXD-type or X-Incus-type header", path)}
	}
	if m := Header(h, "mode"); m != "" {
		v, err := strconv.ParseUint(m, 8, 32)
		if err != nil {
			return info, &Error{Kind: KindConnection, Message: fmt.Sprintf("file request for %s: bad file mode header %q", path, m)}
		}
		info.Mode = uint32(v)
	}
	for _, f := range []struct {
		name string
		dst  *int64
	}{{"uid", &info.UID}, {"gid", &info.GID}} {
		if s := Header(h, f.name); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return info, &Error{Kind: KindConnection, Message: fmt.Sprintf("file request for %s: bad %s header %q", path, f.name, s)}
			}
			*f.dst = v
		}
	}
	return info, nil
}

// readEntries decodes a directory listing (a standard envelope whose
// metadata is a list of names).
func readEntries(resp *http.Response, path string) ([]string, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxEnvelope))
	if err != nil {
		return nil, &Error{Kind: KindConnection, Message: "reading the listing of " + path, Err: err}
	}
	r, err := ParseResponse(resp.StatusCode, resp.Header, data)
	if err != nil {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal(r.Metadata, &names); err != nil {
		return nil, &Error{Kind: KindConnection, Message: "invalid listing of " + path, Err: err}
	}
	return names, nil
}

// cancelOnClose releases a request's timeout context with its body.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

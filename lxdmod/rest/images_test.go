package rest

import (
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"
)

func TestImageUploadRequestUnified(t *testing.T) {
	req := ImageUploadRequest(ImageUpload{Rootfs: strings.NewReader("tarball"), Public: true, Fingerprint: "abc"})
	if req.Header.Get("X-LXD-public") != "1" || req.Header.Get("X-LXD-fingerprint") != "abc" {
		t.Fatalf("headers %v", req.Header)
	}
	data, _ := io.ReadAll(req.Body.(io.Reader))
	if string(data) != "tarball" || req.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("body %q, type %q", data, req.Header.Get("Content-Type"))
	}
}

func TestImageUploadRequestSplit(t *testing.T) {
	for _, vm := range []bool{false, true} {
		req := ImageUploadRequest(ImageUpload{Meta: strings.NewReader("META"), Rootfs: strings.NewReader("ROOT\r\n--x"), VM: vm})
		ctype, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
		if err != nil || ctype != "multipart/form-data" {
			t.Fatalf("content type %q: %v", req.Header.Get("Content-Type"), err)
		}
		mr := multipart.NewReader(req.Body.(io.Reader), params["boundary"])
		rootName := "rootfs"
		if vm {
			rootName = "rootfs.img"
		}
		for _, want := range []struct{ name, body string }{{"metadata", "META"}, {rootName, "ROOT\r\n--x"}} {
			p, err := mr.NextPart()
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(p)
			if p.FormName() != want.name || string(body) != want.body {
				t.Fatalf("part %q = %q, want %q = %q", p.FormName(), body, want.name, want.body)
			}
		}
		if _, err := mr.NextPart(); err != io.EOF {
			t.Fatalf("after the parts: %v", err)
		}
	}
}

func TestAnnotateKeepsKind(t *testing.T) {
	err := Annotate(APIError(404, "Not Found"), "/x in instance c1")
	if got := err.Error(); got != "NotFound: /x in instance c1: Not Found" {
		t.Fatalf("got %q", got)
	}
	if !errorsIs(err, ErrNotFound) || !errorsIs(err, ErrAPI) {
		t.Fatal("kind lost")
	}
}

func errorsIs(err, target error) bool {
	e, ok := err.(*Error)
	return ok && e.Is(target)
}

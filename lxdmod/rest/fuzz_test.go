package rest

// Fuzz targets for what the client decodes from the network: the response
// envelope and event messages. `go test` runs the seeds (f.Add and
// testdata/fuzz/<name>/); `make fuzz` explores further.

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func FuzzParseResponse(f *testing.F) {
	for _, seed := range []struct {
		status int
		body   string
	}{
		{200, `{"type":"sync","status":"Success","status_code":200,"metadata":{"api_version":"1.0"}}`},
		{202, `{"type":"async","status":"Operation created","status_code":100,"operation":"/1.0/operations/x","metadata":{"id":"x","status_code":103}}`},
		{404, `{"type":"error","error":"Instance not found","error_code":404}`},
		{200, `{"type":"error","error":"","error_code":0}`},
		{412, `{"type":"error","error":"ETag doesn't match","error_code":412}`},
		{502, `<html><body>502 Bad Gateway</body></html>`},
		{200, `{"type":"sync","metadata":`},
		{200, `[]`},
		{200, `null`},
		{500, ``},
		{200, `{"type":"sync","metadata":null}`},
		{200, `{"type":7}`},
		{200, "{\"type\":\"sync\",\"metadata\":\"\xff\xfe\"}"},
	} {
		f.Add(seed.status, []byte(seed.body), `"etag"`)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, etag string) {
		h := http.Header{}
		h.Set("ETag", etag)
		r, err := ParseResponse(status, h, body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if e.Kind == 0 || !strings.HasPrefix(err.Error(), e.Kind.String()+": ") {
				t.Fatalf("error without its kind first: %q", err)
			}
			if status >= 400 && e.Kind == KindConnection {
				t.Fatalf("an HTTP %d answer is an API error, got %v", status, err)
			}
			if r != nil && r.Type != "error" && status < 400 {
				t.Fatalf("an envelope of type %q came with %v", r.Type, err)
			}
			return
		}
		if r == nil || r.Type == "" || r.Type == "error" || status >= 400 {
			t.Fatalf("accepted %+v for HTTP %d", r, status)
		}
		if r.ETag != h.Get("ETag") || r.HTTPStatus != status {
			t.Fatalf("ETag %q, status %d", r.ETag, r.HTTPStatus)
		}
		// Decoding the metadata fails cleanly or succeeds; never panics.
		var v any
		_ = r.Decode(&v)
		var op Operation
		_ = r.Decode(&op)
		if r.Type == "async" {
			_, _ = AsyncOperation(r)
		}
	})
}

func FuzzParseEvent(f *testing.F) {
	for _, seed := range []string{
		`{"type":"lifecycle","timestamp":"2026-01-01T00:00:00Z","location":"none","project":"default","metadata":{"action":"instance-started","source":"/1.0/instances/c1"}}`,
		`{"type":"operation","metadata":{"id":"x","status":"Running","status_code":103}}`,
		`{"type":"logging","metadata":{"message":"hi","level":"info","context":{}}}`,
		`{"metadata":{}}`,
		`{"type":""}`,
		`null`,
		`[{"type":"x"}]`,
		`{"type":"x","metadata":`,
		`{"type":1}`,
		"{\"type\":\"\xff\"}",
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, ok := ParseEvent(data)
		if !ok {
			if ev.Type != "" || ev.Raw != nil {
				t.Fatalf("not an event, yet %+v", ev)
			}
			return
		}
		if ev.Type == "" || string(ev.Raw) != string(data) {
			t.Fatalf("event %+v from %q", ev, data)
		}
		if !json.Valid(data) {
			t.Fatalf("an event from invalid JSON %q", data)
		}
		if len(ev.Metadata) > 0 && !json.Valid(ev.Metadata) {
			t.Fatalf("metadata %q is not JSON", ev.Metadata)
		}
	})
}

package fakelxd

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// images serves /1.0/images and images below it (aliases are a kind of
// their own, served by resources).
func (q *query) images() {
	segs := q.segs
	if len(segs) == 1 {
		if q.r.Method == http.MethodPost {
			if q.projectKnown() {
				q.createImage()
			}
			return
		}
		q.collection(imageKind, segs)
		return
	}
	q.s.mu.Lock()
	img := q.s.imageLocked(q.project, segs[1])
	q.s.mu.Unlock()
	if img == nil {
		q.fail(http.StatusNotFound, imageKind.notFound)
		return
	}
	switch {
	case len(segs) == 2:
		q.object(img.segs, img)
	case len(segs) == 3 && segs[2] == "export" && q.r.Method == http.MethodGet:
		q.s.mu.Lock()
		data := img.data
		q.s.mu.Unlock()
		q.w.Header().Set("Content-Type", "application/octet-stream")
		q.w.Header().Set("Content-Disposition", "attachment; filename="+img.name()+".tar.gz")
		q.w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		_, _ = q.w.Write(data)
	default:
		q.fail(http.StatusNotFound, "not found")
	}
}

// imageLocked finds an image by fingerprint or unique fingerprint prefix,
// as LXD accepts both.
func (s *Server) imageLocked(project, fp string) *entry {
	if fp == "" {
		return nil
	}
	if e := s.store.get(project, []string{"images", fp}); e != nil {
		return e
	}
	var found *entry
	for _, e := range s.store.children(project, []string{"images"}, false) {
		if e.kind == imageKind && strings.HasPrefix(e.name(), fp) {
			if found != nil {
				return nil
			}
			found = e
		}
	}
	return found
}

// header reads an image upload header under LXD's or Incus's name.
func header(r *http.Request, name string) string {
	if v := r.Header.Get("X-LXD-" + name); v != "" {
		return v
	}
	return r.Header.Get("X-Incus-" + name)
}

// createImage is POST /1.0/images: an upload (a unified tarball, or
// multipart metadata and rootfs), or a JSON body publishing an instance or
// snapshot. Both run as an operation whose metadata names the fingerprint.
func (q *query) createImage() {
	ctype, params, _ := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	var data []byte
	var fp string
	var source Object
	var body Object
	switch ctype {
	case "application/octet-stream":
		var err error
		if data, err = io.ReadAll(q.r.Body); err != nil {
			return
		}
		sum := sha256.Sum256(data)
		fp = hex.EncodeToString(sum[:])
	case "multipart/form-data":
		h := sha256.New()
		mr := multipart.NewReader(q.r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				q.fail(http.StatusBadRequest, "invalid multipart image: "+err.Error())
				return
			}
			chunk, _ := io.ReadAll(part)
			h.Write(chunk)
			data = append(data, chunk...)
		}
		fp = hex.EncodeToString(h.Sum(nil))
	default:
		if !q.decode(&body) {
			return
		}
		body = normalise(body)
		source, _ = body["source"].(map[string]any)
		switch t, _ := source["type"].(string); t {
		case "instance", "snapshot":
			name, _ := source["name"].(string)
			sum := sha256.Sum256([]byte(fmt.Sprint(name, time.Now().UnixNano())))
			fp = hex.EncodeToString(sum[:])
		default:
			q.fail(http.StatusNotImplemented, fmt.Sprintf("fakelxd: image sources of type %q are not implemented", t))
			return
		}
	}
	if body == nil {
		body = Object{"public": header(q.r, "public") == "1", "filename": header(q.r, "filename")}
		if props, err := url.ParseQuery(header(q.r, "properties")); err == nil && len(props) > 0 {
			p := Object{}
			for k := range props {
				p[k] = props.Get(k)
			}
			body["properties"] = p
		}
	}
	want := header(q.r, "fingerprint")
	s, project := q.s, q.project
	run := func(context.Context) (Object, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if want != "" && want != fp {
			return nil, fmt.Errorf("Fingerprints don't match, got %s expected %s", fp, want)
		}
		if source != nil {
			name, _ := source["name"].(string)
			segs := []string{"instances", name}
			if inst, snap, ok := strings.Cut(name, "/"); ok {
				segs = []string{"instances", inst, "snapshots", snap}
			}
			if s.store.get(project, segs) == nil {
				return nil, errInstanceNotFound
			}
		}
		if s.store.get(project, []string{"images", fp}) != nil {
			return nil, fmt.Errorf("Image with same fingerprint already exists")
		}
		s.addImageLocked(project, fp, body, data)
		return Object{"fingerprint": fp, "size": float64(len(data))}, nil
	}
	desc := "Downloading image"
	if source != nil {
		desc = "Publishing instance"
	}
	q.async(q.start(opSpec{description: desc, resources: resourcesOf(imageKind, objectPath("images", fp)), run: run}))
}

// addImageLocked stores an image and its aliases (given as LXD lists them:
// [{"name": …, "description": …}]).
func (s *Server) addImageLocked(project, fp string, fields Object, data []byte) *entry {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	obj := Object{"auto_update": false, "properties": Object{}, "public": false, "expires_at": "1970-01-01T00:00:00Z",
		"profiles": []any{"default"}, "architecture": "x86_64", "cached": false, "filename": "",
		"fingerprint": fp, "size": float64(len(data)), "type": "container", "created_at": now,
		"last_used_at": zeroTime, "uploaded_at": now}
	aliases := asList(fields["aliases"])
	for k, v := range fields {
		if k != "aliases" && k != "source" {
			obj[k] = v
		}
	}
	e := s.store.put(project, []string{"images", fp}, obj)
	e.data = data
	for _, a := range aliases {
		ao := asObject(a)
		name, _ := ao["name"].(string)
		desc, _ := ao["description"].(string)
		s.store.put(project, []string{"images", "aliases", name},
			Object{"name": name, "description": desc, "target": fp, "type": "container"})
	}
	s.lifecycleLocked("image-created", e.url(), project)
	return e
}

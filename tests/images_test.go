package tests

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// busyboxTarball caches the export of the test bed's busybox image: every
// test image is made from it, on whichever server.
var busyboxTarball struct {
	sync.Mutex
	data []byte
}

// issue3Busybox returns the unified tarball of the test bed's busybox image.
func issue3Busybox(t testing.TB) []byte {
	t.Helper()
	busyboxTarball.Lock()
	defer busyboxTarball.Unlock()
	if busyboxTarball.data != nil {
		return busyboxTarball.data
	}
	c := restClient(t, mainSocket)
	alias := serverObject(t, c, rest.Path("images", "aliases", imageAlias))
	resp, cancel, err := c.Raw(context.Background(), &rest.Request{Method: "GET", Path: rest.Path("images", alias["target"].(string), "export")})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("exporting busybox: HTTP %d %v", resp.StatusCode, err)
	}
	busyboxTarball.data = data
	return data
}

// testImage is a fresh (uniquely fingerprinted) busybox image in both forms.
type testImage struct {
	unified      []byte
	meta, rootfs []byte // the same image split in two
	fp, splitFP  string
}

// issue3Image rewrites the busybox image with tag in its metadata, so every
// call yields new fingerprints; it schedules deletion of both forms.
func issue3Image(t testing.TB, socket, tag string) *testImage {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(issue3Busybox(t)))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var uni, meta, root tarGz
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Name == "metadata.yaml" {
			s := string(body)
			s = strings.Replace(s, "properties:\n", "properties:\n  lxdstar_tag: "+tag+"\n", 1)
			s = regexpReplaceDescription(s, "busybox test image "+tag)
			body = []byte(s)
			h.Size = int64(len(body))
			meta.add(t, h, body)
		}
		uni.add(t, h, body)
		if rel, ok := strings.CutPrefix(h.Name, "rootfs/"); ok && rel != "" {
			hc := *h
			hc.Name = rel
			root.add(t, &hc, body)
		}
	}
	img := &testImage{unified: uni.bytes(t), meta: meta.bytes(t), rootfs: root.bytes(t)}
	img.fp = sha256Hex(img.unified)
	img.splitFP = sha256Hex(append(append([]byte(nil), img.meta...), img.rootfs...))
	deleteImageLater(t, socket, img.fp)
	deleteImageLater(t, socket, img.splitFP)
	return img
}

func regexpReplaceDescription(yaml, desc string) string {
	var out []string
	for _, line := range strings.Split(yaml, "\n") {
		if strings.HasPrefix(line, "  description:") {
			line = "  description: " + desc
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

type tarGz struct {
	buf bytes.Buffer
	zw  *gzip.Writer
	tw  *tar.Writer
}

func (w *tarGz) add(t testing.TB, h *tar.Header, body []byte) {
	t.Helper()
	if w.tw == nil {
		w.zw, _ = gzip.NewWriterLevel(&w.buf, gzip.BestSpeed) // tests need new bytes, not small ones
		w.tw = tar.NewWriter(w.zw)
	}
	if err := w.tw.WriteHeader(h); err != nil {
		t.Fatal(err)
	}
	if _, err := w.tw.Write(body); err != nil {
		t.Fatal(err)
	}
}

func (w *tarGz) bytes(t testing.TB) []byte {
	t.Helper()
	if err := w.tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.zw.Close(); err != nil {
		t.Fatal(err)
	}
	return w.buf.Bytes()
}

func TestImagesCreateUnifiedSplitAndLaunch(t *testing.T) {
	parallelOnEachServer(t, testImagesCreateUnifiedSplitAndLaunch)
}

func testImagesCreateUnifiedSplitAndLaunch(t *testing.T, srv server) {
	a, b := issue3Image(t, srv.Socket, uniqueName("a")), issue3Image(t, srv.Socket, uniqueName("b"))
	inst := newInstanceName(t, srv.Socket, "img-launch")
	s := newScript(t, srv.Socket).with("A", starlark.Bytes(a.unified)).with("B", starlark.Bytes(b.unified)).
		with("META", starlark.Bytes(b.meta)).with("ROOTFS", starlark.Bytes(b.rootfs)).
		with("FPA", starlark.String(a.fp)).with("FPB", starlark.String(b.fp)).with("FPSPLIT", starlark.String(b.splitFP)).
		with("INST", starlark.String(inst))
	out := s.mustRun(`
c = lxd.Client()
img = c.images.create(A, wait=True)
print(img.fingerprint == FPA, img.type, img.operation, img.public, img.size == len(A), img.dirty)

img2 = c.images.create(B, public=True)
print(img2.fingerprint == FPB, img2.operation != None)
img2.operation.wait()
print(img2.operation, img2.public, img2.architecture)

split = c.images.create(ROOTFS, metadata=META, wait=True)
print(split.fingerprint == FPSPLIT, split.properties["lxdstar_tag"] != "")
new = c.instances.create({"name": INST, "source": {"type": "image", "fingerprint": split.fingerprint}}, wait=True)
new.start(wait=True)
print(new.status)

print(FPA in [i.fingerprint for i in c.images.all()])
r = catch(c.images.create, "not bytes")
print(r.error.message)
`)
	want := `True container None False True False
True True
None True x86_64
True True
Running
True
images.create: for parameter image_data: got string, want bytes
`
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	c := restClient(t, srv.Socket)
	for fp, public := range map[string]bool{a.fp: false, b.fp: true, b.splitFP: false} {
		got := serverObject(t, c, rest.Path("images", fp))
		if got["fingerprint"] != fp || got["public"] != public {
			t.Errorf("server has %v public=%v", got["fingerprint"], got["public"])
		}
	}
	if st := serverObject(t, c, rest.Path("instances", inst)); st["status"] != "Running" {
		t.Fatalf("instance from the split image is %v", st["status"])
	}
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256Hex(data)
}

func TestImagesExport(t *testing.T) { parallelOnEachServer(t, testImagesExport) }

func testImagesExport(t *testing.T, srv server) {
	img := issue3Image(t, srv.Socket, uniqueName("exp"))
	dir := t.TempDir()
	s := newScript(t, srv.Socket).with("DATA", starlark.Bytes(img.unified)).with("META", starlark.Bytes(img.meta)).
		with("ROOTFS", starlark.Bytes(img.rootfs)).with("DIR", starlark.String(dir))
	out := s.mustRun(`
c = lxd.Client()
img = c.images.create(DATA, wait=True)
data = img.export()
print(data == DATA, type(data))
img.export_to(DIR + "/unified.tar.gz")
r = catch(img.export_to, DIR + "/missing/dir/x.tar.gz")
print(r.error != None)

split = c.images.create(ROOTFS, metadata=META, wait=True)
r = catch(split.export)
print("export_to" in r.error.message)
split.export_to(DIR + "/split")
`)
	if out != "True bytes\nTrue\nTrue\n" {
		t.Fatalf("got %q", out)
	}
	if got := fileSHA(t, filepath.Join(dir, "unified.tar.gz")); got != img.fp {
		t.Fatalf("export_to wrote sha256 %s, want %s", got, img.fp)
	}
	meta, err1 := os.ReadFile(filepath.Join(dir, "split"))
	root, err2 := os.ReadFile(filepath.Join(dir, "split.root"))
	if err1 != nil || err2 != nil || sha256Hex(append(meta, root...)) != img.splitFP {
		t.Fatalf("split export: %v %v, sha mismatch", err1, err2)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Fatalf("export left extra files: %v", entries)
	}
}

// corruptingProxy serves the daemon's API on a unix socket, flipping one
// byte of every image export, to show export_to rejects bad data.
func corruptingProxy(t *testing.T, socket string) string {
	t.Helper()
	return unixProxy(t, socket, func(rp *httputil.ReverseProxy) http.Handler {
		rp.ModifyResponse = func(resp *http.Response) error {
			if !strings.HasSuffix(resp.Request.URL.Path, "/export") {
				return nil
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			data[len(data)/2] ^= 0xff
			resp.Body = io.NopCloser(bytes.NewReader(data))
			return nil
		}
		return rp
	})
}

func TestImagesExportToRejectsCorruptData(t *testing.T) {
	parallelOnEachServer(t, testImagesExportToRejectsCorruptData)
}

func testImagesExportToRejectsCorruptData(t *testing.T, srv server) {
	img := issue3Image(t, srv.Socket, uniqueName("bad"))
	dir := t.TempDir()
	target := filepath.Join(dir, "img.tar.gz")
	s := newScript(t, srv.Socket).with("DATA", starlark.Bytes(img.unified)).with("TARGET", starlark.String(target)).
		with("PROXY", starlark.String(corruptingProxy(t, srv.Socket)))
	out := s.mustRun(`
img = lxd.Client().images.create(DATA, wait=True)
bad = lxd.Client(PROXY).images.get(img.fingerprint)
r = catch(bad.export_to, TARGET)
print(r.error.message)
r = catch(bad.export)
print(r.error.message)
`)
	if !strings.Contains(out, "not the image fingerprint "+img.fp) || strings.Count(out, "\n") != 2 {
		t.Fatalf("got %q", out)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("export_to left files behind: %v", entries)
	}
}

func TestImagesAliasesSaveDelete(t *testing.T) { parallelOnEachServer(t, testImagesAliasesSaveDelete) }

func testImagesAliasesSaveDelete(t *testing.T, srv server) {
	img := issue3Image(t, srv.Socket, uniqueName("alias"))
	alias := uniqueName("ns") + "/sub/1.0"
	s := newScript(t, srv.Socket).with("DATA", starlark.Bytes(img.unified)).with("ALIAS", starlark.String(alias)).with("FP", starlark.String(img.fp))
	out := s.mustRun(`
c = lxd.Client()
img = c.images.create(DATA, wait=True)
img.add_alias(ALIAS, "with slashes")
print([a["name"] for a in img.aliases] == [ALIAS])
print(repr(img).startswith('<Image "' + FP[:12]) and repr(img).endswith(" %s>" % ALIAS))
got = c.images.get_by_alias(ALIAS)
print(got == img, got.fingerprint == FP)
print(c.images.exists(ALIAS, alias=True), c.images.exists(FP), c.images.exists("0" * 64), c.images.exists(ALIAS))

img.properties["lxdstar.k"] = "v"
img.public = True
print(img.dirty)
img.save()
print(img.dirty, img.properties["lxdstar.k"], img.public)

busybox = c.images.get_by_alias("busybox")
r = catch(busybox.delete_alias, ALIAS)
print(r.error.kind, "belongs to image" in r.error.message)
r = catch(c.images.get_by_alias, "nope/" + ALIAS)
print(r.error.kind)
r = catch(img.copy, None)
print(r.error.message)
`)
	want := "True\nTrue\nTrue True\nTrue True False False\nTrue\nFalse v True\nNotFound True\nNotFound\nImage.copy: for parameter new_client: got NoneType, want Client\n"
	if out != want {
		t.Fatalf("got:\n%s\nwant:\n%s", out, want)
	}
	c := restClient(t, srv.Socket)
	a := serverObject(t, c, rest.Path("images", "aliases", alias))
	if a["target"] != img.fp || a["description"] != "with slashes" {
		t.Fatalf("alias on server: %v", a)
	}
	got := serverObject(t, c, rest.Path("images", img.fp))
	if got["public"] != true || got["properties"].(map[string]any)["lxdstar.k"] != "v" {
		t.Fatalf("server has public=%v properties=%v", got["public"], got["properties"])
	}

	out = s.mustRun(`
c = lxd.Client()
img = c.images.get(FP)
img.delete_alias(ALIAS)
print(img.aliases, c.images.exists(ALIAS, alias=True))
op = img.delete()
op.wait()
print(c.images.exists(FP))
`)
	if out != "[] False\nFalse\n" {
		t.Fatalf("got %q", out)
	}
	if serverExists(t, c, rest.Path("images", "aliases", alias)) || serverExists(t, c, rest.Path("images", img.fp)) {
		t.Fatal("alias or image still on the server")
	}
}

// imageServer is a loopback HTTP server that serves one image the way
// the "url" source and the simplestreams protocol of LXD and Incus expect
// (each looks for its own names: lxd_combined.tar.gz and LXD-Image-Hash,
// incus_combined.tar.gz and Incus-Image-Hash), and records the requests it
// gets.
type imageServer struct {
	URL  string
	mu   sync.Mutex
	reqs []string
}

func (s *imageServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reqs...)
}

func newImageServer(t *testing.T, img []byte, alias string) *imageServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &imageServer{URL: "http://" + ln.Addr().String()}
	fp := sha256Hex(img)
	products := map[string]any{
		"content_id": "images", "datatype": "image-downloads", "format": "products:1.0",
		"products": map[string]any{
			"busybox:test:amd64:default": map[string]any{
				"aliases": alias, "arch": "amd64", "os": "busybox", "release": "test", "release_title": "test",
				"versions": map[string]any{
					"20260101_00:00": map[string]any{"items": map[string]any{
						"lxd_combined.tar.gz":   map[string]any{"ftype": "lxd_combined.tar.gz", "path": "images/busybox.tar.gz", "sha256": fp, "size": len(img)},
						"incus_combined.tar.gz": map[string]any{"ftype": "incus_combined.tar.gz", "path": "images/busybox.tar.gz", "sha256": fp, "size": len(img)},
					}},
				},
			},
		},
	}
	index := map[string]any{"format": "index:1.0", "index": map[string]any{"images": map[string]any{
		"datatype": "image-downloads", "path": "streams/v1/images.json", "format": "products:1.0",
		"products": []string{"busybox:test:amd64:default"},
	}}}
	mux := http.NewServeMux()
	mux.HandleFunc("/streams/v1/index.json", func(w http.ResponseWriter, r *http.Request) { _ = json.NewEncoder(w).Encode(index) })
	mux.HandleFunc("/streams/v1/images.json", func(w http.ResponseWriter, r *http.Request) { _ = json.NewEncoder(w).Encode(products) })
	mux.HandleFunc("/images/busybox.tar.gz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(img) })
	// The "url" source: a HEAD (or GET) answered with the image's hash and
	// where to download it.
	mux.HandleFunc("/lxd-image", func(w http.ResponseWriter, r *http.Request) {
		for _, server := range []string{"LXD", "Incus"} {
			w.Header().Set(server+"-Image-Hash", fp)
			w.Header().Set(server+"-Image-URL", s.URL+"/images/busybox.tar.gz")
		}
	})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		arch := cmp.Or(r.Header.Get("LXD-Server-Architectures"), r.Header.Get("Incus-Server-Architectures"))
		s.reqs = append(s.reqs, fmt.Sprintf("%s %s arch=%q", r.Method, r.URL.Path, arch))
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

func TestImagesCreateFromURL(t *testing.T) { parallelOnEachServer(t, testImagesCreateFromURL) }

func testImagesCreateFromURL(t *testing.T, srv server) {
	img := issue3Image(t, srv.Socket, uniqueName("url"))
	imgs := newImageServer(t, img.unified, "unused")
	s := newScript(t, srv.Socket).with("URL", starlark.String(imgs.URL+"/lxd-image")).with("FP", starlark.String(img.fp))
	out := s.mustRun(`
c = lxd.Client()
img = c.images.create_from_url(URL, public=True, wait=True)
print(type(img), img.fingerprint == FP, img.public)
r = catch(c.images.create_from_url, "ftp://x")
print(r.error.message)
`)
	if out != "Image True True\nimages.create_from_url: for parameter url: want an http(s) URL, got \"ftp://x\"\n" {
		t.Fatalf("got %q", out)
	}
	reqs := strings.Join(imgs.requests(), "\n")
	if !strings.Contains(reqs, `HEAD /lxd-image arch="x86_64`) || !strings.Contains(reqs, "GET /images/busybox.tar.gz") {
		t.Fatalf("the image server saw:\n%s", reqs)
	}
	if got := serverObject(t, restClient(t, srv.Socket), rest.Path("images", img.fp)); got["public"] != true {
		t.Fatalf("server has %v", got)
	}
}

func TestImagesCreateFromSimplestreams(t *testing.T) {
	parallelOnEachServer(t, testImagesCreateFromSimplestreams)
}

func testImagesCreateFromSimplestreams(t *testing.T, srv server) {
	img := issue3Image(t, srv.Socket, uniqueName("ss"))
	alias := uniqueName("ssalias")
	imgs := newImageServer(t, img.unified, alias)
	s := newScript(t, srv.Socket).with("SERVER", starlark.String(imgs.URL)).with("ALIAS", starlark.String(alias)).with("FP", starlark.String(img.fp))
	out := s.mustRun(`
c = lxd.Client()
op = c.images.create_from_simplestreams(SERVER, ALIAS)
print(type(op))
img = op.wait()
print(type(img), img.fingerprint == FP, img.public, img.auto_update)
r = catch(c.images.create_from_simplestreams, SERVER, "no-such-alias", wait=True)
print(r.error.kind)
`)
	if out != "Operation\nImage True False False\nLXDAPIException\n" {
		t.Fatalf("got %q\nimage server saw:\n%s", out, strings.Join(imgs.requests(), "\n"))
	}
	reqs := strings.Join(imgs.requests(), "\n")
	for _, want := range []string{"GET /streams/v1/index.json", "GET /streams/v1/images.json", "GET /images/busybox.tar.gz"} {
		if !strings.Contains(reqs, want) {
			t.Fatalf("image server did not see %q:\n%s", want, reqs)
		}
	}
	got := serverObject(t, restClient(t, srv.Socket), rest.Path("images", img.fp))
	if got["fingerprint"] != img.fp {
		t.Fatalf("server has %v", got)
	}
}

package lxdmod

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

var imageType = newType(&modelType{
	name:       "Image",
	writable:   []string{"properties", "public", "auto_update", "expires_at", "profiles"},
	key:        "fingerprint",
	shortKey:   12,
	collection: func(string) string { return rest.Path("images") },
	describe:   imageDescribe,
})

// The image methods are added in init: copy makes an image.
func init() {
	imageType.addMethods(map[string]methodFn{
		"export":       imageExport,
		"export_to":    imageExportTo,
		"add_alias":    imageAddAlias,
		"delete_alias": imageDeleteAlias,
		"copy":         imageCopy,
	})
}

// imageDescribe adds the first alias, else the description property, to
// repr: <Image "a9b67f…" busybox>.
func imageDescribe(m *Model) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	aliases, _ := m.fieldLocked("aliases")
	if l, ok := aliases.(*starlark.List); ok && l.Len() > 0 {
		if d, ok := l.Index(0).(*starlark.Dict); ok {
			if v, found, _ := d.Get(starlark.String("name")); found {
				if s, ok := starlark.AsString(v); ok && s != "" {
					return s
				}
			}
		}
	}
	properties, _ := m.fieldLocked("properties")
	if d, ok := properties.(*starlark.Dict); ok {
		if v, found, _ := d.Get(starlark.String("description")); found {
			if s, ok := starlark.AsString(v); ok && s != "" {
				return fmt.Sprintf("%q", s)
			}
		}
	}
	return ""
}

var imagesKind = newKind("images", imageType, collectionMethods, map[string]methodFn{
	"exists":                    imagesExists,
	"get_by_alias":              imagesGetByAlias,
	"create":                    imagesCreate,
	"create_from_simplestreams": imagesCreateFromSimplestreams,
	"create_from_url":           imagesCreateFromURL,
})

// imageModel returns a not-yet-loaded Image for fingerprint.
func imageModel(c *Client, fingerprint string) *Model {
	m := newModel(imageType, c, "")
	seed := starlark.NewDict(1)
	_ = seed.SetKey(starlark.String("fingerprint"), starlark.String(fingerprint))
	m.load(dictFields(seed), "")
	return m
}

// fetchImage reads the image with this fingerprint.
func fetchImage(thread *starlark.Thread, c *Client, fingerprint string) (*Model, error) {
	m := imageModel(c, fingerprint)
	if err := m.refresh(ctxOf(thread), false); err != nil {
		return nil, err
	}
	return m, nil
}

func aliasPath(alias string) string { return rest.Path("images", "aliases", alias) }

func imagesExists(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var key nonEmpty
	var alias bool
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs, "fingerprint", &key, "alias?", &alias); err != nil {
		return nil, err
	}
	if alias {
		return exists(thread, g.c, aliasPath(string(key)))
	}
	return exists(thread, g.c, g.itemPath(string(key)))
}

// aliasTarget resolves an alias to the fingerprint it points at.
func aliasTarget(thread *starlark.Thread, c *Client, alias string) (string, error) {
	var entry struct {
		Target string `json:"target"`
	}
	if _, err := c.rest.Get(ctxOf(thread), aliasPath(alias), nil, &entry); err != nil {
		return "", rest.Annotate(err, fmt.Sprintf("image alias %q", alias))
	}
	return entry.Target, nil
}

func imagesGetByAlias(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var alias nonEmpty
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs, "alias", &alias); err != nil {
		return nil, err
	}
	fp, err := aliasTarget(thread, g.c, string(alias))
	if err != nil {
		return nil, err
	}
	return fetchImage(thread, g.c, fp)
}

// imagesCreate uploads an image: image_data is a unified tarball, or with
// metadata the rootfs of a split image. The fingerprint (sha256 of the
// data, or of metadata then rootfs) is computed here, sent for LXD to
// check, and the Image is returned in both wait modes.
func imagesCreate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	fn := g.fn(b)
	var (
		rootfs       starlark.Bytes
		meta         starargs.Opt[starlark.Bytes]
		public, wait bool
	)
	if err := starlark.UnpackArgs(fn, args, kwargs, "image_data", &rootfs, "metadata?", &meta, "public?", &public, "wait?", &wait); err != nil {
		return nil, err
	}
	h := sha256.New()
	up := rest.ImageUpload{Public: public}
	if meta.Set {
		io.WriteString(h, string(meta.Value))
		up.Meta = strings.NewReader(string(meta.Value))
		up.VM = isQcow2(string(rootfs))
	}
	io.WriteString(h, string(rootfs))
	up.Rootfs = strings.NewReader(string(rootfs))
	up.Fingerprint = hex.EncodeToString(h.Sum(nil))
	m := imageModel(g.c, up.Fingerprint)
	return g.c.run(thread, rest.ImageUploadRequest(up), wait, m.createSpec())
}

// isQcow2 recognises a VM disk image, which LXD wants as part "rootfs.img".
func isQcow2(data string) bool { return strings.HasPrefix(data, "QFI\xfb") }

func imagesCreateFromSimplestreams(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var server imageURL
	var alias nonEmpty
	var public, autoUpdate, wait bool
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs, "server", &server, "alias", &alias,
		"public?", &public, "auto_update?", &autoUpdate, "wait?", &wait); err != nil {
		return nil, err
	}
	body := map[string]any{"public": public, "auto_update": autoUpdate, "source": map[string]any{
		"type": "image", "mode": "pull", "server": string(server), "protocol": "simplestreams", "alias": string(alias),
	}}
	return publishImage(thread, g.c, body, wait)
}

func imagesCreateFromURL(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	g := mgr(b)
	var u imageURL
	var public, autoUpdate, wait bool
	if err := starlark.UnpackArgs(g.fn(b), args, kwargs, "url", &u, "public?", &public, "auto_update?", &autoUpdate, "wait?", &wait); err != nil {
		return nil, err
	}
	body := map[string]any{"public": public, "auto_update": autoUpdate, "source": map[string]any{"type": "url", "url": string(u)}}
	return publishImage(thread, g.c, body, wait)
}

// imageURL is where images come from: an http(s) URL. Anything else is
// refused here, as LXD would only refuse it later with a vaguer message.
type imageURL string

func (i *imageURL) Unpack(v starlark.Value) error {
	s, err := starargs.String(v)
	if err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http(s) URL, got %q", s)
	}
	*i = imageURL(s)
	return nil
}

// publishImage starts an image-making POST /1.0/images whose fingerprint
// only the finished operation knows (publish, simplestreams, url): the Image
// with wait=True, else the pending Operation, whose wait() returns it.
func publishImage(thread *starlark.Thread, c *Client, body map[string]any, wait bool) (starlark.Value, error) {
	req := rest.Post(rest.Path("images"), body)
	return c.asyncFromOperation(thread, req, wait, "publish", func(thread *starlark.Thread, op *rest.Operation) (starlark.Value, error) {
		fp, _ := op.Metadata["fingerprint"].(string)
		if fp == "" {
			return nil, &rest.Error{Kind: rest.KindAPI, Message: fmt.Sprintf("operation %s ended without an image fingerprint", op.ID)}
		}
		return fetchImage(thread, c, fp)
	})
}

// asyncFromOperation is for methods whose result is read from the
// finished operation's metadata.
func (c *Client) asyncFromOperation(thread *starlark.Thread, req *rest.Request, wait bool, what string,
	finish func(*starlark.Thread, *rest.Operation) (starlark.Value, error)) (starlark.Value, error) {
	return c.run(thread, req, wait, opSpec{what: what, result: func(thread *starlark.Thread, final *rest.Operation) (starlark.Value, error) {
		if final == nil || final.ID == "" {
			return nil, &rest.Error{Kind: rest.KindConnection, Message: req.Method + " " + req.Path + ": expected an operation, got a synchronous answer"}
		}
		return finish(thread, final)
	}})
}

// imageExport returns a unified image's tarball as bytes, checking its
// sha256 against the fingerprint.
func imageExport(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	fn := qualified(m, b)
	if err := starlark.UnpackArgs(fn, args, kwargs); err != nil {
		return nil, err
	}
	fp := m.key()
	var sb strings.Builder
	h := sha256.New()
	err := m.c.rest.ExportImage(ctxOf(thread), fp, func(kind string, r io.Reader) error {
		if kind != rest.ExportUnified {
			return fmt.Errorf("%s is a split image (metadata and rootfs): use export_to(path), which writes path and path + \".root\"", shortFingerprint(fp))
		}
		if size := imageSize(m); size > 0 && size < 1<<31 {
			sb.Grow(int(size))
		}
		_, err := io.Copy(io.MultiWriter(&sb, h), r)
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := checkFingerprint(fp, h.Sum(nil)); err != nil {
		return nil, err
	}
	return starlark.Bytes(sb.String()), nil
}

// imageSize is the size LXD reported for the image (0 if unknown).
func imageSize(m *Model) int64 {
	i, ok := m.field("size").(starlark.Int)
	if !ok {
		return 0
	}
	v, _ := i.Int64()
	return v
}

func shortFingerprint(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}

// checkFingerprint compares a computed sha256 with the image fingerprint
// (which may be given as a prefix).
func checkFingerprint(fp string, sum []byte) error {
	got := hex.EncodeToString(sum)
	if fp == "" || !strings.HasPrefix(got, strings.ToLower(fp)) {
		return &rest.Error{Kind: rest.KindAPI, Message: fmt.Sprintf("exported data has sha256 %s, not the image fingerprint %s", got, fp)}
	}
	return nil
}

func imageAddAlias(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	var name nonEmpty
	var description string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "description?", &description); err != nil {
		return nil, err
	}
	body := map[string]any{"name": string(name), "description": description, "target": m.key()}
	if _, err := m.c.rest.Send(ctxOf(thread), rest.Post(rest.Path("images", "aliases"), body)); err != nil {
		return nil, err
	}
	return starlark.None, m.refresh(ctxOf(thread), true)
}

// imageDeleteAlias deletes an alias of this image; an alias of another
// image is refused rather than deleted.
func imageDeleteAlias(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	fn := b.Name()
	var alias nonEmpty
	if err := starlark.UnpackArgs(fn, args, kwargs, "name", &alias); err != nil {
		return nil, err
	}
	name := string(alias)
	target, err := aliasTarget(thread, m.c, name)
	if err != nil {
		return nil, err
	}
	if target != m.key() {
		return nil, &rest.Error{Kind: rest.KindNotFound, StatusCode: 404,
			Message: fmt.Sprintf("%s: alias %q belongs to image %s, not %s", fn, name, shortFingerprint(target), shortFingerprint(m.key()))}
	}
	if _, err := m.c.rest.Send(ctxOf(thread), rest.Delete(aliasPath(name))); err != nil {
		return nil, err
	}
	return starlark.None, m.refresh(ctxOf(thread), true)
}

func imageCopy(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	fn := b.Name()
	var (
		dst                *Client
		public, autoUpdate starargs.Opt[starlark.Bool] // None: as the source has it
		wait               bool
		alias              string
	)
	if err := maxPositional(fn, args, 4); err != nil {
		return nil, err
	}
	if err := starlark.UnpackArgs(fn, args, kwargs, "new_client", &dst, "public?", &public,
		"auto_update?", &autoUpdate, "wait?", &wait, "alias?", &alias); err != nil {
		return nil, err
	}
	body := map[string]any{}
	for param, v := range map[string]starargs.Opt[starlark.Bool]{"public": public, "auto_update": autoUpdate} {
		flag, _ := m.field(param).(starlark.Bool) // keep the source's setting
		if v.Set {
			flag = v.Value
		}
		body[param] = bool(flag)
	}
	if alias != "" {
		body["aliases"] = []map[string]any{{"name": alias}}
	}
	addr, err := m.c.httpsAddress()
	if err != nil {
		return nil, err
	}
	source := map[string]any{"type": "image", "mode": "pull", "protocol": pullProtocol(m.c, dst), "server": addr,
		"certificate": m.c.environment("certificate"), "fingerprint": m.key()}
	// A private image is fetched with a one-time secret from the source.
	abort := func() {}
	if m.field("public") != starlark.True {
		op, err := m.c.startOperation(ctxOf(thread), rest.Post(m.path()+"/secret", nil))
		if err != nil {
			return nil, fmt.Errorf("%s: asking the source for an image secret: %w", fn, err)
		}
		if op == nil {
			return nil, &rest.Error{Kind: rest.KindConnection, Message: fn + ": the source answered the secret request synchronously"}
		}
		secret, _ := op.Metadata["secret"].(string)
		source["secret"] = secret
		abort = func() { cancelOperation(m.c, op.ID) }
	}
	body["source"] = source
	img := imageModel(dst, m.key())
	spec := img.createSpec()
	spec.what, spec.abort = "copy", abort
	return dst.run(thread, rest.Post(rest.Path("images"), body), wait, spec)
}

// pullProtocol names the protocol dst pulls an image from src with: the one
// src speaks, "incus" for Incus, as far as dst knows it. LXD knows only
// "lxd" (LXD 5.0.2 fails "Unsupported protocol: incus"), which Incus also
// serves, so an Incus image reaches LXD over "lxd".
func pullProtocol(src, dst *Client) string {
	if src.server.Kind == rest.ServerIncus && dst.server.Kind == rest.ServerIncus {
		return "incus"
	}
	return "lxd"
}

// imageExportTo streams the image to the host file path (a split image:
// metadata to path, rootfs to path + ".root", as `lxc image export` does),
// atomically (exportFiles): only once the sha256 matches the fingerprint
// do the files appear.
var imageExportTo = exportToMethod(func(ctx context.Context, m *Model, dst string, put putFile) error {
	fp := m.key()
	h := sha256.New()
	err := m.c.rest.ExportImage(ctx, fp, func(kind string, r io.Reader) error {
		target := dst
		if kind == rest.ExportRootfs {
			target = dst + ".root"
		}
		return put(target, io.TeeReader(r, h))
	})
	if err != nil {
		return err
	}
	return checkFingerprint(fp, h.Sum(nil))
})

package lxdmod

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/starjson"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// Moving instances between servers uses LXD's pull mode: the source starts a
// migration operation whose websocket secrets the target uses to pull the
// instance over HTTPS. pylxd's version lost the type, ephemeral flag and
// profiles, copied volatile.* keys, deleted the source before the target had
// succeeded and failed inside clusters; each of those is handled here.

// transfer describes one copy or migration.
type transfer struct {
	src          *Model
	dst          *Client // where the instance lands (may be src.c)
	name         string  // name on the target
	target       string  // cluster member on the destination, or ""
	live         bool
	instanceOnly bool
	move         bool // delete the source once the target has it
}

// sameCluster reports whether a and b are members of one LXD cluster (or the
// same server): cluster members share the cluster certificate.
func sameCluster(a, b *Client) bool {
	if a == b {
		return true
	}
	if !a.cluster || !b.cluster {
		return a.rest.Endpoint() == b.rest.Endpoint()
	}
	return a.environment("certificate") == b.environment("certificate") && a.environment("certificate") != ""
}

// environment reads a string from host_info["environment"].
func (c *Client) environment(key string) string {
	env, found, _ := c.info.Get(starlark.String("environment"))
	if !found {
		return ""
	}
	d, ok := env.(*starlark.Dict)
	if !ok {
		return ""
	}
	v, _, _ := d.Get(starlark.String(key))
	s, _ := starlark.AsString(v)
	return s
}

// httpsAddress is where other servers reach c, from the addresses it
// advertises; a unix-socket client works as long as the server listens on HTTPS.
func (c *Client) httpsAddress() (string, error) {
	env, _, _ := c.info.Get(starlark.String("environment"))
	if d, ok := env.(*starlark.Dict); ok {
		if v, _, _ := d.Get(starlark.String("addresses")); v != nil {
			if l, ok := v.(*starlark.List); ok && l.Len() > 0 {
				if s, ok := starlark.AsString(l.Index(0)); ok && s != "" {
					return "https://" + s, nil
				}
			}
		}
	}
	return "", fmt.Errorf("the server at %s does not listen on HTTPS (set core.https_address): other servers cannot pull from it", c.rest.Endpoint())
}

// run performs the transfer. wait=False returns the new Instance with its
// .operation pending; the source is deleted (for a move) only once the
// target's operation has succeeded.
func (tr *transfer) run(thread *starlark.Thread, wait bool) (starlark.Value, error) {
	if sameCluster(tr.src.c, tr.dst) {
		return tr.runInCluster(thread, wait)
	}
	return tr.runPull(thread, wait)
}

// runInCluster moves or copies within one server or cluster: LXD does the
// work itself when given ?target=.
func (tr *transfer) runInCluster(thread *starlark.Thread, wait bool) (starlark.Value, error) {
	q := url.Values{}
	if tr.target != "" {
		q.Set("target", tr.target)
	}
	if tr.move {
		if tr.target == "" {
			return nil, fmt.Errorf("Instance.migrate: new_client is the same server or cluster: give target=<cluster member> to move the instance")
		}
		m := tr.src
		req := rest.Post(m.path(), map[string]any{"name": m.key(), "migration": true, "live": tr.live}).WithQuery(q)
		spec := m.createSpec() // the object itself, on its new member
		spec.what = "migration to " + tr.target
		return m.c.run(thread, req, wait, spec)
	}
	body, seed, err := tr.targetBody(thread, map[string]any{"type": "copy", "source": tr.src.key(), "instance_only": tr.instanceOnly})
	if err != nil {
		return nil, err
	}
	return tr.createOnTarget(thread, body, seed, q, wait, nil)
}

// runPull starts the migration source on the source server and has the
// destination pull from it.
func (tr *transfer) runPull(thread *starlark.Thread, wait bool) (starlark.Value, error) {
	m := tr.src
	if m.str("status") == "Running" && !tr.live && tr.move {
		return nil, &rest.Error{Kind: rest.KindAPI, Message: fmt.Sprintf(
			"cannot migrate running instance %q without live=True (live migration needs CRIU on both servers); stop it first", m.key())}
	}
	addr, err := m.c.httpsAddress()
	if err != nil {
		return nil, err
	}
	// Refuse a taken name up front: nothing is started, nothing to undo.
	if ok, err := exists(thread, tr.dst, rest.Path("instances", tr.name)); err != nil {
		return nil, err
	} else if ok == starlark.True {
		return nil, &rest.Error{Kind: rest.KindConflict, StatusCode: 409, Message: fmt.Sprintf("instance %q already exists on %s", tr.name, tr.dst.rest.Endpoint())}
	}
	srcOp, err := m.c.startOperation(ctxOf(thread), rest.Post(m.path(),
		map[string]any{"migration": true, "live": tr.live, "instance_only": tr.instanceOnly}))
	if err != nil {
		return nil, tr.refused(m.c, err)
	}
	if srcOp == nil {
		err = &rest.Error{Kind: rest.KindConnection, Message: "the migration source answered synchronously, without an operation"}
	}
	if err != nil {
		return nil, err
	}
	secrets := map[string]any{}
	for k, v := range srcOp.Metadata {
		if s, ok := v.(string); ok {
			secrets[k] = s
		}
	}
	body, seed, err := tr.targetBody(thread, map[string]any{
		"type": "migration", "mode": "pull",
		"operation":     addr + rest.Path("operations", srcOp.ID),
		"certificate":   m.c.environment("certificate"),
		"secrets":       secrets,
		"live":          tr.live,
		"instance_only": tr.instanceOnly,
	})
	if err != nil {
		cancelOperation(m.c, srcOp.ID)
		return nil, err
	}
	q := url.Values{}
	if tr.target != "" {
		q.Set("target", tr.target)
	}
	return tr.createOnTarget(thread, body, seed, q, wait, srcOp)
}

// refused names the server that refused a transfer between two servers:
// their own messages do not say which of the two is speaking, and an LXD
// and an Incus server accept different things (Incus's snapshots carry
// config keys LXD 5.0 does not know). Errors other than a server's refusal
// (cancelled, timed out, unreachable), and lxdstar's own, pass unchanged.
func (tr *transfer) refused(by *Client, err error) error {
	var e *rest.Error
	if !rest.IsKind(err, rest.KindAPI) || !errors.As(err, &e) {
		return err
	}
	verb, role, peer := "copy", "target", "from "+tr.src.c.describe()
	if tr.move {
		verb = "migration"
	}
	if by == tr.src.c {
		role, peer = "source", "to "+tr.dst.describe()
	}
	// The refusing server is what the error is about: its subject.
	cp := *e
	cp.Subject = fmt.Sprintf("%s (%s)", by.describe(), role)
	cp.Message = fmt.Sprintf("refused the %s of instance %q %s: %s", verb, tr.src.key(), peer, e.Message)
	return &cp
}

// describe names a server in messages: "Incus at /var/lib/incus/unix.socket".
func (c *Client) describe() string { return c.server.Name() + " at " + c.rest.Endpoint() }

// targetBody is the InstancesPost body built from a fresh read of the
// source (unsaved local edits are not copied): its definition without
// volatile.* keys, plus the given source. It also returns the seed of the
// new object.
func (tr *transfer) targetBody(thread *starlark.Thread, source map[string]any) (map[string]any, *starlark.Dict, error) {
	src, _, err := tr.src.c.getObject(ctxOf(thread), tr.src.path())
	if err != nil {
		return nil, nil, err
	}
	body := map[string]any{"name": tr.name}
	seed := starlark.NewDict(8)
	_ = seed.SetKey(starlark.String("name"), starlark.String(tr.name))
	for _, k := range []string{"type", "architecture", "config", "devices", "ephemeral", "profiles", "description"} {
		v, found, _ := src.Get(starlark.String(k))
		if !found {
			continue
		}
		g, err := starjson.ToGo(v, "source "+k)
		if err != nil {
			return nil, nil, err
		}
		body[k] = g
		_ = seed.SetKey(starlark.String(k), v)
	}
	if cfg, ok := body["config"].(map[string]any); ok {
		// The base image lets the target reuse an image it already has.
		if base, ok := cfg["volatile.base_image"].(string); ok {
			source["base-image"] = base
		}
		for k := range cfg {
			if strings.HasPrefix(k, "volatile.") {
				delete(cfg, k)
			}
		}
	}
	body["source"] = source
	_ = seed.SetKey(starlark.String("status"), starlark.String("Creating"))
	return body, seed, nil
}

// createOnTarget POSTs the new instance on the destination and returns it.
// For a move, the source follows the operation too, and is deleted only
// once the target exists; srcOp, the source's side of a migration between
// servers (nil inside one), is cancelled if the target fails.
func (tr *transfer) createOnTarget(thread *starlark.Thread, body map[string]any, seed *starlark.Dict, q url.Values, wait bool, srcOp *rest.Operation) (starlark.Value, error) {
	dst := newModel(instanceType, tr.dst, "")
	dst.load(dictFields(seed), "")
	spec := dst.createSpec()
	spec.what = "copy from " + tr.src.subject()
	spec.refused = func(err error) error { return tr.refused(tr.dst, err) }
	if srcOp != nil {
		spec.abort = func() { cancelOperation(tr.src.c, srcOp.ID) }
	}
	if tr.move {
		src := tr.src
		spec.what = "migration from " + src.subject()
		srcPath := src.path()
		spec.follows = append(spec.follows, &follow{m: src}) // gone afterwards: nothing to read
		spec.then = func(ctx context.Context, _ *rest.Operation) error {
			// The source's own migration operation may still be winding
			// down when the target's has ended (Incus 6.0 then refuses
			// the delete: "Instance is busy running a migrate
			// operation"). Its outcome no longer matters: the target has
			// the instance; a real problem shows in the delete.
			if srcOp != nil {
				_, _ = src.c.rest.WaitOperation(ctx, srcOp, time.Minute)
			}
			if err := src.c.complete(ctx, rest.Delete(srcPath)); err != nil {
				return fmt.Errorf("the instance reached %s but deleting the source failed: %w", tr.dst.rest.Endpoint(), err)
			}
			return nil
		}
	}
	return tr.dst.run(thread, rest.Post(rest.Path("instances"), body).WithQuery(q), wait, spec)
}

// cancelOperation gives up a migration source that will never be pulled, so
// the source instance is not left busy. Best effort: LXD also times it out.
func cancelOperation(c *Client, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = c.rest.CancelOperation(ctx, id)
}

func instanceMigrate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	m := receiver(b)
	var (
		newClient destination
		live      bool
		wait      bool
		target    string
	)
	// Before unpacking: a fourth positional argument would otherwise be
	// taken for target (and reported as a wrong type, not as too many).
	if err := maxPositional(b.Name(), args, 3); err != nil {
		return nil, err
	}
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "new_client?", &newClient, "live?", &live, "wait?", &wait, "target?", &target); err != nil {
		return nil, err
	}
	dst := newClient.to(m)
	if dst == m.c && target == "" {
		return nil, fmt.Errorf("%s: give new_client (another server) or target (a cluster member)", b.Name())
	}
	tr := &transfer{src: m, dst: dst, name: m.key(), target: target, live: live, move: true}
	return tr.run(thread, wait)
}

// copyElsewhere copies m to the client dst (m's own, or another server)
// and/or cluster member target.
func copyElsewhere(thread *starlark.Thread, m *Model, name string, dst *Client, target string, instanceOnly, wait bool) (starlark.Value, error) {
	tr := &transfer{src: m, dst: dst, name: name, target: target, instanceOnly: instanceOnly}
	return tr.run(thread, wait)
}

// destination is the new_client argument of copy and migrate: a Client,
// or None for the object's own.
type destination struct{ c *Client }

func (d *destination) Unpack(v starlark.Value) error {
	switch c := v.(type) {
	case starlark.NoneType:
		d.c = nil
	case *Client:
		d.c = c
	default:
		return fmt.Errorf("got %s, want Client or None", v.Type())
	}
	return nil
}

// to is the client the object goes to.
func (d destination) to(m *Model) *Client {
	if d.c == nil {
		return m.c
	}
	return d.c
}

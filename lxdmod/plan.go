package lxdmod

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/lxdstar/lxdstar/internal/desired"
	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/internal/starjson"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// client.plan and client.apply: desired state without a state file. The
// server holds everything: a plan reads the objects the specs name (and,
// to prune, the objects marked with the stack), internal/desired works
// out the changes, and apply carries them out.

// stackKey marks the objects an apply with stack= created or updated:
// prune deletes only objects that carry it.
const stackKey = "user.lxdstar.stack"

// Plan is the value client.plan returns: what apply would do.
type Plan struct {
	c *Client
	p *desired.Plan

	mu      sync.Mutex
	applied bool
	changes *starlark.List // built on first read
}

var _ starlark.HasAttrs = (*Plan)(nil)

func (pl *Plan) String() string        { return pl.p.String() }
func (pl *Plan) Type() string          { return "Plan" }
func (pl *Plan) Freeze()               {}
func (pl *Plan) Truth() starlark.Bool  { return starlark.Bool(!pl.p.Empty()) }
func (pl *Plan) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: Plan") }

var planMethods = newMethodTable("Plan", nil, map[string]methodFn{"apply": planApply})

func (pl *Plan) Attr(name string) (starlark.Value, error) {
	switch name {
	case "changes":
		return pl.changeList(), nil
	case "notes":
		notes := make([]starlark.Value, len(pl.p.Notes))
		for i, n := range pl.p.Notes {
			notes[i] = starlark.String(n.Kind.String() + " " + n.Name + ": " + n.Text)
		}
		l := starlark.NewList(notes)
		l.Freeze()
		return l, nil
	}
	return planMethods.attr(pl, name)
}

func (pl *Plan) AttrNames() []string { return []string{"apply", "changes", "notes"} }

// changeList is plan.changes: struct(action, kind, name, fields) for each
// change, fields {path: (old, new)} with None for absent.
func (pl *Plan) changeList() *starlark.List {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	if pl.changes != nil {
		return pl.changes
	}
	out := make([]starlark.Value, len(pl.p.Changes))
	for i, ch := range pl.p.Changes {
		fields := starlark.NewDict(len(ch.Fields))
		for _, f := range ch.Fields {
			_ = fields.SetKey(starlark.String(f.Path), starlark.Tuple{starjson.FromGo(f.Old), starjson.FromGo(f.New)})
		}
		out[i] = starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
			"action": starlark.String(ch.Action),
			"kind":   starlark.String(ch.Kind.String()),
			"name":   starlark.String(ch.Name),
			"fields": fields,
		})
	}
	pl.changes = starlark.NewList(out)
	pl.changes.Freeze()
	return pl.changes
}

// client.plan(specs, *, stack=None, prune=False) -> Plan
func clientPlan(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := b.Receiver().(*Client)
	a, err := unpackPlanArgs(b, args, kwargs, false)
	if err != nil {
		return nil, err
	}
	return c.plan(ctxOf(thread), b.Name(), a)
}

// client.apply(specs, *, stack=None, prune=False, wait=True) -> Plan
func clientApply(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	c := b.Receiver().(*Client)
	a, err := unpackPlanArgs(b, args, kwargs, true)
	if err != nil {
		return nil, err
	}
	pl, err := c.plan(ctxOf(thread), b.Name(), a)
	if err != nil {
		return nil, err
	}
	return pl.apply(thread, b.Name(), a.wait)
}

// plan.apply(wait=True) -> Plan
func planApply(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	wait := true
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "wait?", &wait); err != nil {
		return nil, err
	}
	return b.Receiver().(*Plan).apply(thread, b.Name(), wait)
}

type planArgs struct {
	specs specList
	stack stackName
	prune bool
	wait  bool
}

func unpackPlanArgs(b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, withWait bool) (planArgs, error) {
	fn := b.Name()
	a := planArgs{wait: true}
	if len(args) > 1 {
		return a, fmt.Errorf("%s: got %d positional arguments, want 1 (specs; the others are keyword-only)", fn, len(args))
	}
	pairs := []any{"specs", &a.specs, "stack?", &a.stack, "prune?", &a.prune}
	if withWait {
		pairs = append(pairs, "wait?", &a.wait)
	}
	if err := starlark.UnpackArgs(fn, args, kwargs, pairs...); err != nil {
		return a, err
	}
	if a.prune && a.stack == "" {
		return a, fmt.Errorf("%s: for parameter prune: prune=True needs stack= (only objects marked with a stack are ever deleted)", fn)
	}
	return a, nil
}

// specList is the specs argument: a list or tuple of specs.
type specList []*specValue

func (l *specList) Unpack(v starlark.Value) error {
	seq, ok := v.(starlark.Indexable)
	if _, isStr := v.(starlark.String); !ok || isStr {
		return fmt.Errorf("got %s, want a list of specs (lxd.instance(...), lxd.profile(...), ...)", v.Type())
	}
	out := make(specList, seq.Len())
	for i := range out {
		s, ok := seq.Index(i).(*specValue)
		if !ok {
			return fmt.Errorf("item %d is %s, want a spec (lxd.instance(...), lxd.profile(...), ...)", i, seq.Index(i).Type())
		}
		out[i] = s
	}
	*l = out
	return nil
}

// stackName is the stack= of plan and apply: a non-empty name, or None
// ("": no stack).
type stackName string

func (n *stackName) Unpack(v starlark.Value) error {
	var s starargs.OptString
	if err := s.Unpack(v); err != nil {
		return err
	}
	if s.Set && s.Value == "" {
		return errors.New("want a non-empty name or None")
	}
	*n = stackName(s.Value)
	return nil
}

// plan reads what the specs name and works out the changes. It sends
// reads only.
func (c *Client) plan(ctx context.Context, fn string, a planArgs) (*Plan, error) {
	specs := make([]desired.Spec, len(a.specs))
	handles := make([]*Model, len(a.specs))
	seen := map[string]int{}
	for i, s := range a.specs {
		specs[i], handles[i] = c.desiredSpec(s, string(a.stack))
		id := specs[i].Kind.String() + " " + specs[i].Path
		if j, dup := seen[id]; dup {
			return nil, fmt.Errorf("%s: for parameter specs: items %d and %d both describe %s", fn, j, i, handles[i].subject())
		}
		seen[id] = i
	}
	current := make([]*desired.Object, len(specs))
	err := desired.Read(ctx, len(specs), func(ctx context.Context, i int) error {
		obj, err := c.readObject(ctx, specs[i].Path)
		if err != nil {
			return rest.About(err, handles[i].subject())
		}
		current[i] = obj
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, rest.ContextError(ctx, fn)
		}
		return nil, err
	}
	for i, s := range a.specs {
		if _, hasSource := s.create["source"]; current[i] == nil && s.k.kind == desired.Instance && !hasSource {
			// LXD would answer only "Unknown source type".
			return nil, fmt.Errorf("%s: %s does not exist and its spec gives no source to create it from (source=\"<image alias>\" or a source dict)",
				fn, handles[i].subject())
		}
	}
	if err := c.noteSources(ctx, a.specs, current); err != nil {
		return nil, err
	}
	var gone []desired.Gone
	if a.prune {
		if gone, err = c.marked(ctx, string(a.stack), seen); err != nil {
			return nil, err
		}
	}
	return &Plan{c: c, p: desired.Make(specs, current, gone)}, nil
}

// desiredSpec turns a spec into what internal/desired works with; the
// model type's table gives the paths and the writable fields, and the
// returned handle names the object in messages.
func (c *Client) desiredSpec(s *specValue, stack string) (desired.Spec, *Model) {
	display := s.name()
	m := newModel(s.k.t, c, "")
	m.fields["name"] = starlark.String(s.name())
	collection := s.k.t.collection("")
	create := maps.Clone(s.create)
	create["name"] = s.name()
	if s.k.kind == desired.Volume {
		// Volumes are created where volumes.create creates them: under
		// their pool, in the collection of their type.
		pool, typ := s.key[0], s.create["type"].(string)
		m = newModel(s.k.t, c, pool)
		m.fields["name"], m.fields["type"] = starlark.String(s.name()), starlark.String(typ)
		collection = s.k.t.collection(pool) + "/" + url.PathEscape(typ)
		display = volumeDisplay(pool, typ, s.name())
	}
	fields := maps.Clone(s.fields)
	if stack != "" {
		config, _ := fields["config"].(map[string]any)
		config = maps.Clone(config)
		if config == nil {
			config = map[string]any{}
		}
		config[stackKey] = stack
		fields["config"] = config
	}
	var q url.Values
	if s.target != "" {
		q = url.Values{"target": {s.target}}
	}
	return desired.Spec{Kind: s.k.kind, Name: display, Path: m.path(), Collection: collection,
		CreateQuery: q, Writable: s.k.t.writable, Fields: fields, Create: create, Status: s.status}, m
}

// volumeDisplay names a volume in a plan: "pool/name" for a custom one.
func volumeDisplay(pool, typ, name string) string {
	if typ == "custom" {
		return pool + "/" + name
	}
	return pool + "/" + typ + "/" + name
}

// readObject reads one object as the server has it; nil when it does not
// exist (nor does its pool, for a volume).
func (c *Client) readObject(ctx context.Context, path string) (*desired.Object, error) {
	var raw json.RawMessage
	etag, err := c.rest.Get(ctx, path, nil, &raw)
	if errors.Is(err, rest.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var fields map[string]any
	if err := decodeExact(raw, &fields); err != nil {
		return nil, &rest.Error{Kind: rest.KindConnection, Message: "GET " + path + ": " + err.Error()}
	}
	return &desired.Object{Fields: fields, ETag: etag}, nil
}

// decodeExact decodes JSON keeping numbers exact, so that what is sent
// back in an update is what the server sent.
func decodeExact(data []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	return dec.Decode(v)
}

// noteSources notes existing instances created from another image than
// their spec's source says (a local image, by alias or fingerprint): the
// source matters only at creation, so this is a note, never a change.
// Each alias is read once.
func (c *Client) noteSources(ctx context.Context, specs []*specValue, current []*desired.Object) error {
	aliases := map[string]string{} // alias → fingerprint, "" when missing
	for i, s := range specs {
		src, _ := s.create["source"].(map[string]any)
		if current[i] == nil || src == nil || s.k.kind != desired.Instance {
			continue
		}
		if t, _ := src["type"].(string); t != "image" && t != "" {
			continue
		}
		if server, _ := src["server"].(string); server != "" {
			continue // a remote image: nothing to compare with locally
		}
		config, _ := current[i].Fields["config"].(map[string]any)
		base, _ := config["volatile.base_image"].(string)
		if base == "" {
			continue
		}
		want, _ := src["fingerprint"].(string)
		what := fmt.Sprintf("image %s", want)
		if alias, _ := src["alias"].(string); want == "" && alias != "" {
			fp, known := aliases[alias]
			if !known {
				var a struct{ Target string }
				_, err := c.rest.Get(ctx, rest.Path("images", "aliases", alias), nil, &a)
				switch {
				case errors.Is(err, rest.ErrNotFound):
				case err != nil:
					return rest.About(err, fmt.Sprintf("image alias %q", alias))
				default:
					fp = a.Target
				}
				aliases[alias] = fp
			}
			if fp == "" {
				current[i].Notes = append(current[i].Notes, fmt.Sprintf("source: the image alias %q does not exist (any more)", alias))
				continue
			}
			want, what = fp, fmt.Sprintf("image alias %q", alias)
		}
		if want != "" && !strings.HasPrefix(base, want) {
			current[i].Notes = append(current[i].Notes, fmt.Sprintf(
				"source: the %s is %.12s, the instance was created from %.12s: it is fixed at creation, and apply never re-creates an object",
				what, want, base))
		}
	}
	return nil
}

// marked lists the objects that carry the stack's mark and are not in
// the specs (keyed by kind and path in specified): the ones prune deletes.
func (c *Client) marked(ctx context.Context, stack string, specified map[string]int) ([]desired.Gone, error) {
	var gone []desired.Gone
	var pools []string
	for _, k := range specKinds() {
		var lists [][]map[string]any
		var parents []string
		switch k.kind {
		case desired.Volume:
			for _, p := range pools {
				objs, err := c.listObjects(ctx, k.t.collection(p))
				if errors.Is(err, rest.ErrNotFound) {
					continue // the pool was deleted since it was listed
				}
				if err != nil {
					return nil, err
				}
				lists, parents = append(lists, objs), append(parents, p)
			}
		default:
			objs, err := c.listObjects(ctx, k.t.collection(""))
			if err != nil {
				return nil, err
			}
			lists, parents = append(lists, objs), append(parents, "")
		}
		for li, objs := range lists {
			for _, obj := range objs {
				name, _ := obj["name"].(string)
				if k.kind == desired.StoragePool {
					pools = append(pools, name)
				}
				config, _ := obj["config"].(map[string]any)
				if mark, _ := config[stackKey].(string); mark != stack || name == "" {
					continue
				}
				m := newModel(k.t, c, parents[li])
				m.fields["name"] = starlark.String(name)
				display := name
				if k.kind == desired.Volume {
					typ, _ := obj["type"].(string)
					m.fields["type"] = starlark.String(typ)
					display = volumeDisplay(parents[li], typ, name)
				}
				if _, inSpecs := specified[k.kind.String()+" "+m.path()]; inSpecs {
					continue
				}
				status, _ := obj["status"].(string)
				gone = append(gone, desired.Gone{Kind: k.kind, Name: display, Path: m.path(), Status: status})
			}
		}
	}
	return gone, nil
}

// listObjects reads a collection in one request (recursion=1).
func (c *Client) listObjects(ctx context.Context, path string) ([]map[string]any, error) {
	var raw json.RawMessage
	if _, err := c.rest.Get(ctx, path, url.Values{"recursion": {"1"}}, &raw); err != nil {
		return nil, err
	}
	var out []map[string]any
	if err := decodeExact(raw, &out); err != nil {
		return nil, &rest.Error{Kind: rest.KindConnection, Message: "GET " + path + ": " + err.Error()}
	}
	return out, nil
}

// apply carries the plan out (or, in a dry run, prints it and changes
// nothing). wait=False returns at once an Operation whose wait() returns
// the plan; its failure is reported as an LXD operation's would be.
func (pl *Plan) apply(thread *starlark.Thread, fn string, wait bool) (starlark.Value, error) {
	c := pl.c
	if c.rest.DryRun() {
		show(thread, pl.p.String())
	} else {
		pl.mu.Lock()
		applied := pl.applied
		pl.applied = true
		pl.mu.Unlock()
		if applied {
			return nil, fmt.Errorf("%s: this plan was applied already: make a new one with client.plan(...)", fn)
		}
	}
	if wait {
		if err := pl.run(ctxOf(thread)); err != nil {
			return nil, err
		}
		return pl, nil
	}
	spec := opSpec{what: "apply", result: func(*starlark.Thread, *rest.Operation) (starlark.Value, error) { return pl, nil }}
	return c.startLocal(thread, "Applying a plan", spec, pl.run), nil
}

// run makes the plan's changes: nothing in a dry run.
func (pl *Plan) run(ctx context.Context) error {
	if pl.c.rest.DryRun() {
		return nil
	}
	return pl.p.Run(ctx, desired.MaxConcurrent, pl.c.applyRequest)
}

// applyRequest sends one request of a change and waits for its operation.
// An update whose ETag moved while the fields it was planned against did
// not (LXD's instance ETag covers its profiles' content, which the plan
// may just have changed) is sent again under the new ETag; otherwise the
// object changed since the plan was made, and nothing is written to it.
func (c *Client) applyRequest(ctx context.Context, _ *desired.Change, r desired.Request) error {
	req := &rest.Request{Method: r.Method, Path: r.Path, Query: r.Query, Body: r.Body}
	etag := r.IfMatch
	// reread returns the object's ETag now, when what the update was
	// planned against is unchanged (else the planned one, which fails).
	reread := func() string {
		if now, err := c.readObject(ctx, r.Path); err == nil && now != nil && now.ETag != "" && desired.Unchanged(r.Basis, now.Fields) {
			return now.ETag
		}
		return etag
	}
	if r.Reread {
		etag = reread()
	}
	if etag != "" {
		req.Header = http.Header{"If-Match": {etag}}
	}
	err := c.complete(ctx, req)
	var e *rest.Error
	if errors.As(err, &e) && e.StatusCode == http.StatusPreconditionFailed && r.Basis != nil && !r.Reread {
		if now := reread(); now != etag {
			req.Header = http.Header{"If-Match": {now}}
			err = c.complete(ctx, req)
		}
	}
	if errors.As(err, &e) && e.StatusCode == http.StatusPreconditionFailed {
		return &rest.Error{Kind: rest.KindConflict, StatusCode: e.StatusCode, Err: e,
			Message: "it changed on the server since the plan was made (" + e.Message + "); nothing was written to it: make a new plan"}
	}
	return err
}

// show prints a line as the script's print does.
func show(thread *starlark.Thread, msg string) {
	if thread.Print != nil {
		thread.Print(thread, msg)
		return
	}
	fmt.Fprintln(os.Stderr, msg)
}

// startLocal runs work, lxdstar's own rather than one LXD operation, in
// the background as an Operation of the script: recorded in the ledger
// like those started with wait=False, so that its failure is reported if
// nobody waits for it; cancel() stops it.
func (c *Client) startLocal(thread *starlark.Thread, description string, spec opSpec, work func(ctx context.Context) error) *Operation {
	spec.where = callerPos(thread)
	spec.local = true
	spec.then = func(ctx context.Context, _ *rest.Operation) error { return work(ctx) }
	o := &Operation{c: c, spec: spec, state: &rest.Operation{ID: "lxdstar-" + newLocalID(), Description: description,
		Status: "Running", StatusCode: 103, Metadata: map[string]any{}}}
	c.ledger.add(o)
	p := c.rest.Background(c.life, o.state, func(ctx context.Context) error { return o.afterEnd(ctx, nil, nil) })
	o.mu.Lock()
	o.pending = p
	o.mu.Unlock()
	return o
}

// newLocalID names local work among operations (it has no LXD id).
func newLocalID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

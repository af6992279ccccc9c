package lxdmod

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/jsonscan"
	"github.com/lxdstar/lxdstar/internal/threadctx"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// Client is the Starlark lxd.Client: one connection to one LXD server, in
// one project, and the managers hanging off it.
type Client struct {
	rest *rest.Client
	// life bounds background work started on the script's behalf (watchers
	// of operations started with wait=False).
	life     context.Context
	info     *starlark.Dict // GET /1.0 metadata, frozen
	server   rest.ServerInfo
	auth     string
	exts     map[string]bool
	cluster  bool
	managers map[string]starlark.Value
	progress *progressBoard // nil: no progress output
	// ledger holds the operations started with wait=False until their
	// outcome reached the script; one per lxd module (per run).
	ledger *ledger
}

var _ starlark.HasAttrs = (*Client)(nil)

func (c *Client) String() string {
	if p := c.rest.Project(); p != "" {
		return fmt.Sprintf("<Client %s project=%s>", c.rest.Endpoint(), p)
	}
	return fmt.Sprintf("<Client %s>", c.rest.Endpoint())
}
func (c *Client) Type() string          { return "Client" }
func (c *Client) Freeze()               {}
func (c *Client) Truth() starlark.Bool  { return true }
func (c *Client) Hash() (uint32, error) { return starlark.String(c.String()).Hash() }

// Rest returns the underlying REST client (for Go hosts).
func (c *Client) Rest() *rest.Client { return c.rest }

// connect builds a Client and checks the server with GET /1.0.
func connect(ctx, life context.Context, cfg rest.Config) (*Client, error) {
	rc, err := rest.New(cfg)
	if err != nil {
		return nil, err
	}
	return wrapClient(ctx, life, rc)
}

func wrapClient(ctx, life context.Context, rc *rest.Client) (*Client, error) {
	resp, err := rc.Server(ctx)
	if err != nil {
		var e *rest.Error
		isRest := errors.As(err, &e)
		// An HTTP answer that is no API envelope (no response parsed, but
		// a status), or an envelope that is no server description: some
		// other web server listens there.
		if isRest && ((resp == nil && e.StatusCode != 0) || (resp != nil && resp.Type != "error")) {
			return nil, &rest.Error{Kind: rest.KindConnection,
				Message: fmt.Sprintf("%s is neither an LXD nor an Incus server: %s", rc.Endpoint(), e.Message)}
		}
		if isRest && e.Kind == rest.KindConnection {
			return nil, err
		}
		return nil, fmt.Errorf("connecting to %s: %w", rc.Endpoint(), err)
	}
	meta, err := rest.ParseServerInfo(resp.Metadata)
	if err != nil {
		return nil, err
	}
	info, err := fromJSON(resp.Metadata)
	if err != nil {
		return nil, err
	}
	infoDict, ok := info.(*starlark.Dict)
	if !ok {
		return nil, &rest.Error{Kind: rest.KindConnection, Message: "GET /1.0 from " + rc.Endpoint() + " did not return an object"}
	}
	infoDict.Freeze()
	if p := rc.Project(); p != "" && p != "default" && meta.Auth == "trusted" {
		// A mistyped project would otherwise surface as "not found" on
		// whatever the script touches first.
		if _, err := rc.Do(ctx, &rest.Request{Method: "GET", Path: rest.Path("projects", p), NoProject: true}); err != nil {
			return nil, rest.About(err, fmt.Sprintf("project %q", p))
		}
	}
	c := &Client{rest: rc, life: life, info: infoDict, server: meta, auth: meta.Auth, cluster: meta.Clustered,
		exts: map[string]bool{}, managers: map[string]starlark.Value{}}
	for _, e := range meta.Extensions {
		c.exts[e] = true
	}
	// When the script (or REPL session) ends, so do the keep-alive
	// connections it opened: a host running many scripts must not
	// accumulate idle connections and their goroutines for 90 s each.
	context.AfterFunc(life, rc.CloseIdleConnections)
	for name, mk := range clientManagers {
		if m := mk(c); m != nil {
			c.managers[name] = m
		}
	}
	return c, nil
}

// newClientBuiltin implements lxd.Client(...), taking defaults from cfg;
// the clients it makes record their unwaited operations in l.
func newClientBuiltin(cfg Config, l *ledger) *starlark.Builtin {
	return starlark.NewBuiltin("Client", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var (
			endpoint, project, remote starlark.Value = starlark.None, starlark.None, starlark.None
			cert, timeout             starlark.Value = starlark.None, starlark.None
			verify                    starlark.Value = starlark.True
			version                                  = "1.0"
		)
		if err := starlark.UnpackArgs("lxd.Client", args, kwargs,
			"endpoint?", &endpoint, "version?", &version, "cert?", &cert, "verify?", &verify,
			"timeout?", &timeout, "project?", &project, "remote?", &remote); err != nil {
			return nil, err
		}
		if len(args) > 6 {
			return nil, fmt.Errorf("lxd.Client: remote is keyword-only")
		}
		if version != "1.0" {
			return nil, fmt.Errorf("lxd.Client: for parameter version: only \"1.0\" is supported, got %q", version)
		}
		var c *Client
		var err error
		if cfg.Client != nil && endpoint == starlark.None && remote == starlark.None && cert == starlark.None && timeout == starlark.None && !hasKw(kwargs, "verify") {
			shared := cfg.Client
			if p, ok := project.(starlark.String); ok {
				shared = shared.WithProject(string(p))
			}
			if cfg.DryRun {
				shared = shared.WithDryRun()
			}
			c, err = wrapClient(threadctx.From(thread), threadctx.Session(thread), shared)
		} else {
			var rc rest.Config
			if rc, err = restConfig(cfg, endpoint, cert, verify, timeout, project, remote, hasKw(kwargs, "verify")); err != nil {
				return nil, err
			}
			c, err = connect(threadctx.From(thread), threadctx.Session(thread), rc)
		}
		if err != nil {
			return nil, err
		}
		c.ledger = l
		if cfg.Progress != nil {
			c.progress = newProgressBoard(cfg.Progress, c.rest)
			c.rest = c.rest.WithTransfers(c.progress.transfer)
		}
		return c, nil
	})
}

func hasKw(kwargs []starlark.Tuple, name string) bool {
	for _, kv := range kwargs {
		if s, _ := starlark.AsString(kv[0]); s == name {
			return true
		}
	}
	return false
}

func optString(v starlark.Value, fn, param string) (string, error) {
	if v == starlark.None {
		return "", nil
	}
	s, ok := v.(starlark.String)
	if !ok {
		return "", fmt.Errorf("%s: for parameter %s: got %s, want string or None", fn, param, v.Type())
	}
	return string(s), nil
}

// restConfig merges lxd.Client's arguments with the host's defaults.
func restConfig(cfg Config, endpoint, cert, verify, timeout, project, remote starlark.Value, verifyGiven bool) (rest.Config, error) {
	const fn = "lxd.Client"
	out := rest.Config{Endpoint: cfg.Endpoint, Project: cfg.Project, Timeout: cfg.Timeout, Trace: cfg.Trace,
		CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, Insecure: cfg.Insecure, Getenv: cfg.Getenv, DryRun: cfg.DryRun}
	r, err := optString(remote, fn, "remote")
	if err != nil {
		return out, err
	}
	if r != "" && endpoint != starlark.None {
		return out, fmt.Errorf("%s: give endpoint or remote, not both", fn)
	}
	if r == "" && endpoint == starlark.None {
		r = cfg.Remote
	}
	if r != "" {
		if err := applyRemote(&out, r, cfg.Getenv); err != nil {
			return out, err
		}
	}
	if endpoint != starlark.None {
		if out.Endpoint, err = optString(endpoint, fn, "endpoint"); err != nil {
			return out, err
		}
		out.Endpoint = strings.TrimRight(out.Endpoint, "/")
	}
	if project != starlark.None {
		if out.Project, err = optString(project, fn, "project"); err != nil {
			return out, err
		}
	}
	switch t := timeout.(type) {
	case starlark.NoneType:
	case starlark.Int, starlark.Float:
		f, _ := starlark.AsFloat(t)
		if f <= 0 {
			return out, fmt.Errorf("%s: for parameter timeout: must be positive, got %v", fn, t)
		}
		out.Timeout = time.Duration(f * float64(time.Second))
	default:
		return out, fmt.Errorf("%s: for parameter timeout: got %s, want number or None", fn, timeout.Type())
	}
	switch v := verify.(type) {
	case starlark.Bool:
		if verifyGiven {
			out.Insecure = !bool(v)
			if out.Insecure {
				out.ServerCertFile = "" // verify=False beats a remote's pinned certificate
			}
		}
	case starlark.String:
		out.ServerCertFile, out.Insecure = string(v), false
	default:
		return out, fmt.Errorf("%s: for parameter verify: got %s, want bool or path string", fn, verify.Type())
	}
	if cert != starlark.None {
		pair, ok := cert.(starlark.Indexable)
		if !ok || pair.Len() != 2 {
			return out, fmt.Errorf("%s: for parameter cert: want a (cert_path, key_path) pair, got %s", fn, cert.Type())
		}
		crt, ok1 := starlark.AsString(pair.Index(0))
		key, ok2 := starlark.AsString(pair.Index(1))
		if !ok1 || !ok2 {
			return out, fmt.Errorf("%s: for parameter cert: want two path strings", fn)
		}
		out.CertFile, out.KeyFile = crt, key
	}
	if strings.HasPrefix(out.Endpoint, "https://") && out.CertFile == "" {
		// The lxc or incus client certificate, as those tools would use.
		out.CertFile, out.KeyFile = rest.ClientCert(cfg.Getenv)
	}
	return out, nil
}

// clientManagers builds the managers hanging off every Client. A
// constructor returning nil leaves its manager out.
var clientManagers = map[string]func(c *Client) starlark.Value{
	"instances":        func(c *Client) starlark.Value { return newInstanceManager(c, "instances", "") },
	"containers":       func(c *Client) starlark.Value { return newInstanceManager(c, "containers", "container") },
	"virtual_machines": func(c *Client) starlark.Value { return newInstanceManager(c, "virtual_machines", "virtual-machine") },
	"images":           newImageManager,
	"profiles":         newProfileManager,
	"projects":         newProjectManager,
	"networks":         newNetworkManager,
	"network_acls":     newNetworkACLManager,
	"network_zones":    newNetworkZoneManager,
	"storage_pools":    newStoragePoolManager,
	"operations":       newOperationManager,
	"certificates":     newCertificateManager,
	"cluster":          newClusterManager,
	"warnings":         newWarningManager,
}

var clientMethods = map[string]methodFn{
	"authenticate":             clientAuthenticate,
	"events":                   clientEvents,
	"has_api_extension":        clientHasExtension,
	"assert_has_api_extension": clientAssertExtension,
	"metrics":                  clientMetrics, // warnings.go
	"plan":                     clientPlan,    // plan.go
	"apply":                    clientApply,   // plan.go
}

func (c *Client) Attr(name string) (starlark.Value, error) {
	switch name {
	case "api":
		return &apiNode{c: c, path: "/1.0"}, nil
	case "host_info":
		return c.info, nil
	case "trusted":
		return starlark.Bool(c.auth == "trusted"), nil
	case "server_clustered":
		return starlark.Bool(c.cluster), nil
	case "server":
		return starlark.String(c.server.Kind), nil
	case "server_version":
		// An untrusted client is not shown the version.
		if c.server.Version == "" {
			return starlark.None, nil
		}
		return starlark.String(c.server.Version), nil
	case "project":
		if p := c.rest.Project(); p != "" {
			return starlark.String(p), nil
		}
		return starlark.None, nil
	case "resources":
		// Documented to make a request on every read.
		data, _, err := c.getObject(c.life, rest.Path("resources"))
		if err != nil {
			return nil, err
		}
		return data, nil
	}
	if m, ok := c.managers[name]; ok {
		return m, nil
	}
	if fn, ok := clientMethods[name]; ok {
		return bind("Client", name, fn, c), nil
	}
	return nil, nil
}

func (c *Client) AttrNames() []string {
	names := []string{"api", "host_info", "trusted", "server", "server_version", "server_clustered", "project", "resources"}
	for n := range c.managers {
		names = append(names, n)
	}
	for n := range clientMethods {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func clientHasExtension(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	return starlark.Bool(b.Receiver().(*Client).exts[name]), nil
}

func clientAssertExtension(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	if err := b.Receiver().(*Client).requireExtension(name); err != nil {
		return nil, err
	}
	return starlark.None, nil
}

func (c *Client) requireExtension(name string) error {
	if c.exts[name] {
		return nil
	}
	return &rest.Error{Kind: rest.KindExtension, Message: fmt.Sprintf("the %s server at %s lacks the API extension %q", c.server.Name(), c.rest.Endpoint(), name)}
}

// getObject GETs a path and returns its metadata as a Starlark dict.
func (c *Client) getObject(ctx context.Context, path string) (*starlark.Dict, string, error) {
	resp, err := c.rest.Do(ctx, &rest.Request{Method: "GET", Path: path})
	if err != nil {
		return nil, "", err
	}
	v, err := fromJSON(resp.Metadata)
	if err != nil {
		return nil, "", &rest.Error{Kind: rest.KindConnection, Message: "GET " + path + ": " + err.Error()}
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, "", &rest.Error{Kind: rest.KindConnection, Message: "GET " + path + ": expected an object, got " + v.Type()}
	}
	return d, resp.ETag, nil
}

// getFields GETs one object for a model: its fields, checked but not
// decoded (see Model.fieldLocked), and its ETag.
func (c *Client) getFields(ctx context.Context, path string) ([]serverField, string, error) {
	resp, err := c.rest.Do(ctx, &rest.Request{Method: "GET", Path: path})
	if err != nil {
		return nil, "", err
	}
	fields, err := objectFields(resp.Metadata)
	if err != nil {
		return nil, "", &rest.Error{Kind: rest.KindConnection, Message: "GET " + path + ": expected an object: " + err.Error()}
	}
	return fields, resp.ETag, nil
}

// getList GETs a recursion=1 collection and returns its objects' fields:
// one checking pass over the answer, nothing decoded until read (a
// listing of a thousand instances is megabytes, of which a script reads a
// few fields per instance). Elements that are not objects are skipped.
func (c *Client) getList(ctx context.Context, req *rest.Request) ([][]serverField, error) {
	resp, err := c.rest.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if string(resp.Metadata) == "null" || len(resp.Metadata) == 0 {
		return nil, nil
	}
	var out [][]serverField
	var r fieldReader
	err = jsonscan.Array(resp.Metadata, func(elem []byte) error {
		if elem[0] != '{' {
			return nil
		}
		fields, err := r.object(elem)
		out = append(out, fields)
		return err
	})
	if err != nil {
		return nil, &rest.Error{Kind: rest.KindConnection, Message: "GET " + req.Path + ": expected a list of objects: " + err.Error()}
	}
	return out, nil
}

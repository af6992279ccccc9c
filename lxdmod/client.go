package lxdmod

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/jsonscan"
	"github.com/lxdstar/lxdstar/internal/progress"
	"github.com/lxdstar/lxdstar/internal/starargs"
	"github.com/lxdstar/lxdstar/internal/starjson"
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
	progress *progress.Board // nil: no progress output
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

// showProgress shows op's progress (when the host wants progress output)
// while the script waits for it, until the returned func is called.
func (c *Client) showProgress(op *rest.Operation) func() {
	if op == nil || op.Final() {
		return func() {}
	}
	return c.progress.Track(op.ID, op.Description)
}

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
		if rest.IsKind(err, rest.KindConnection) {
			return nil, err
		}
		return nil, fmt.Errorf("connecting to %s: %w", rc.Endpoint(), err)
	}
	meta, err := rest.ParseServerInfo(resp.Metadata)
	if err != nil {
		return nil, err
	}
	info, err := starjson.Decode(resp.Metadata)
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
		if _, err := rc.ServerWide().Get(ctx, rest.Path("projects", p), nil, nil); err != nil {
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
	for name, k := range clientManagers {
		c.managers[name] = k.of(c, nil)
	}
	c.managers["cluster"] = newClusterManager(c)
	return c, nil
}

// newClientBuiltin implements lxd.Client(...), taking defaults from cfg;
// the clients it makes record their unwaited operations in l.
func newClientBuiltin(cfg Config, l *ledger) *starlark.Builtin {
	return starlark.NewBuiltin("Client", func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var a clientArgs
		if err := a.unpack(args, kwargs); err != nil {
			return nil, err
		}
		var c *Client
		var err error
		if cfg.Client != nil && !a.endpoint.Set && !a.remote.Set && a.cert == nil && a.timeout == 0 && !a.verify.given {
			shared := cfg.Client
			if a.project.Set {
				shared = shared.WithProject(a.project.Value)
			}
			if cfg.DryRun {
				shared = shared.WithDryRun()
			}
			c, err = wrapClient(threadctx.From(thread), threadctx.Session(thread), shared)
		} else {
			var rc rest.Config
			if rc, err = restConfig(cfg, a); err != nil {
				return nil, err
			}
			c, err = connect(threadctx.From(thread), threadctx.Session(thread), rc)
		}
		if err != nil {
			return nil, err
		}
		c.ledger = l
		if cfg.Progress != nil {
			rc := c.rest
			c.progress = progress.New(cfg.Progress, func(ctx context.Context, id string) (string, error) {
				op, err := rc.GetOperation(ctx, id)
				if err != nil {
					return "", err
				}
				return op.Progress(), nil
			})
			c.rest = c.rest.WithTransfers(c.progress.Transfer)
		}
		return c, nil
	})
}

// clientArgs are lxd.Client's arguments: (endpoint=None, version="1.0",
// cert=None, verify=True, timeout=None, project=None, *, remote=None).
type clientArgs struct {
	endpoint, project, remote starargs.OptString
	version                   apiVersion
	cert                      certPair
	verify                    verifyArg
	timeout                   starargs.Seconds
}

func (a *clientArgs) unpack(args starlark.Tuple, kwargs []starlark.Tuple) error {
	const fn = "lxd.Client"
	if len(args) > 6 {
		return fmt.Errorf("%s: remote is keyword-only", fn)
	}
	return starlark.UnpackArgs(fn, args, kwargs,
		"endpoint?", &a.endpoint, "version?", &a.version, "cert?", &a.cert, "verify?", &a.verify,
		"timeout?", &a.timeout, "project?", &a.project, "remote?", &a.remote)
}

// apiVersion is the REST API version: "1.0", the only one there is.
type apiVersion struct{}

func (apiVersion) Unpack(v starlark.Value) error {
	if s, ok := v.(starlark.String); !ok || s != "1.0" {
		return fmt.Errorf("only \"1.0\" is supported, got %s", v)
	}
	return nil
}

// certPair is a client certificate as a (cert_path, key_path) pair, or
// None (nil).
type certPair []string

func (c *certPair) Unpack(v starlark.Value) error {
	var paths starargs.Strings
	err := paths.Unpack(v)
	if err == nil && paths != nil && len(paths) != 2 {
		err = fmt.Errorf("got %d paths, want a (cert_path, key_path) pair", len(paths))
	}
	*c = certPair(paths)
	return err
}

// verifyArg is how to check the server's certificate: True (against the
// system's authorities, or the pin of a remote), False (not at all), or
// the path of the one certificate to accept. given tells an explicit
// True from the default.
type verifyArg struct {
	given    bool
	insecure bool
	pin      *string
}

func (a *verifyArg) Unpack(v starlark.Value) error {
	switch x := v.(type) {
	case starlark.Bool:
		*a = verifyArg{given: true, insecure: !bool(x)}
	case starlark.String:
		pin := string(x)
		*a = verifyArg{given: true, pin: &pin}
	default:
		return fmt.Errorf("got %s, want bool or path string", v.Type())
	}
	return nil
}

// restConfig merges lxd.Client's arguments with the host's defaults.
func restConfig(cfg Config, a clientArgs) (rest.Config, error) {
	out := rest.Config{Endpoint: cfg.Endpoint, Project: cfg.Project, Timeout: cfg.Timeout, Trace: cfg.Trace,
		CertFile: cfg.CertFile, KeyFile: cfg.KeyFile, Insecure: cfg.Insecure, Getenv: cfg.Getenv, DryRun: cfg.DryRun}
	r := a.remote.Value
	if r != "" && a.endpoint.Set {
		return out, fmt.Errorf("lxd.Client: give endpoint or remote, not both")
	}
	if r == "" && !a.endpoint.Set {
		r = cfg.Remote
	}
	if r != "" {
		if err := applyRemote(&out, r, cfg.Getenv); err != nil {
			return out, err
		}
	}
	if a.endpoint.Set {
		out.Endpoint = strings.TrimRight(a.endpoint.Value, "/")
	}
	if a.project.Set {
		out.Project = a.project.Value
	}
	if a.timeout != 0 {
		out.Timeout = a.timeout.Duration()
	}
	switch {
	case a.verify.pin != nil:
		out.ServerCertFile, out.Insecure = *a.verify.pin, false
	case a.verify.given:
		out.Insecure = a.verify.insecure
		if out.Insecure {
			out.ServerCertFile = "" // verify=False beats a remote's pinned certificate
		}
	}
	if a.cert != nil {
		out.CertFile, out.KeyFile = a.cert[0], a.cert[1]
	}
	if strings.HasPrefix(out.Endpoint, "https://") && out.CertFile == "" {
		// The lxc or incus client certificate, as those tools would use.
		out.CertFile, out.KeyFile = rest.ClientCert(cfg.Getenv)
	}
	return out, nil
}

// clientManagers are the managers hanging off every Client (besides
// client.cluster, which is more than a collection: newClusterManager).
var clientManagers = map[string]*managerKind{
	"instances":        instancesKind,
	"containers":       containersKind,
	"virtual_machines": virtualMachinesKind,
	"images":           imagesKind,
	"profiles":         profilesKind,
	"projects":         projectsKind,
	"networks":         networksKind,
	"network_acls":     networkACLsKind,
	"network_zones":    networkZonesKind,
	"storage_pools":    storagePoolsKind,
	"operations":       operationsKind,
	"certificates":     certificatesKind,
	"warnings":         warningsKind,
}

var clientMethods = newMethodTable("Client", nil, map[string]methodFn{
	"authenticate":             clientAuthenticate,
	"events":                   clientEvents,
	"has_api_extension":        clientHasExtension,
	"assert_has_api_extension": clientAssertExtension,
	"metrics":                  clientMetrics, // warnings.go
	"plan":                     clientPlan,    // plan.go
	"apply":                    clientApply,   // plan.go
})

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
	return clientMethods.attr(c, name)
}

func (c *Client) AttrNames() []string {
	names := []string{"api", "host_info", "trusted", "server", "server_version", "server_clustered", "project", "resources"}
	for n := range c.managers {
		names = append(names, n)
	}
	names = append(names, clientMethods.names()...)
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
	var meta json.RawMessage
	etag, err := c.rest.Get(ctx, path, nil, &meta)
	if err != nil {
		return nil, "", err
	}
	v, err := starjson.Decode(meta)
	if err != nil {
		return nil, "", &rest.Error{Kind: rest.KindConnection, Message: "GET " + path, Err: err}
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		return nil, "", &rest.Error{Kind: rest.KindConnection, Message: "GET " + path + ": expected an object, got " + v.Type()}
	}
	return d, etag, nil
}

// getFields GETs one object for a model: its fields, checked but not
// decoded (see Model.fieldLocked), and its ETag.
func (c *Client) getFields(ctx context.Context, path string) ([]serverField, string, error) {
	var meta json.RawMessage
	etag, err := c.rest.Get(ctx, path, nil, &meta)
	if err != nil {
		return nil, "", err
	}
	fields, err := objectFields(meta)
	if err != nil {
		return nil, "", &rest.Error{Kind: rest.KindConnection, Message: "GET " + path + ": expected an object", Err: err}
	}
	return fields, etag, nil
}

// getList GETs a collection (recursion=1, unless query, which may be nil,
// asks for more) and returns its objects' fields: one checking pass over
// the answer, nothing decoded until read (a listing of a thousand
// instances is megabytes, of which a script reads a few fields per
// instance). Elements that are not objects are skipped.
func (c *Client) getList(ctx context.Context, path string, query url.Values) ([][]serverField, error) {
	if query == nil {
		query = url.Values{}
	}
	if query.Get("recursion") == "" {
		query.Set("recursion", "1")
	}
	var meta json.RawMessage
	if _, err := c.rest.Get(ctx, path, query, &meta); err != nil {
		return nil, err
	}
	if string(meta) == "null" || len(meta) == 0 {
		return nil, nil
	}
	var out [][]serverField
	var r fieldReader
	err := jsonscan.Array(meta, func(elem []byte) error {
		if elem[0] != '{' {
			return nil
		}
		fields, err := r.object(elem)
		out = append(out, fields)
		return err
	})
	if err != nil {
		return nil, &rest.Error{Kind: rest.KindConnection, Message: "GET " + path + ": expected a list of objects", Err: err}
	}
	return out, nil
}

package tests

// Bad input everywhere: every documented callable (internal/apidoc) is
// called with an unknown keyword argument, too many positional arguments,
// no arguments when some are required, and a value of the wrong type for
// each parameter, on real objects of the main daemon; every writable field
// is assigned values of the wrong type; creators and renamers are given
// names LXD rejects. Each must fail with a clear error naming the method
// (and the parameter or field), never panic, and leave the server as it was.
//
// The type and arity cases go through a read-only proxy that refuses (and
// records) every request but GET: a bad argument must be refused before
// anything is sent, so even a ClusterMember.delete with a bad argument is
// harmless here. The names LXD rejects go to the server itself, and the
// objects involved are compared before and after.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/builtins"
	"github.com/lxdstar/lxdstar/internal/apidoc"
	"github.com/lxdstar/lxdstar/internal/threadctx"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// readOnlyProxy forwards GET and HEAD requests (websocket upgrades
// included) to upstream and answers anything else with 403, recording it.
// GETs of the paths in canned get that metadata instead.
type readOnlyProxy struct {
	Socket string
	canned map[string]any
	mu     sync.Mutex
	writes []string
}

func newReadOnlyProxy(t *testing.T, upstream string) *readOnlyProxy {
	t.Helper()
	needSocket(t, upstream)
	p := &readOnlyProxy{}
	p.Socket = unixProxy(t, upstream, func(rp *httputil.ReverseProxy) http.Handler {
		rp.ErrorLog = log.New(io.Discard, "", 0) // clients hanging up early are expected
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if meta, ok := p.canned[r.URL.Path]; ok && r.Method == "GET" {
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"type": "sync", "status_code": 200, "metadata": meta})
				return
			}
			if r.Method == "GET" || r.Method == "HEAD" {
				rp.ServeHTTP(w, r)
				return
			}
			p.mu.Lock()
			p.writes = append(p.writes, r.Method+" "+r.URL.RequestURI())
			p.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"type":"error","error":"read-only test proxy: write refused","error_code":403}`))
		})
	})
	return p
}

// takeWrites returns (and forgets) the refused requests seen so far.
func (p *readOnlyProxy) takeWrites() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.writes
	p.writes = nil
	return w
}

// param is one parameter of a documented signature.
type param struct {
	name     string
	required bool
	kwOnly   bool
	def      string // the default's source text, when not required
}

// signature parses apidoc's Params ("(config, wait=False, *, target=None)").
// variadic is set for *args or **kwargs, whose arity cannot be checked.
func signature(params string) (ps []param, variadic bool) {
	inner := strings.TrimSuffix(strings.TrimPrefix(params, "("), ")")
	kwOnly := false
	for _, part := range splitParams(inner) {
		part = strings.TrimSpace(part)
		switch {
		case part == "":
		case part == "*":
			kwOnly = true
		case strings.HasPrefix(part, "*"):
			variadic, kwOnly = true, true
		default:
			name, def, hasDefault := strings.Cut(part, "=")
			ps = append(ps, param{name: name, required: !hasDefault, kwOnly: kwOnly, def: def})
		}
	}
	return ps, variadic
}

// splitParams splits at commas outside quotes.
func splitParams(s string) []string {
	var out []string
	var quote rune
	start := 0
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == ',':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// notOurs are documented callables that are not lxdstar's code: the
// Starlark universe and go.starlark.net's libraries, and the REPL's own.
func notOurs(key string) bool {
	if _, ok := starlark.Universe[key]; ok {
		return true
	}
	switch key {
	case "print", "fail", "struct", "help", "exit":
		return true
	}
	for _, lib := range []string{"json.", "math.", "time."} {
		if strings.HasPrefix(key, lib) && key != "time.sleep" {
			return true
		}
	}
	return false
}

// callable values accepted where a wrong type is tried (handlers, catch).
var acceptsCallable = map[string]bool{
	"catch.fn": true, "Instance.execute.stdout_handler": true, "Instance.execute.stderr_handler": true,
}

// badCase is one call that must fail.
type badCase struct {
	key    string // apidoc key
	what   string // which rule
	args   starlark.Tuple
	kwargs []starlark.Tuple
	want   []string // substrings the error must contain (besides the method name)
	any    []string // the error must contain one of these
}

// validValue is a well-typed argument for param of key, used to fill the
// other required parameters while one parameter gets a bad value. Calls
// built from these alone are never made: only calls with one bad part.
func validValue(key, name string, fx *badFixture) starlark.Value {
	switch key + "." + name {
	case "instances.create.config":
		return dict(map[string]starlark.Value{"name": starlark.String("t-badinput-new"), "source": dict(map[string]starlark.Value{"type": starlark.String("none")})})
	case "storage_pools.create.definition":
		return dict(map[string]starlark.Value{"name": starlark.String("t-badinput-new"), "driver": starlark.String("dir")})
	case "volumes.create.definition":
		return dict(map[string]starlark.Value{"name": starlark.String("t-badinput-new"), "type": starlark.String("custom")})
	case "Image.copy.new_client", "Instance.migrate.new_client", "Instance.copy.new_client":
		return fx.client
	case "catch.fn":
		return starlark.Universe["len"]
	case "volumes.get.type", "volumes.exists.type":
		return starlark.String("custom")
	case "certificates.create.cert_data":
		return starlark.String(fx.certPEM)
	case "Error.is_a.kind":
		return starlark.String("NotFound")
	}
	switch name {
	case "commands":
		return starlark.NewList([]starlark.Value{starlark.String("true")})
	case "config", "put_object", "patch_object", "definition", "json", "params", "environment":
		return starlark.NewDict(0)
	case "image_data":
		return starlark.Bytes("")
	case "specs":
		return starlark.NewList(nil)
	case "filepath", "path", "remote_path", "dst":
		return starlark.String("/nonexistent-badinput/x")
	case "local_path", "src":
		return starlark.String("/nonexistent-badinput/y")
	case "data":
		return starlark.String("x")
	case "seconds", "code":
		return starlark.MakeInt(0)
	case "rows":
		return starlark.NewList(nil)
	case "url", "server":
		return starlark.String("https://127.0.0.1:1/")
	}
	return starlark.String("t-badinput-" + strings.ReplaceAll(name, "_", "-"))
}

func dict(m map[string]starlark.Value) *starlark.Dict {
	d := starlark.NewDict(len(m))
	for k, v := range m {
		_ = d.SetKey(starlark.String(k), v)
	}
	return d
}

// casesFor builds the bad calls of one entry.
func casesFor(e apidoc.Entry, fx *badFixture) []badCase {
	ps, variadic := signature(e.Params)
	var cases []badCase
	// The other required parameters, well typed, as keyword arguments.
	requiredExcept := func(skip string) []starlark.Tuple {
		var kw []starlark.Tuple
		for _, p := range ps {
			if p.required && p.name != skip {
				kw = append(kw, starlark.Tuple{starlark.String(p.name), validValue(e.Key, p.name, fx)})
			}
		}
		return kw
	}
	if e.Key == "catch" {
		// catch(fn, *args, **kwargs) passes the rest on: only fn is its own.
		return []badCase{
			{key: e.Key, what: "missing fn", want: []string{"fn"}},
			{key: e.Key, what: "fn not callable", args: starlark.Tuple{starlark.MakeInt(1)}, want: []string{"fn", "got int"}},
		}
	}
	if !variadic {
		cases = append(cases, badCase{key: e.Key, what: "unknown keyword", kwargs: append(requiredExcept(""),
			starlark.Tuple{starlark.String("bogus"), starlark.MakeInt(1)}), want: []string{"bogus"}})
		positional := 0
		for _, p := range ps {
			if !p.kwOnly {
				positional++
			}
		}
		// Every positional parameter well typed (its default, or a valid
		// value), then one more.
		var args starlark.Tuple
		for _, p := range ps {
			if p.kwOnly {
				continue
			}
			v := validValue(e.Key, p.name, fx)
			if !p.required {
				if d, err := starlark.Eval(fx.thread, "default", p.def, nil); err == nil {
					v = d
				}
			}
			args = append(args, v)
		}
		args = append(args, starlark.None)
		cases = append(cases, badCase{key: e.Key, what: "too many positional", args: args, any: []string{"argument", "positional", "keyword"}})
	}
	for _, p := range ps {
		if p.required {
			cases = append(cases, badCase{key: e.Key, what: "missing " + p.name, kwargs: requiredExcept(p.name), want: []string{p.name}})
			break
		}
	}
	for _, p := range ps {
		if acceptsCallable[e.Key+"."+p.name] {
			continue
		}
		kw := append(requiredExcept(p.name), starlark.Tuple{starlark.String(p.name), starlark.Universe["len"]})
		cases = append(cases, badCase{key: e.Key, what: "wrong type for " + p.name, kwargs: kw, want: []string{p.name}})
	}
	return cases
}

// badFixture holds the real objects the calls are made on.
type badFixture struct {
	thread   *starlark.Thread
	env      starlark.StringDict
	client   starlark.Value // through the read-only proxy of main
	receiver map[string]starlark.Value
	certPEM  string
}

// eval evaluates a Starlark expression in the fixture's environment.
func (fx *badFixture) eval(t *testing.T, expr string) starlark.Value {
	t.Helper()
	v, err := starlark.EvalOptions(builtins.FileOptions(), fx.thread, "fixture", expr, fx.env)
	require.NoError(t, err, expr)
	return v
}

func TestBadInputEveryMethod(t *testing.T) {
	t.Parallel()
	name := newInstance(t, mainSocket, "bad", true)
	main := restClient(t, mainSocket)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	// Objects of every kind: a snapshot, an image, a custom volume and its
	// snapshot, a certificate, a running operation.
	mustOp := func(method, path string, body any) *rest.Operation {
		r, err := main.Do(ctx, &rest.Request{Method: method, Path: path, Body: body})
		require.NoError(t, err, "%s %s", method, path)
		if r.Type != "async" {
			return nil
		}
		op, err := rest.AsyncOperation(r)
		require.NoError(t, err)
		return op
	}
	wait := func(op *rest.Operation) {
		if op != nil {
			_, err := main.WaitOperation(ctx, op, time.Minute)
			require.NoError(t, err)
		}
	}
	wait(mustOp("POST", rest.Path("instances", name, "snapshots"), map[string]any{"name": "snap0"}))
	img := issue3Image(t, mainSocket, uniqueName("badimg"))
	_, err := main.Do(ctx, rest.ImageUploadRequest(rest.ImageUpload{Rootfs: strings.NewReader(string(img.unified)), Fingerprint: img.fp}))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return serverExists(t, main, rest.Path("images", img.fp)) }, 30*time.Second, 50*time.Millisecond)
	vol := uniqueName("badvol")
	wait(mustOp("POST", rest.Path("storage-pools", "default", "volumes"), map[string]any{"name": vol, "type": "custom"}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = main.SendAndWait(ctx, &rest.Request{Method: "DELETE", Path: rest.Path("storage-pools", "default", "volumes", "custom", vol, "snapshots", "vsnap0")})
		_, _ = main.Do(ctx, &rest.Request{Method: "DELETE", Path: rest.Path("storage-pools", "default", "volumes", "custom", vol)})
	})
	wait(mustOp("POST", rest.Path("storage-pools", "default", "volumes", "custom", vol, "snapshots"), map[string]any{"name": "vsnap0"}))
	// Backups go with their instance and volume.
	wait(mustOp("POST", rest.Path("instances", name, "backups"), map[string]any{"name": "bk0"}))
	wait(mustOp("POST", rest.Path("storage-pools", "default", "volumes", "custom", vol, "backups"), map[string]any{"name": "vbk0"}))
	_, _, der := newClientCert(t)
	_, err = main.Do(ctx, &rest.Request{Method: "POST", Path: rest.Path("certificates"), Body: map[string]any{
		"type": "client", "name": "t-badinput", "certificate": base64.StdEncoding.EncodeToString(der)}})
	require.NoError(t, err)
	certFP := sha256Hex(der)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = main.Do(ctx, &rest.Request{Method: "DELETE", Path: rest.Path("certificates", certFP)})
	})
	execOp := mustOp("POST", rest.Path("instances", name, "exec"), map[string]any{"command": []string{"sleep", "600"},
		"wait-for-websocket": false, "interactive": false, "record-output": false})
	require.NotNil(t, execOp)

	// The networking models: an ACL with rules, a forward with ports on a
	// bridge routed nowhere, a zone with a record.
	acl, bridge, zone := uniqueName("badacl"), uniqueName("bad"), uniqueName("badzone")+".example.test"
	record := uniqueName("badrec") // LXD 5.0.2: unique across all zones
	octet := testBridge(t, main, bridge, true, nil)
	listen := fmt.Sprintf("198.19.%d.10", octet+128)
	netPaths := []string{rest.Path("network-acls", acl), rest.Path("networks", bridge, "forwards", listen),
		rest.Path("network-zones", zone), rest.Path("network-zones", zone, "records", record)}
	for _, p := range netPaths {
		cleanupPath(t, main, p)
	}
	mustOp("POST", rest.Path("network-acls"), map[string]any{"name": acl, "config": map[string]any{"user.a": "1"},
		"ingress": []any{map[string]any{"action": "allow", "source": "198.19.0.0/16", "state": "enabled"}}})
	mustOp("POST", rest.Path("networks", bridge, "forwards"), map[string]any{"listen_address": listen,
		"ports": []any{map[string]any{"protocol": "tcp", "listen_port": "80", "target_address": fmt.Sprintf("198.19.%d.20", octet)}}})
	mustOp("POST", rest.Path("network-zones"), map[string]any{"name": zone})
	mustOp("POST", rest.Path("network-zones", zone, "records"), map[string]any{"name": record,
		"entries": []any{map[string]any{"type": "A", "value": "198.19.0.30"}}})

	before := badInputState(t, main, name, img.fp, vol, certFP, netPaths)

	proxy := newReadOnlyProxy(t, mainSocket)
	// No server here can hold a network peer (LXD 5.0 and Incus 6.0 peer
	// OVN networks only): the proxy answers for one, so that its methods
	// and fields get their bad input too. Nothing else is ever answered
	// in the server's stead, and the calls must not reach a server anyway.
	proxy.canned = map[string]any{rest.Path("networks", bridge, "peers", "p0"): map[string]any{
		"name": "p0", "description": "", "config": map[string]any{}, "target_project": "default",
		"target_network": "other", "status": "Created"}}
	clusterProxy := newReadOnlyProxy(t, node1Socket)
	fx := &badFixture{thread: &starlark.Thread{Name: "badinput"}, certPEM: string(pemCert(der))}
	threadctx.Set(fx.thread, ctx)
	fx.env = builtins.Predeclared([]string{"badinput"}, map[string]string{})
	fx.env["lxd"] = lxdmod.New(lxdmod.Config{}).Value()
	for k, v := range map[string]string{"PROXY": proxy.Socket, "CLUSTER": clusterProxy.Socket, "NAME": name,
		"FP": img.fp, "VOL": vol, "CERT": certFP, "OP": execOp.ID, "ACL": acl, "BRIDGE": bridge, "LISTEN": listen, "ZONE": zone, "RECORD": record} {
		fx.env[k] = starlark.String(v)
	}
	fx.client = fx.eval(t, "lxd.Client(PROXY)")
	fx.env["c"] = fx.client
	fx.env["inst"] = fx.eval(t, "c.instances.get(NAME)")
	fx.env["pool"] = fx.eval(t, `c.storage_pools.get("default")`)
	fx.env["volume"] = fx.eval(t, `pool.volumes.get("custom", VOL)`)
	fx.env["cc"] = fx.eval(t, "lxd.Client(CLUSTER)")
	fx.receiver = map[string]starlark.Value{
		"":                       nil, // top-level builtins
		"lxd":                    fx.env["lxd"],
		"sys":                    fx.env["sys"],
		"yaml":                   fx.env["yaml"],
		"time":                   fx.env["time"],
		"Error":                  fx.eval(t, "catch(fail).error"),
		"Client":                 fx.client,
		"instances":              fx.eval(t, "c.instances"),
		"Instance":               fx.env["inst"],
		"snapshots":              fx.eval(t, "inst.snapshots"),
		"Snapshot":               fx.eval(t, `inst.snapshots.get("snap0")`),
		"files":                  fx.eval(t, "inst.files"),
		"backups":                fx.eval(t, "inst.backups"),
		"Backup":                 fx.eval(t, `inst.backups.get("bk0")`),
		"logs":                   fx.eval(t, "inst.logs"),
		"images":                 fx.eval(t, "c.images"),
		"Image":                  fx.eval(t, "c.images.get(FP)"),
		"networks":               fx.eval(t, "c.networks"),
		"Network":                fx.eval(t, `c.networks.get("lo")`),
		"profiles":               fx.eval(t, "c.profiles"),
		"Profile":                fx.eval(t, `c.profiles.get("default")`),
		"projects":               fx.eval(t, "c.projects"),
		"Project":                fx.eval(t, `c.projects.get("default")`),
		"storage_pools":          fx.eval(t, "c.storage_pools"),
		"StoragePool":            fx.env["pool"],
		"storage_pool_resources": fx.eval(t, "pool.resources"),
		"volumes":                fx.eval(t, "pool.volumes"),
		"StorageVolume":          fx.env["volume"],
		"volume_snapshots":       fx.eval(t, "volume.snapshots"),
		"StorageVolumeSnapshot":  fx.eval(t, `volume.snapshots.get("vsnap0")`),
		"volume_backups":         fx.eval(t, "volume.backups"),
		"StorageVolumeBackup":    fx.eval(t, `volume.backups.get("vbk0")`),
		"operations":             fx.eval(t, "c.operations"),
		"Operation":              fx.eval(t, "c.operations.get(OP)"),
		"certificates":           fx.eval(t, "c.certificates"),
		"Certificate":            fx.eval(t, "c.certificates.get(CERT)"),
		"cluster":                fx.eval(t, "cc.cluster"),
		"Cluster":                fx.eval(t, "cc.cluster.get()"),
		"members":                fx.eval(t, "cc.cluster.members"),
		"ClusterMember":          fx.eval(t, `cc.cluster.members.get("node1")`),
		"cluster_groups":         fx.eval(t, "cc.cluster.groups"),
		"ClusterGroup":           fx.eval(t, `cc.cluster.groups.get("default")`),
		"warnings":               fx.eval(t, "c.warnings"),
		"Warning":                fx.eval(t, "c.warnings.all()[0]"), // LXD records some at start-up (AppArmor, cgroups)
		"network_acls":           fx.eval(t, "c.network_acls"),
		"NetworkACL":             fx.eval(t, "c.network_acls.get(ACL)"),
		"network_forwards":       fx.eval(t, "c.networks.get(BRIDGE).forwards"),
		"NetworkForward":         fx.eval(t, "c.networks.get(BRIDGE).forwards.get(LISTEN)"),
		"network_peers":          fx.eval(t, "c.networks.get(BRIDGE).peers"),
		"NetworkPeer":            fx.eval(t, `c.networks.get(BRIDGE).peers.get("p0")`),
		"network_zones":          fx.eval(t, "c.network_zones"),
		"NetworkZone":            fx.eval(t, "c.network_zones.get(ZONE)"),
		"network_zone_records":   fx.eval(t, "c.network_zones.get(ZONE).records"),
		"NetworkZoneRecord":      fx.eval(t, "c.network_zones.get(ZONE).records.get(RECORD)"),
		"EventStream":            fx.eval(t, "c.events()"),
		"api":                    fx.eval(t, "c.api.instances"),
		"Response":               fx.eval(t, "c.api.get()"),
		"Plan":                   fx.eval(t, "c.plan([])"),
	}
	t.Cleanup(func() { _, _ = starlark.Call(fx.thread, mustAttr(t, fx.receiver["EventStream"], "close"), nil, nil) })

	var entries, calls, refused int
	missing := map[string]bool{}
	for _, e := range apidoc.Entries() {
		if !e.Callable() || notOurs(e.Key) {
			continue
		}
		fn, ok := fx.resolve(e)
		if !ok {
			missing[e.Parent()] = true
			continue
		}
		entries++
		for _, bc := range casesFor(e, fx) {
			calls++
			label := fmt.Sprintf("%s (%s)", e.Key, bc.what)
			if testing.Verbose() {
				t.Log(label)
			}
			_, err, panicked := fx.call(fn, bc.args, bc.kwargs)
			if panicked != nil {
				t.Errorf("%s: panic: %v", label, panicked)
				continue
			}
			if writes := proxy.takeWrites(); len(writes) > 0 {
				t.Errorf("%s: reached the server with %v", label, writes)
			}
			if writes := clusterProxy.takeWrites(); len(writes) > 0 {
				t.Errorf("%s: reached the cluster with %v", label, writes)
			}
			if err == nil {
				t.Errorf("%s: no error", label)
				continue
			}
			refused++
			msg := err.Error()
			fnName := fn.(starlark.Callable).Name()
			if !strings.Contains(msg, fnName+":") {
				t.Errorf("%s: the error does not name the method %s: %s", label, fnName, msg)
			}
			for _, w := range bc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%s: the error does not mention %q: %s", label, w, msg)
				}
			}
			if len(bc.any) > 0 && !slices.ContainsFunc(bc.any, func(w string) bool { return strings.Contains(msg, w) }) {
				t.Errorf("%s: the error mentions none of %q: %s", label, bc.any, msg)
			}
		}
	}
	for parent := range missing {
		t.Errorf("no object to call the methods of %q on: add one to the fixture", parent)
	}
	t.Logf("%d bad calls of %d methods on %d receivers, %d refused", calls, entries, len(fx.receiver), refused)

	fx.checkWritableFields(t, proxy)
	assert.Equal(t, before, badInputState(t, main, name, img.fp, vol, certFP, netPaths), "server objects changed")
}

// resolve finds the callable an entry documents on the fixture's objects.
func (fx *badFixture) resolve(e apidoc.Entry) (starlark.Value, bool) {
	parent := e.Parent()
	if parent == "" {
		v, ok := fx.env[e.Name()]
		return v, ok
	}
	recv, ok := fx.receiver[parent]
	if !ok {
		return nil, false
	}
	a, err := recv.(starlark.HasAttrs).Attr(e.Name())
	if err != nil || a == nil {
		return nil, false
	}
	return a, true
}

// call calls fn, turning a panic into a value.
func (fx *badFixture) call(fn starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (res starlark.Value, err error, panicked any) {
	defer func() { panicked = recover() }()
	res, err = starlark.Call(fx.thread, fn, args, kwargs)
	return res, err, nil
}

var writableRE = regexp.MustCompile(`writable fields: ([a-z_, ]*)\)`)

// checkWritableFields assigns wrong values to every writable field of every
// model, and puts a value LXD cannot take inside every dict and list field
// before saving: each must fail, naming the field, without a request.
func (fx *badFixture) checkWritableFields(t *testing.T, proxy *readOnlyProxy) {
	types := make([]string, 0, len(fx.receiver))
	for k := range fx.receiver {
		types = append(types, k)
	}
	sort.Strings(types)
	fields := 0
	for _, typ := range types {
		obj, ok := fx.receiver[typ].(starlark.HasSetField)
		if !ok || typ == "" || strings.ToLower(typ[:1]) == typ[:1] {
			continue // not a model
		}
		err := obj.SetField("bogus_field", starlark.None)
		require.Error(t, err, typ)
		m := writableRE.FindStringSubmatch(err.Error())
		if m == nil || m[1] == "" {
			continue // nothing writable (Cluster)
		}
		for _, f := range strings.Split(m[1], ", ") {
			fields++
			label := typ + "." + f
			old, err := obj.Attr(f)
			require.NoError(t, err, label)
			for _, bad := range wrongValues(old) {
				err := obj.SetField(f, bad)
				if err == nil {
					t.Errorf("%s = %s (a %s, the server holds a %s): accepted", label, bad, bad.Type(), old.Type())
					continue
				}
				if !strings.Contains(err.Error(), label) {
					t.Errorf("%s = %s: the error does not name the field: %v", label, bad, err)
				}
			}
			if now, _ := obj.Attr(f); now != old {
				t.Errorf("%s: a refused assignment changed the field", label)
				_ = obj.SetField(f, old)
			}
			if dirty, _ := obj.Attr("dirty"); dirty != starlark.False {
				t.Errorf("%s: dirty after refused assignments", label)
			}
			// A value LXD cannot take, nested: save must refuse it.
			nested := false
			switch x := old.(type) {
			case *starlark.Dict:
				nested = x.SetKey(starlark.String("badinput"), starlark.Universe["len"]) == nil
			case *starlark.List:
				nested = x.Append(starlark.Universe["len"]) == nil
			}
			if !nested {
				continue
			}
			_, err, panicked := fx.call(mustAttr(t, obj, "save"), nil, nil)
			switch {
			case panicked != nil:
				t.Errorf("%s: save panicked: %v", label, panicked)
			case err == nil:
				t.Errorf("%s: save of an unsendable nested value: no error", label)
			case !strings.Contains(err.Error(), label):
				t.Errorf("%s: save error does not name the field: %v", label, err)
			}
			if writes := proxy.takeWrites(); len(writes) > 0 {
				t.Errorf("%s: save reached the server with %v", label, writes)
			}
			_, err, _ = fx.call(mustAttr(t, obj, "rollback"), nil, nil)
			require.NoError(t, err, "%s: rollback", label)
		}
	}
	t.Logf("%d writable fields tried", fields)
}

// wrongValues are values of another kind than old: what a typo would give.
func wrongValues(old starlark.Value) []starlark.Value {
	out := []starlark.Value{starlark.Universe["len"]}
	switch old.(type) {
	case *starlark.Dict, *starlark.List:
		out = append(out, starlark.String("x"), starlark.None)
	case starlark.String:
		// None is fine for a string (it clears a description or an
		// expiry date): only another kind is wrong.
		out = append(out, starlark.MakeInt(1))
	case starlark.Bool, starlark.Int, starlark.Float:
		out = append(out, starlark.String("x"), starlark.None)
	}
	return out
}

func pemCert(der []byte) []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + base64.StdEncoding.EncodeToString(der) + "\n-----END CERTIFICATE-----\n")
}

// badInputState reads the objects the bad calls were made on, without the
// fields that change by themselves.
func badInputState(t *testing.T, c *rest.Client, inst, fp, vol, certFP string, more []string) string {
	t.Helper()
	drop := func(m map[string]any, keys ...string) map[string]any {
		for _, k := range keys {
			delete(m, k)
		}
		return m
	}
	state := map[string]any{
		"instance":  drop(serverObject(t, c, rest.Path("instances", inst)), "last_used_at", "status", "status_code"),
		"snapshot":  drop(serverObject(t, c, rest.Path("instances", inst, "snapshots", "snap0")), "last_used_at"),
		"image":     drop(serverObject(t, c, rest.Path("images", fp)), "last_used_at"),
		"volume":    serverObject(t, c, rest.Path("storage-pools", "default", "volumes", "custom", vol)),
		"vsnap":     serverObject(t, c, rest.Path("storage-pools", "default", "volumes", "custom", vol, "snapshots", "vsnap0")),
		"backup":    serverObject(t, c, rest.Path("instances", inst, "backups", "bk0")),
		"vbackup":   serverObject(t, c, rest.Path("storage-pools", "default", "volumes", "custom", vol, "backups", "vbk0")),
		"cert":      serverObject(t, c, rest.Path("certificates", certFP)),
		"profile":   drop(serverObject(t, c, rest.Path("profiles", "default")), "used_by"),
		"project":   drop(serverObject(t, c, rest.Path("projects", "default")), "used_by"),
		"pool":      drop(serverObject(t, c, rest.Path("storage-pools", "default")), "used_by"),
		"member":    serverObject(t, restClient(t, node1Socket), rest.Path("cluster", "members", "node1")),
		"instances": serverExists(t, c, rest.Path("instances", "t-badinput-new")),
	}
	for _, p := range more {
		state[p] = drop(serverObject(t, c, p), "used_by")
	}
	data, err := json.MarshalIndent(state, "", " ")
	require.NoError(t, err)
	return string(data)
}

// TestBadInputNames gives creators and renamers names LXD 5.0 and Incus 6.0 reject for
// that kind of object (it accepts "bad name!" for a profile, "-x" for a
// project: those are not bad input). Every call must fail, no object of
// that name may appear, and the objects renamed keep their names.
func TestBadInputNames(t *testing.T) { parallelOnEachServer(t, testBadInputNames) }

func testBadInputNames(t *testing.T, srv server) {
	name, profile, project, vol := uniqueName("badn"), uniqueName("badn-prof"), uniqueName("badn-proj"), uniqueName("badn-vol")
	createInstance(t, srv.Socket, name, false)
	main := restClient(t, srv.Socket)
	long := strings.Repeat("a", 70)
	s := newScript(t, srv.Socket).with("NAME", starlark.String(name)).with("PROFILE", starlark.String(profile)).
		with("PROJECT", starlark.String(project)).with("VOL", starlark.String(vol)).with("LONG", starlark.String(long))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, p := range []string{
			rest.Path("storage-pools", "default", "volumes", "custom", vol, "snapshots", "vsnap0"),
			rest.Path("storage-pools", "default", "volumes", "custom", vol),
			rest.Path("profiles", profile), rest.Path("projects", project),
		} {
			_ = main.SendAndWait(ctx, &rest.Request{Method: "DELETE", Path: p})
		}
	})
	out := s.mustRun(`
c = lxd.Client()
inst = c.instances.get(NAME)
snap = inst.snapshots.create("snap0", wait=True)
prof = c.profiles.create(PROFILE)
proj = c.projects.create(PROJECT)
pool = c.storage_pools.get("default")
vol = pool.volumes.create({"name": VOL, "type": "custom"}, wait=True)
vsnap = vol.snapshots.create("vsnap0", wait=True)
bk = inst.backups.create("bk0", wait=True)
vbk = vol.backups.create("vbk0", wait=True)

ALL = ["", "bad name!", "-x", LONG, "x/y"]
calls = [
    ("instances.create", lambda n: c.instances.create({"name": n, "source": {"type": "none"}}, wait=True), ALL),
    ("Instance.rename", lambda n: inst.rename(n, wait=True), ALL),
    ("Instance.copy", lambda n: inst.copy(n, wait=True), ALL),
    ("snapshots.create", lambda n: inst.snapshots.create(n, wait=True), ["", "x/y"]),
    ("Snapshot.rename", lambda n: snap.rename(n, wait=True), ["", "x/y"]),
    ("profiles.create", lambda n: c.profiles.create(n), ["", "x/y"]),
    ("Profile.rename", lambda n: prof.rename(n), ["", "x/y"]),
    ("projects.create", lambda n: c.projects.create(n), ["", "bad name!", "x/y"]),
    ("Project.rename", lambda n: proj.rename(n, wait=True), ["", "bad name!", "x/y"]),
    ("networks.create", lambda n: c.networks.create(n, type="bridge", config={"ipv4.address": "none", "ipv6.address": "none"}), ["", "bad name!", LONG, "x/y"]),
    ("storage_pools.create", lambda n: c.storage_pools.create({"name": n, "driver": "dir"}), ["", "bad name!", "x/y"]),
    ("volumes.create", lambda n: pool.volumes.create({"name": n, "type": "custom"}, wait=True), ["", "x/y"]),
    ("StorageVolume.rename", lambda n: vol.rename(n, wait=True), ["", "x/y"]),
    ("volume_snapshots.create", lambda n: vol.snapshots.create(n, wait=True), ["bad name!", "x/y"]),
    # LXD 5.0 refuses white space in a new volume snapshot's name, but not
    # in a rename: only "" and "x/y" are bad there.
    ("StorageVolumeSnapshot.rename", lambda n: vsnap.rename(n, wait=True), ["", "x/y"]),
    ("Image.add_alias", lambda n: c.images.get_by_alias("busybox").add_alias(n), [""]),
    ("instances.get", lambda n: c.instances.get(n), ALL),
    ("profiles.get", lambda n: c.profiles.get(n), ["", "x/y"]),
    ("images.get_by_alias", lambda n: c.images.get_by_alias(n), ["", "x/y"]),
    ("files.get", lambda n: inst.files.get(n), ["", "x/y", "bad name!"]),
    ("backups.create", lambda n: inst.backups.create(n, wait=True), ["", "x/y"]),
    ("Backup.rename", lambda n: bk.rename(n, wait=True), ["", "x/y"]),
    ("volume_backups.create", lambda n: vol.backups.create(n, wait=True), ["", "x/y"]),
    ("StorageVolumeBackup.rename", lambda n: vbk.rename(n, wait=True), ["", "x/y"]),
    ("instances.create_from_backup", lambda n: c.instances.create_from_backup("/nonexistent-badinput", name=n), ["", "x/y"]),
    ("volumes.create_from_backup", lambda n: pool.volumes.create_from_backup("/nonexistent-badinput", n), ["", "x/y"]),
    ("logs.get", lambda n: inst.logs.get(n), ["", "x/y"]),
]
for what, fn, names in calls:
    for n in names:
        r = catch(fn, n)
        print("%s\t%r\t%s" % (what, n, r.error.kind + ": " + r.error.message if r.error else "ACCEPTED"))
print("names", inst.name, snap.name, prof.name, proj.name, vol.name, vsnap.name, bk.name, vbk.name)
`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	assert.Equal(t, fmt.Sprintf("names %s snap0 %s %s %s vsnap0 bk0 vbk0", name, profile, project, vol), last, "a bad rename changed a name")
	for _, line := range lines[:len(lines)-1] {
		t.Log(line)
		if strings.HasSuffix(line, "ACCEPTED") {
			t.Errorf("accepted: %s", line)
		}
	}
	// Nothing of those names appeared.
	for _, n := range []string{"bad name!", "-x", long, "x/y"} {
		for _, p := range []string{rest.Path("instances", n), rest.Path("profiles", n), rest.Path("projects", n),
			rest.Path("networks", n), rest.Path("storage-pools", n), rest.Path("storage-pools", "default", "volumes", "custom", n),
			rest.Path("instances", name, "snapshots", n), rest.Path("storage-pools", "default", "volumes", "custom", vol, "snapshots", n),
			rest.Path("instances", name, "backups", n), rest.Path("storage-pools", "default", "volumes", "custom", vol, "backups", n)} {
			if n == "bad name!" && (strings.HasPrefix(p, "/1.0/profiles/") || strings.Contains(p, "/snapshots/") || strings.Contains(p, "/backups/") || strings.Contains(p, "/volumes/custom/bad")) {
				continue // names LXD accepts there, never tried
			}
			if n == "-x" && !strings.HasPrefix(p, "/1.0/instances/") {
				continue
			}
			_, err := main.Do(context.Background(), &rest.Request{Method: "GET", Path: p})
			assert.Error(t, err, "%s exists", p) // NotFound, or refused as invalid

		}
	}
}

// TestBadInputNetworkNames gives the networking models' creators and
// renamers names LXD rejects (LXD 5.0.2 accepts "bad name!" for a zone or
// a record: not bad input there). Every call must fail, no object of that
// name may appear, and the renamed ACL keeps its name.
func TestBadInputNetworkNames(t *testing.T) {
	t.Parallel()
	holdHostLinks(t) // it makes and deletes a bridge: see hostLinks
	main := restClient(t, mainSocket)
	acl, bridge, zone := uniqueName("badn-acl"), uniqueName("badn"), uniqueName("badn-zone")+".example.test"
	testBridge(t, main, bridge, true, nil)
	cleanupPath(t, main, rest.Path("network-acls", acl))
	cleanupPath(t, main, rest.Path("network-zones", zone))
	out := newScript(t, "").with("ACL", starlark.String(acl)).with("BRIDGE", starlark.String(bridge)).
		with("ZONE", starlark.String(zone)).mustRun(`
c = lxd.Client()
acl = c.network_acls.create(ACL)
zone = c.network_zones.create(ZONE)
fw = c.networks.get(BRIDGE).forwards
calls = [
    ("network_acls.create", lambda n: c.network_acls.create(n), ["", "bad name!", "-x", "x/y"]),
    ("NetworkACL.rename", lambda n: acl.rename(n), ["", "bad name!", "-x", "x/y"]),
    ("network_forwards.create", lambda n: fw.create(n), ["", "bad name!", "198.19.0.300", "x/y"]),
    ("network_zones.create", lambda n: c.network_zones.create(n), ["", "x/y"]),
    ("network_zone_records.create", lambda n: zone.records.create(n), ["", "x/y"]),
]
for what, fn, names in calls:
    for n in names:
        r = catch(fn, n)
        print("%s\t%r\t%s" % (what, n, r.error.kind + ": " + r.error.message if r.error else "ACCEPTED"))
print("names", acl.name)
`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	assert.Equal(t, "names "+acl, lines[len(lines)-1], "a bad rename changed the ACL's name")
	for _, line := range lines[:len(lines)-1] {
		t.Log(line)
		if strings.HasSuffix(line, "ACCEPTED") {
			t.Errorf("accepted: %s", line)
		}
	}
	for _, p := range []string{rest.Path("network-acls", "bad name!"), rest.Path("network-acls", "-x"),
		rest.Path("networks", bridge, "forwards", "bad name!"), rest.Path("networks", bridge, "forwards", "198.19.0.300")} {
		_, err := main.Do(context.Background(), &rest.Request{Method: "GET", Path: p})
		assert.Error(t, err, "%s exists", p)
	}
	for _, p := range []string{rest.Path("network-acls"), rest.Path("networks", bridge, "forwards"), rest.Path("network-zones", zone, "records")} {
		var urls []string
		resp, err := main.Do(context.Background(), &rest.Request{Method: "GET", Path: p})
		require.NoError(t, err)
		require.NoError(t, resp.Decode(&urls))
		for _, u := range urls {
			last, _ := url.PathUnescape(u[strings.LastIndexByte(u, '/')+1:])
			assert.NotContains(t, []string{"bad name!", "-x", "198.19.0.300", "y"}, last, "%s appeared", u)
		}
	}
}

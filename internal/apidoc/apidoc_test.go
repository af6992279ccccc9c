package apidoc

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

const referencePath = "../../docs/reference.md"

// TestReferenceUpToDate fails when docs/reference.md was not regenerated
// after a change to the registry.
func TestReferenceUpToDate(t *testing.T) {
	got, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("%v (run go generate ./internal/apidoc)", err)
	}
	if want := Markdown(); !bytes.Equal(got, want) {
		t.Errorf("%s is out of date with the registry: run go generate ./internal/apidoc", filepath.Clean(referencePath))
	}
}

// TestReferenceListsEveryEntry checks the generator leaves nothing out.
func TestReferenceListsEveryEntry(t *testing.T) {
	md := string(Markdown())
	for _, e := range Entries() {
		if !strings.Contains(md, "`"+e.Key) {
			t.Errorf("%s is missing from the reference", e.Key)
		}
	}
}

// TestRegistryIsWellFormed: every entry has a description ending in a
// full stop, callables have a parameter list, members hang under a
// documented parent, and Of points to an entry.
func TestReferenceRegistryIsWellFormed(t *testing.T) {
	for _, e := range Entries() {
		if e.Doc == "" || !strings.HasSuffix(e.Doc, ".") {
			t.Errorf("%s: description %q should be a sentence", e.Key, e.Doc)
		}
		if e.Callable() != (e.Params != "") {
			t.Errorf("%s: a %s with params %q", e.Key, e.Kind, e.Params)
		}
		if e.Callable() && (!strings.HasPrefix(e.Params, "(") || !strings.HasSuffix(e.Params, ")")) {
			t.Errorf("%s: params %q", e.Key, e.Params)
		}
		if p := e.Parent(); p != "" {
			if _, ok := Lookup(p); !ok {
				t.Errorf("%s: no entry for its parent %s", e.Key, p)
			}
		}
		if e.Of != "" {
			if _, ok := Lookup(e.Of); !ok {
				t.Errorf("%s: Of %q has no entry", e.Key, e.Of)
			}
		}
	}
	for alias, to := range managerAliases {
		if e, ok := Lookup(to); !ok || e.Kind != Manager {
			t.Errorf("alias %s → %s is not a manager", alias, to)
		}
	}
}

func TestReferenceLookupResolvesAliases(t *testing.T) {
	for key, want := range map[string]string{
		"containers.create":       "instances.create",
		"virtual_machines.get":    "instances.get",
		"containers":              "instances",
		"cluster.members.all":     "members.all",
		"storage_volumes.create":  "volumes.create",
		"StoragePool.volumes.get": "volumes.get",
		"StorageVolume.snapshots": "StorageVolume.snapshots", // the attribute itself
		"instances.create":        "instances.create",
		"Instance.start":          "Instance.start",
		"Client.resources":        "Client.resources",
	} {
		e, ok := Lookup(key)
		if !ok || e.Key != want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", key, e.Key, ok, want)
		}
	}
	if _, ok := Lookup("instances.nope"); ok {
		t.Error("found instances.nope")
	}
}

func TestReferenceSignatureAndSummary(t *testing.T) {
	e, _ := Lookup("instances.create")
	if got := e.Signature(); got != "instances.create(config, wait=False, target=None) -> Instance" {
		t.Errorf("signature %q", got)
	}
	e, _ = Lookup("Client.instances")
	if got := e.Signature(); got != "Client.instances: instances manager" {
		t.Errorf("signature %q", got)
	}
	e, _ = Lookup("Instance")
	if got := e.Signature(); got != "Instance (type)" {
		t.Errorf("signature %q", got)
	}
	e, _ = Lookup("Error")
	if got := e.Summary(); !strings.HasPrefix(got, "A failure caught by catch(): .kind (e.g. \"NotFound\"), ") {
		t.Errorf("summary %q", got)
	}
}

func TestReferenceMembers(t *testing.T) {
	var names []string
	for _, e := range Members("containers") {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "all create create_from_backup exists get" {
		t.Errorf("Members(containers) = %q", names)
	}
}

// fakeValue is a value with a given type and repr.
type fakeValue struct{ typ, repr string }

func (f fakeValue) String() string        { return f.repr }
func (f fakeValue) Type() string          { return f.typ }
func (f fakeValue) Freeze()               {}
func (f fakeValue) Truth() starlark.Bool  { return true }
func (f fakeValue) Hash() (uint32, error) { return 0, nil }

func noop(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return starlark.None, nil
}

func TestReferenceIndexKeyOf(t *testing.T) {
	exit := starlark.NewBuiltin("exit", noop)
	sysExit := starlark.NewBuiltin("exit", noop)
	now := starlark.NewBuiltin("now", noop)
	env := starlark.StringDict{
		"exit": exit,
		"sys":  &starlarkstruct.Module{Name: "sys", Members: starlark.StringDict{"exit": sysExit}},
		"time": &starlarkstruct.Module{Name: "time", Members: starlark.StringDict{"now": now}},
	}
	ix := NewIndex(env)
	manager := fakeValue{"Manager", "<containers manager>"}
	inst := fakeValue{"Instance", `<Instance "c1" Running>`}
	for _, tc := range []struct {
		v    starlark.Value
		want string
	}{
		{exit, "exit"},
		{sysExit, "sys.exit"},
		{now, "time.now"},
		{env["sys"], "sys"},
		{starlark.Universe["len"], "len"},
		{starlark.NewBuiltin("lxd.wait_all", noop), "lxd.wait_all"},
		{starlark.NewBuiltin("Client", noop), "lxd.Client"},
		{starlark.NewBuiltin("catch", noop), "catch"},
		{starlark.NewBuiltin("sleep", noop), "time.sleep"},
		{starlark.NewBuiltin("containers.create", noop).BindReceiver(manager), "instances.create"},
		{starlark.NewBuiltin("virtual_machines.get", noop).BindReceiver(manager), "instances.get"},
		{starlark.NewBuiltin("Instance.start", noop).BindReceiver(inst), "Instance.start"},
		{starlark.NewBuiltin("start", noop).BindReceiver(inst), "Instance.start"}, // named without prefix
		{starlark.NewBuiltin("Client.has_api_extension", noop).BindReceiver(fakeValue{"Client", "<Client>"}), "Client.has_api_extension"},
		{manager, "instances"},
		{fakeValue{"Manager", "<snapshots manager>"}, "snapshots"},
		{fakeValue{"Manager", "<StorageVolume.snapshots manager>"}, "volume_snapshots"},
		{fakeValue{"Manager", "<cluster.members manager>"}, "members"},
		{starlark.NewBuiltin("StorageVolume.snapshots.create", noop).BindReceiver(fakeValue{"Manager", "<StorageVolume.snapshots manager>"}), "volume_snapshots.create"},
		{starlark.NewBuiltin("StoragePool.resources.get", noop).BindReceiver(fakeValue{"Manager", "<StoragePool.resources manager>"}), "storage_pool_resources.get"},
		{starlark.NewBuiltin("cluster.members.all", noop).BindReceiver(fakeValue{"Manager", "<cluster.members manager>"}), "members.all"},
		{inst, "Instance"},
		{fakeValue{"Operation", "<Operation>"}, "Operation"},
		{&starlarkstruct.Module{Name: "lxd"}, "lxd"},
		{starlarkstruct.FromStringDict(starlark.String("EventType"), nil), "lxd.EventType"},
		{starlarkstruct.FromStringDict(starlark.String("InstanceState"), nil), "InstanceState"},
	} {
		got, ok := ix.KeyOf(tc.v)
		if !ok || got != tc.want {
			t.Errorf("KeyOf(%s %s) = %q, %v; want %q", tc.v.Type(), tc.v, got, ok, tc.want)
		}
	}
	for _, v := range []starlark.Value{
		starlark.NewBuiltin("upper", noop).BindReceiver(starlark.String("x")),
		starlark.MakeInt(1),
		fakeValue{"Manager", "<nope manager>"},
	} {
		if got, ok := ix.KeyOf(v); ok {
			t.Errorf("KeyOf(%s) = %q", v, got)
		}
	}
}

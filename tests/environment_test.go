package tests

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

func TestFrozenModelAllowsServerActionsOnly(t *testing.T) {
	parallelOnEachServer(t, testFrozenModelAllowsServerActionsOnly)
}

func testFrozenModelAllowsServerActionsOnly(t *testing.T, srv server) {
	needSocket(t, srv.Socket)
	name := newInstance(t, srv.Socket, "frozen", false)
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "lib"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib", "fleet.star"), []byte(`
web = lxd.Client().instances.get(instance_name)
`), 0o644))
	main := filepath.Join(dir, "main.star")
	require.NoError(t, os.WriteFile(main, []byte(`
load("lib/fleet.star", "web")
def edit_config(): web.config["user.x"] = "1"
def edit_field(): web.description = "x"
print(catch(edit_config).error.message)
print(catch(edit_field).error.message)
print(catch(web.rollback).error.message)
web.start(wait=True)
print(web.status, web.dirty)
web.stop(wait=True, force=True)
print(web.status)
`), 0o644))
	var out []string
	rt := lxdstar.New(lxdstar.WithLXD(lxdmod.Config{Endpoint: srv.Socket}),
		lxdstar.WithPredeclared(starlark.StringDict{"instance_name": starlark.String(name)}),
		lxdstar.WithPrint(func(msg string) { out = append(out, msg) }))
	_, err := rt.RunFile(context.Background(), main)
	require.NoError(t, err)
	require.Len(t, out, 5)
	assert.Contains(t, out[0], "frozen")
	assert.Equal(t, `cannot set Instance.description: the object is frozen (it is a global of a module that finished loading)`, out[1])
	assert.Contains(t, out[2], "is frozen")
	assert.Equal(t, "Running False", out[3])
	assert.Equal(t, "Stopped", out[4])
	assert.Equal(t, "Stopped", instanceStatus(t, restClient(t, srv.Socket), name))
}

func TestEmbeddingWithExistingClient(t *testing.T) {
	parallelOnEachServer(t, testEmbeddingWithExistingClient)
}

func testEmbeddingWithExistingClient(t *testing.T, srv server) {
	proxy := newCountingProxy(t, srv.Socket)
	rc, err := rest.New(rest.Config{Endpoint: proxy.Socket})
	require.NoError(t, err)
	var out []string
	rt := lxdstar.New(lxdstar.WithClient(rc), lxdstar.WithLXD(lxdmod.Config{Endpoint: "/nonexistent.socket"}),
		lxdstar.WithPrint(func(msg string) { out = append(out, msg) }))
	_, err = rt.Run(context.Background(), "shared.star", []byte(`
c = lxd.Client()
print(c.trusted, lxd.Client(project="default").project)
print(catch(lxd.Client, endpoint="/nonexistent.socket").error.kind)
`))
	require.NoError(t, err)
	assert.Equal(t, []string{"True default", "ClientConnectionFailed"}, out)
	assert.Equal(t, 2, proxy.Count(), "both argument-less clients used the host's connection: %v", proxy.Requests())
}

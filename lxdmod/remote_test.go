package lxdmod

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/internal/testfiles"
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// confDir writes an lxc configuration with one TLS remote "prod" (client
// certificate, pinned server certificate, project "web") and returns it
// with an environment naming it in LXD_CONF (and no HOME).
func confDir(t *testing.T) (string, func(string) string) {
	t.Helper()
	dir := t.TempDir()
	testfiles.Write(t, dir, map[string]string{
		"config.yml":           "remotes:\n  prod:\n    addr: https://127.0.0.1:9443/\n    project: web\n",
		"client.crt":           "crt",
		"client.key":           "key",
		"servercerts/prod.crt": "pin",
	})
	return dir, func(k string) string { return map[string]string{"LXD_CONF": dir}[k] }
}

// clientCall is a call of lxd.Client for restConfig: the arguments given
// (nil: not given), passed by keyword.
type clientCall struct {
	endpoint, cert, project, remote starlark.Value
	verify                          starlark.Value
}

func (a clientCall) config(cfg Config) (rest.Config, error) {
	var kwargs []starlark.Tuple
	for _, kv := range []struct {
		name string
		v    starlark.Value
	}{{"endpoint", a.endpoint}, {"cert", a.cert}, {"project", a.project}, {"remote", a.remote}, {"verify", a.verify}} {
		if kv.v != nil {
			kwargs = append(kwargs, starlark.Tuple{starlark.String(kv.name), kv.v})
		}
	}
	var args clientArgs
	if err := args.unpack(nil, kwargs); err != nil {
		return rest.Config{}, err
	}
	return restConfig(cfg, args)
}

func TestRestConfigRemote(t *testing.T) {
	dir, env := confDir(t)
	pin := filepath.Join(dir, "servercerts", "prod.crt")
	crt, key := filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	prod := starlark.String("prod")

	got, err := clientCall{remote: prod}.config(Config{Getenv: env})
	want := rest.Config{Endpoint: "https://127.0.0.1:9443", Project: "web", CertFile: crt, KeyFile: key, ServerCertFile: pin}
	if got.Getenv == nil {
		t.Fatal("the environment is not passed on to rest.Config")
	}
	got.Getenv = nil
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("remote=prod: %+v, %v", got, err)
	}
	// The host's default remote applies when the script gives no endpoint.
	if got, err := (clientCall{}).config(Config{Remote: "prod", Getenv: env}); err != nil || got.Endpoint != want.Endpoint || got.ServerCertFile != pin {
		t.Fatalf("Config.Remote: %+v, %v", got, err)
	}
	if got, _ := (clientCall{endpoint: starlark.String("/run/x.socket")}).config(Config{Remote: "prod", Getenv: env}); got.Endpoint != "/run/x.socket" || got.ServerCertFile != "" {
		t.Fatalf("endpoint beats Config.Remote: %+v", got)
	}
	// Explicit arguments win over the remote's settings.
	got, _ = clientCall{remote: prod, project: starlark.String("p"), cert: starlark.Tuple{starlark.String("a"), starlark.String("b")}}.config(Config{Getenv: env})
	if got.Project != "p" || got.CertFile != "a" || got.KeyFile != "b" || got.ServerCertFile != pin {
		t.Fatalf("arguments over remote: %+v", got)
	}
	if got, _ := (clientCall{remote: prod, verify: starlark.False}).config(Config{Getenv: env}); !got.Insecure || got.ServerCertFile != "" {
		t.Fatalf("verify=False keeps the pin: %+v", got)
	}
	if got, _ := (clientCall{remote: prod, verify: starlark.String("/other.crt")}).config(Config{Getenv: env}); got.ServerCertFile != "/other.crt" {
		t.Fatalf("verify=path: %+v", got)
	}
	// Host defaults (CLI flags) beat the remote's too.
	got, _ = clientCall{remote: prod}.config(Config{Project: "cli", CertFile: "c", KeyFile: "k", Insecure: true, Getenv: env})
	if got.Project != "cli" || got.CertFile != "c" || got.ServerCertFile != "" || !got.Insecure {
		t.Fatalf("CLI flags over remote: %+v", got)
	}
}

func TestRestConfigRemoteErrors(t *testing.T) {
	_, env := confDir(t)
	for _, tc := range []struct {
		args clientCall
		want string
	}{
		{clientCall{remote: starlark.String("nope")}, "known remotes: local, prod"},
		{clientCall{remote: starlark.String("prod"), endpoint: starlark.String("/x")}, "give endpoint or remote, not both"},
		{clientCall{remote: starlark.MakeInt(1)}, `lxd.Client: for parameter "remote": got int, want string or None`},
	} {
		_, err := tc.args.config(Config{Getenv: env})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.args, err, tc.want)
		}
	}
}

// Remotes and the client certificate come from the injected environment:
// an Incus configuration under its HOME, with an lxc one that lacks them.
func TestRestConfigIncusFromInjectedEnv(t *testing.T) {
	home := t.TempDir()
	incus := filepath.Join(home, ".config", "incus")
	testfiles.Write(t, home, map[string]string{
		".config/lxc/config.yml":            "remotes:\n  other: {addr: \"unix:///x.socket\"}\n",
		".config/incus/config.yml":          "remotes:\n  far:\n    addr: https://127.0.0.1:8446\n    protocol: incus\n",
		".config/incus/client.crt":          "crt",
		".config/incus/client.key":          "key",
		".config/incus/servercerts/far.crt": "pin",
	})
	env := func(k string) string { return map[string]string{"HOME": home}[k] }
	got, err := clientCall{remote: starlark.String("far")}.config(Config{Getenv: env})
	if err != nil || got.Endpoint != "https://127.0.0.1:8446" || got.CertFile != filepath.Join(incus, "client.crt") ||
		got.ServerCertFile != filepath.Join(incus, "servercerts", "far.crt") {
		t.Fatalf("remote=far: %+v, %v", got, err)
	}
	got, err = clientCall{endpoint: starlark.String("https://127.0.0.1:9999")}.config(Config{Getenv: env})
	if err != nil || got.CertFile != filepath.Join(incus, "client.crt") || got.KeyFile != filepath.Join(incus, "client.key") {
		t.Fatalf("default client certificate: %+v, %v", got, err)
	}
	_, err = clientCall{remote: starlark.String("nope")}.config(Config{Getenv: env})
	if err == nil || !strings.Contains(err.Error(), "known remotes: local, other; incus configuration") ||
		!strings.Contains(err.Error(), "known remotes: far, local)") {
		t.Fatalf("unknown remote: %v", err)
	}
}

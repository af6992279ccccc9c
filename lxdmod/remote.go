package lxdmod

import (
	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// applyRemote puts the settings of the lxc or incus remote name
// (lxd.Client(remote="name"), the CLI's --remote) into out, under the
// host's explicit defaults: a CLI --cert or --project wins over the
// remote's, and --insecure drops the remote's pinned server certificate.
func applyRemote(out *rest.Config, name string, getenv func(string) string) error {
	rc, err := rest.ResolveRemote(getenv, name)
	if err != nil {
		return err
	}
	out.Endpoint = rc.Endpoint
	if out.CertFile == "" {
		out.CertFile, out.KeyFile = rc.CertFile, rc.KeyFile
	}
	if !out.Insecure {
		out.ServerCertFile = rc.ServerCertFile
	}
	if out.Project == "" {
		out.Project = rc.Project
	}
	return nil
}

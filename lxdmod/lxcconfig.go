package lxdmod

import (
	"os"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// remoteConfig resolves an lxc CLI remote (lxd.Client(remote="name"), the
// CLI's --remote) into connection settings, reading the lxc configuration
// from $LXD_CONF, ~/.config/lxc or ~/snap/lxd/common/config as lxc does.
func remoteConfig(name string) (rest.Config, error) {
	cfg, err := rest.LoadLXCConfig(rest.LXCConfigDir(os.Getenv))
	if err != nil {
		return rest.Config{}, err
	}
	return cfg.Connection(name)
}

// applyRemote puts a remote's settings into out, under the host's explicit
// defaults: a CLI --cert or --project wins over the remote's, and
// --insecure drops the remote's pinned server certificate.
func applyRemote(out *rest.Config, name string) error {
	rc, err := remoteConfig(name)
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

package lxdmod

import (
	"io"
	"time"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// Config holds the defaults that lxd.Client() uses for arguments the script
// leaves out. The CLI fills it from its connection flags; an embedding host
// from its own settings. The zero Config means "local unix socket".
type Config struct {
	// Client, when set, is the connection lxd.Client() uses when a script
	// names no endpoint, remote or certificate: an embedding host shares
	// its own REST client (and its connection pool) with scripts.
	Client *rest.Client

	Endpoint string        // unix socket path, unix:///path or https://host:port
	Remote   string        // lxc CLI remote name
	Project  string        // LXD project for every request
	CertFile string        // client certificate (PEM)
	KeyFile  string        // client key (PEM)
	Insecure bool          // skip server certificate verification
	Timeout  time.Duration // bound on single HTTP requests; 0 = none
	Trace    io.Writer     // when set, one line per HTTP request
	Progress io.Writer     // when set, progress lines of long operations

	// DryRun previews a script instead of running it against the server:
	// every client.apply prints its plan and changes nothing, and every
	// other request that would change a server (anything but a read) fails
	// with a DryRun error naming it. Reads go through. It holds for the
	// shared Client too. The CLI's --dry-run sets it.
	DryRun bool

	// Getenv is the environment lxd.Client() reads: socket discovery
	// ($LXD_SOCKET, $LXD_DIR, $INCUS_SOCKET, $INCUS_DIR), the lxc and incus
	// configuration ($LXD_CONF, $INCUS_CONF, $HOME) for remotes and the
	// client certificate. Nil means the process environment.
	Getenv func(string) string
}

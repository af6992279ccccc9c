// Package testbed tells integration tests where the real test bed is
// (tests/testbed/testbed.sh starts it; make test runs it) and gates them on
// it: without a test bed, go test ./... skips them with one message instead
// of failing, unless LXDSTAR_REQUIRE_TESTBED=1 (set by make test and CI, so
// that they can never pass by skipping).
package testbed

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lxdstar/lxdstar/lxdmod/rest"
)

// DefaultSocket is the main LXD daemon's socket in the test bed's layout.
const DefaultSocket = "/var/lib/lxd/unix.socket"

// Socket is the main daemon's socket: $LXDSTAR_TEST_SOCKET, else DefaultSocket.
func Socket() string { return cmp.Or(os.Getenv("LXDSTAR_TEST_SOCKET"), DefaultSocket) }

// Missing says why the test bed cannot be used, or "" when the main daemon
// answers GET /1.0.
func Missing() string {
	c, err := rest.New(rest.Config{Endpoint: Socket(), Timeout: 10 * time.Second})
	if err == nil {
		_, err = c.Server(context.Background())
		c.CloseIdleConnections()
	}
	if err == nil {
		return ""
	}
	return fmt.Sprintf("no LXD answers at %s (LXDSTAR_TEST_SOCKET): %v", Socket(), err)
}

// Skip is a TestMain's gate for a package of integration tests. It returns
// false when the test bed answers. Otherwise it writes one message naming
// make test to out and returns true (the caller then runs no test), or,
// with LXDSTAR_REQUIRE_TESTBED=1, writes the message to stderr and exits 1.
func Skip(out io.Writer) bool {
	why := Missing()
	if why == "" {
		return false
	}
	if os.Getenv("LXDSTAR_REQUIRE_TESTBED") == "1" {
		fmt.Fprintf(os.Stderr, "%s; LXDSTAR_REQUIRE_TESTBED=1: `make test` starts the test bed\n", why)
		os.Exit(1)
	}
	fmt.Fprintf(out, "integration tests skipped: %s; run `make test`, which starts the test bed\n", why)
	return true
}

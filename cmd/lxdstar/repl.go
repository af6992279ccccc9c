package main

import (
	"context"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod"
)

// replConfig is what the REPL starts from.
type replConfig struct {
	lxd     lxdmod.Config       // connection defaults from the flags (for `client`)
	std     stdio               // the terminal
	argv    []string            // sys.argv with -i, else empty
	globals starlark.StringDict // the script's globals with -i, else nil
}

// runREPL runs the interactive REPL (API.md §4) until exit() or Ctrl-D and
// returns the exit status. It is the single place the REPL plugs in.
//
// TODO(repl): the REPL is another issue; until it lands this reports that
// it is missing and fails as a usage error.
func runREPL(ctx context.Context, cfg replConfig) int {
	fmt.Fprintln(cfg.std.err, "lxdstar: the interactive REPL is not built yet; run a script file, use -c 'code', or pipe a script on stdin")
	return exitUsage
}

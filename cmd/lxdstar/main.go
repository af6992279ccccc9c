// Command lxdstar runs Starlark scripts that drive LXD (docs/guide.md, “The
// lxdstar command and the REPL”):
//
//	lxdstar [flags] script.star [args…]   run a script; sys.argv = [script.star, args…]
//	lxdstar [flags] -c 'code' [args…]     run code
//	lxdstar [flags]                       REPL when stdin is a terminal, else run stdin
//	lxdstar [flags] -i script.star        run the script, then a REPL with its globals
//
// Exit status: 0 success, 1 script error or fail(), 2 usage error,
// 130 interrupted, n for sys.exit(n).
package main

import (
	"context"
	"errors"
	"os"
	"os/signal"

	"github.com/chzyer/readline"
)

// version is reported by --version; release builds set it with
// -ldflags "-X main.version=v1.2.3".
var version = "devel"

// errInterrupted is the cause of the context cancelled by SIGINT; scripts
// stopped by it fail with "… cancelled: interrupted".
var errInterrupted = errors.New("interrupted")

func main() {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)

	// The first SIGINT cancels the script's context, which stops it (and
	// any LXD request in flight) cleanly; a second one gives up waiting.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt)
	go func() {
		<-sigs
		cancel(errInterrupted)
		<-sigs
		os.Exit(exitInterrupted)
	}()

	os.Exit(run(ctx, os.Args[1:], stdio{
		in:          os.Stdin,
		out:         os.Stdout,
		err:         os.Stderr,
		inTerminal:  readline.IsTerminal(int(os.Stdin.Fd())),
		errTerminal: readline.IsTerminal(int(os.Stderr.Fd())),
	}))
}

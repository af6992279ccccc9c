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
	"runtime/debug"

	"github.com/chzyer/readline"
)

// version is reported by --version; release builds set it with
// -ldflags "-X main.version=v1.2.3".
var version = "devel"

// errInterrupted is the cause of the context cancelled by SIGINT; scripts
// stopped by it fail with "… cancelled: interrupted".
var errInterrupted = errors.New("interrupted")

func main() {
	if p, ok := gcPercent(os.Getenv); ok {
		debug.SetGCPercent(p)
	}
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

// cliGCPercent is the command's GOGC. Most runs are short — list, exec,
// push, exit — and their heap only grows: a collection while it does
// frees little that the run would use again. Listing 1000 instances, Go's
// default of 100 spent a quarter of the process's CPU time collecting for
// no smaller peak RSS (docs/BENCHMARKS.md, list 1000); 200 halves the
// collections and keeps a long script's heap within three times what it
// holds. Programs embedding lxdstar keep their own setting.
const cliGCPercent = 200

// gcPercent is the GOGC the command sets: cliGCPercent, unless the user
// chose one with the GOGC variable (ok is then false).
func gcPercent(getenv func(string) string) (percent int, ok bool) {
	if getenv("GOGC") != "" {
		return 0, false
	}
	return cliGCPercent, true
}

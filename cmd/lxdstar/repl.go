package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/chzyer/readline"
	"go.starlark.net/starlark"

	"github.com/lxdstar/lxdstar/lxdmod"
	"github.com/lxdstar/lxdstar/repl"
)

// replConfig is what the REPL starts from.
type replConfig struct {
	lxd     lxdmod.Config       // connection defaults from the flags (for `client`)
	std     stdio               // the terminal
	argv    []string            // sys.argv with -i, else empty
	globals starlark.StringDict // the script's globals with -i, else nil
}

// historyName is the REPL's history file in the home directory.
const historyName = ".lxdstar_history"

// runREPL runs the interactive REPL (API.md §4) until exit() or Ctrl-D and
// returns the exit status. It is the single place the REPL plugs in.
func runREPL(ctx context.Context, cfg replConfig) int {
	// The REPL owns SIGINT while it runs: Ctrl-C interrupts the running
	// statement, not the whole command. main's handler would cancel the
	// process context on the first SIGINT, so it is taken out (Reset
	// removes every Notify for the signal, main's included).
	signal.Reset(os.Interrupt)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)

	argv := cfg.argv
	if len(argv) == 0 {
		argv = []string{""} // as Python's REPL
	}
	env, lazy := repl.Standard(cfg.lxd, argv, nil) // nil: the process environment

	// The line editor works on the process's terminal (fd 0); anything
	// else is read as plain lines, without prompts or history.
	f, isFile := cfg.std.in.(*os.File)
	terminal := cfg.std.inTerminal && isFile && f.Fd() == os.Stdin.Fd() && readline.IsTerminal(int(f.Fd()))
	history := ""
	if home, err := os.UserHomeDir(); err == nil && terminal {
		history = filepath.Join(home, historyName)
	}
	return repl.Run(ctx, repl.Config{
		Env:         env,
		Lazy:        lazy,
		Globals:     cfg.globals,
		In:          cfg.std.in,
		Out:         cfg.std.out,
		Err:         cfg.std.err,
		Terminal:    terminal,
		HistoryFile: history,
		Interrupts:  sigs,
		Banner:      "lxdstar " + version + " — help() for help, Tab completes, exit() or Ctrl-D leaves",
	})
}

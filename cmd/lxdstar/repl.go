package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/chzyer/readline"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/repl"
)

// historyName is the REPL's history file in the home directory.
const historyName = ".lxdstar_history"

// runREPL runs the interactive REPL on sess until exit() or
// Ctrl-D, closes sess, and returns the exit status. It is the single place
// the REPL plugs in.
func runREPL(ctx context.Context, sess *lxdstar.Session, std stdio) int {
	// The REPL owns SIGINT while it runs: Ctrl-C interrupts the running
	// statement, not the whole command. main's handler would cancel the
	// process context on the first SIGINT, so it is taken out (Reset
	// removes every Notify for the signal, main's included).
	signal.Reset(os.Interrupt)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)

	// The line editor works on the process's terminal (fd 0); anything
	// else is read as plain lines, without prompts or history.
	f, isFile := std.in.(*os.File)
	terminal := std.inTerminal && isFile && f.Fd() == os.Stdin.Fd() && readline.IsTerminal(int(f.Fd()))
	history := ""
	if home, err := os.UserHomeDir(); err == nil && terminal {
		history = filepath.Join(home, historyName)
	}
	return repl.Run(ctx, repl.Config{
		Session:     sess,
		In:          std.in,
		Out:         std.out,
		Err:         std.err,
		Terminal:    terminal,
		HistoryFile: history,
		Interrupts:  sigs,
		Banner:      "lxdstar " + version + " — help() for help, Tab completes, exit() or Ctrl-D leaves",
	})
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lxdstar/lxdstar"
	"github.com/lxdstar/lxdstar/lxdmod"
)

// Exit statuses (docs/guide.md, “The lxdstar command and the REPL”);
// sys.exit(n) exits n.
const (
	exitOK          = 0
	exitError       = 1   // script error or fail()
	exitUsage       = 2   // bad flags, unreadable script
	exitInterrupted = 130 // SIGINT, as shells report 128+SIGINT
)

// Names of scripts that are not files, as shown in backtraces and sys.argv[0].
const (
	stdinName   = "<stdin>"
	cmdlineName = "<cmdline>"
)

// stdio is the command's standard streams and whether they are terminals.
type stdio struct {
	in          io.Reader
	out, err    io.Writer
	inTerminal  bool // no script: REPL rather than reading a script from stdin
	errTerminal bool // progress of long operations is shown on a terminal only
}

// options are the parsed command line.
type options struct {
	lxd     lxdmod.Config
	code    string // -c
	hasCode bool
	inspect bool // -i
	version bool
	args    []string // the script (unless -c) and its arguments
}

// run is the whole command but for process-wide concerns (signals, exit):
// it parses args, runs the script under ctx and returns the exit status.
func run(ctx context.Context, args []string, std stdio) int {
	opts, err := parseArgs(args, std)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if opts.version {
		fmt.Fprintf(std.out, "lxdstar %s\n", version)
		return exitOK
	}

	// Decide what to run: the -c code, a script file, stdin, or nothing
	// (the REPL).
	var name string
	var src []byte
	var scriptArgs []string
	switch {
	case opts.hasCode:
		name, src, scriptArgs = cmdlineName, []byte(opts.code), opts.args
	case len(opts.args) > 0 && opts.args[0] != "-":
		name, scriptArgs = opts.args[0], opts.args[1:]
		if src, err = os.ReadFile(name); err != nil {
			fmt.Fprintf(std.err, "lxdstar: %v\n", err)
			return exitUsage
		}
	case len(opts.args) > 0 || (!std.inTerminal && !opts.inspect):
		// An explicit "-", or a script piped in.
		if len(opts.args) > 0 {
			scriptArgs = opts.args[1:]
		}
		if src, err = readAll(ctx, std.in); err != nil {
			if ctx.Err() != nil {
				return report(ctx, std.err, ctx.Err(), nil)
			}
			fmt.Fprintf(std.err, "lxdstar: reading stdin: %v\n", err)
			return exitUsage
		}
		name = stdinName
	}

	rt := lxdstar.New(
		lxdstar.WithLXD(opts.lxd),
		lxdstar.WithArgs(scriptArgs),
		lxdstar.WithStdout(std.out),
	)
	sources := map[string][]byte{name: src}
	if name != "" && !opts.inspect {
		_, err := rt.Run(ctx, name, src)
		return report(ctx, std.err, err, sources)
	}

	// The REPL, after the script with -i: both run in one session, so that
	// the statements see the script's globals and use its objects. Without
	// a script sys.argv is [""], as in Python's REPL.
	sess := rt.NewSession(ctx, name)
	if name != "" {
		_, err := sess.ExecFile(ctx, name, src)
		if exitingError(err) {
			if closeErr := sess.Close(ctx); closeErr != nil {
				report(ctx, std.err, closeErr, sources)
			}
			return report(ctx, std.err, err, sources)
		}
		// Like python -i: report a failure and carry on into the REPL.
		if err != nil {
			report(ctx, std.err, err, sources)
		}
	}
	// The one place the REPL starts: no script and stdin a terminal, or -i.
	return runREPL(ctx, sess, std)
}

// exitingError reports whether err ends the command even with -i.
func exitingError(err error) bool {
	var exit *lxdstar.ExitError
	return errors.As(err, &exit) || errors.Is(err, context.Canceled)
}

// report prints err (if any) and returns the exit status it calls for.
func report(ctx context.Context, w io.Writer, err error, sources map[string][]byte) int {
	var exit *lxdstar.ExitError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &exit):
		return exit.Code
	case errors.Is(ctx.Err(), context.Canceled) && errors.Is(err, context.Canceled):
		fmt.Fprintln(w, "lxdstar: interrupted")
		return exitInterrupted
	}
	printError(w, err, sources)
	return exitError
}

// readAll reads r to its end, giving up when ctx is done (a SIGINT while
// waiting for piped input).
func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := io.ReadAll(r)
		done <- result{data, err}
	}()
	select {
	case res := <-done:
		return res.data, res.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// parseArgs parses the command line. Flags come first: the first argument
// that is not a flag is the script, and it and everything after it are the
// script's; likewise everything after -c's code.
func parseArgs(args []string, std stdio) (*options, error) {
	opts := &options{}
	fs := flag.NewFlagSet("lxdstar", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `usage: lxdstar [flags] script.star [args…]
       lxdstar [flags] -c 'code' [args…]
       lxdstar [flags] [-i [script.star [args…]]]   (REPL)
       lxdstar [flags] < script.star
flags:
`)
		fs.PrintDefaults()
	}

	var trace bool
	fs.StringVar(&opts.lxd.Endpoint, "endpoint", "", "LXD `URL|PATH`: https://host:port, a unix socket path or unix:///path")
	fs.StringVar(&opts.lxd.Remote, "remote", "", "use the lxc CLI remote `NAME` (endpoint and certificates)")
	fs.StringVar(&opts.lxd.Project, "project", "", "LXD project `NAME` for every request")
	fs.StringVar(&opts.lxd.CertFile, "cert", "", "client certificate `FILE` (PEM)")
	fs.StringVar(&opts.lxd.KeyFile, "key", "", "client key `FILE` (PEM)")
	fs.BoolVar(&opts.lxd.Insecure, "insecure", false, "do not verify the server certificate")
	fs.Func("timeout", "bound on each HTTP request, in `SECONDS` (never on operation waits)", func(s string) error {
		secs, err := strconv.ParseFloat(s, 64)
		if err != nil || secs < 0 || math.IsInf(secs, 0) || math.IsNaN(secs) {
			return errors.New("want a number of seconds ≥ 0")
		}
		opts.lxd.Timeout = time.Duration(secs * float64(time.Second))
		return nil
	})
	quiet := fs.Bool("quiet", false, "no progress output for long operations")
	fs.BoolVar(&opts.lxd.DryRun, "dry-run", false, "change nothing: every apply prints its plan, any other write fails with DryRun; reads go through")
	fs.BoolVar(&trace, "trace", false, "log each HTTP request to stderr (also LXDSTAR_TRACE=1)")
	fs.BoolVar(&opts.version, "version", false, "print the version and exit")
	fs.Func("c", "run `code` instead of a script", func(s string) error {
		opts.code, opts.hasCode = s, true
		return nil
	})
	fs.BoolVar(&opts.inspect, "i", false, "start the REPL after running the script")

	flagArgs, afterCode := splitAtCode(fs, args)
	if err := fs.Parse(flagArgs); err != nil {
		return nil, err
	}
	opts.args = append(fs.Args(), afterCode...)

	if env, err := strconv.ParseBool(os.Getenv("LXDSTAR_TRACE")); err == nil && env {
		trace = true
	}
	if trace {
		opts.lxd.Trace = std.err
	}
	if std.errTerminal && !*quiet {
		opts.lxd.Progress = std.err
	}
	return opts, nil
}

// splitAtCode splits args after the value of -c: like a script name, the
// code ends the flags. The flag package would go on parsing flags there.
func splitAtCode(fs *flag.FlagSet, args []string) (flags, rest []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			break // the script
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "c" {
			end := i + 1
			if !hasValue && end < len(args) {
				end++ // the code is the next argument
			}
			return args[:end], args[end:]
		}
		f := fs.Lookup(name)
		if f == nil || hasValue {
			continue // flag.Parse reports unknown flags
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		i++ // skip the flag's value
	}
	return args, nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usageText = `Usage: tes <command> [options]

Commands:
  serve   run the server: Device Gateway API and admin API
  check   load and compile every issuer's scripts as the server would
  sim     play the TSH for one operation against a server (or in process)
  test    run the issuers' own flow tests, offline
  replay  run a recorded session through the flows in a folder
  bench   measure a server under load
  backup  copy the embedded store to a file, from its directory or a running server
  compact rewrite the embedded store's file with its live pages only (server stopped)
  version print the version, commit and Go version (also tes --version)
  migrate apply the PostgreSQL schema migrations of --store and exit

Run "tes <command> --help" for a command's options.
`

// Exit codes of every subcommand.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
		defer signal.Stop(signals)
		return runServe(context.Background(), args[1:], stdout, stderr, signals)
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "test":
		return untilSignal(runTest, args[1:], stdout, stderr)
	case "replay":
		return untilSignal(runReplay, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		return runVersion(stdout)
	case "compact":
		return runCompact(args[1:], stdout, stderr)
	case "backup":
		return untilSignal(runBackup, args[1:], stdout, stderr)
	case "migrate":
		return untilSignal(runMigrate, args[1:], stdout, stderr)
	case "sim":
		return untilSignal(runSim, args[1:], stdout, stderr)
	case "bench":
		return untilSignal(runBench, args[1:], stdout, stderr)
	default:
		if args[0] != "help" && args[0] != "-h" && args[0] != "--help" && args[0] != "-help" {
			fmt.Fprintf(stderr, "tes: unknown command %q\n\n", args[0])
		}
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
}

// untilSignal runs a subcommand under a context that SIGINT or SIGTERM
// ends.
func untilSignal(cmd func(context.Context, []string, io.Writer, io.Writer) int, args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return cmd(ctx, args, stdout, stderr)
}

// parseSubcommand parses args with fs. It returns the exit code and false
// when the command should stop: 0 after --help (usage on stdout), 2 after a
// bad flag (the error and usage on stderr).
func parseSubcommand(fs *flag.FlagSet, about string, args []string, stdout, stderr io.Writer) (int, bool) {
	fs.SetOutput(io.Discard)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s [options]\n\n%s\n\nOptions:\n", fs.Name(), about)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		usage(stdout)
		return exitOK, false
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		usage(stderr)
		return exitUsage, false
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", fs.Name(), fs.Args())
		return exitUsage, false
	}
	return exitOK, true
}

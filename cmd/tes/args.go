package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// parseWithArgs is parseSubcommand for commands that take arguments besides
// flags (tes test ISSUER…, tes replay SESSION_ID): flags may come before,
// between and after them. It returns the arguments, the exit code, and
// false when the command should stop (--help, a bad flag, more than
// maxArgs arguments; maxArgs < 0: any number).
func parseWithArgs(fs *flag.FlagSet, about, argsUsage string, maxArgs int, args []string, stdout, stderr io.Writer) ([]string, int, bool) {
	fs.SetOutput(io.Discard)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s [options] %s\n\n%s\n\nOptions:\n", fs.Name(), argsUsage, about)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	var rest []string
	for {
		err := fs.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			usage(stdout)
			return nil, exitOK, false
		case err != nil:
			fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
			usage(stderr)
			return nil, exitUsage, false
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if maxArgs >= 0 && len(rest) > maxArgs {
		fmt.Fprintf(stderr, "%s: unexpected arguments %q\n", fs.Name(), rest[maxArgs:])
		return nil, exitUsage, false
	}
	return rest, exitOK, true
}

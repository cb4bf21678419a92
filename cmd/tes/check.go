package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tes-project/tes/scripts"
)

const checkAbout = `Loads and compiles every issuer's scripts and guards under --issuers as the
server would, without serving anything. Prints each problem as
"file:line: message" on its own line and exits 1 on any, 0 when all load.`

// runCheck is tes check.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tes check", flag.ContinueOnError)
	dir := fs.String("issuers", "./issuers", "folder of issuer folders (env "+envName("issuers")+")")
	if code, ok := parseSubcommand(fs, checkAbout, args, stdout, stderr); !ok {
		return code
	}
	if err := applyEnv(fs, os.Getenv); err != nil {
		fmt.Fprintf(stderr, "tes check: %v\n", err)
		return exitUsage
	}
	problems := scripts.Check(*dir)
	for _, p := range problems {
		fmt.Fprintln(stdout, p.String())
	}
	if len(problems) > 0 {
		return exitFail
	}
	return exitOK
}

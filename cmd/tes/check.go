package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path"

	"github.com/tes-project/tes/issuertest"
	"github.com/tes-project/tes/scripts"
)

const checkAbout = `Loads and compiles every issuer's scripts and guards under --issuers as the
server would, without serving anything, checks more than a load does (guards
naming answers no command is built for, calls of module functions that do not
exist, money flows without a settle path) and parses the issuers' tests.
Prints each problem and warning as "file:line: message" on its own line, then
a summary when nothing is wrong. Exits 1 on any problem (warnings alone do not
fail), 0 when all load.`

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
	res := scripts.CheckDir(*dir)
	for _, p := range res.Problems {
		fmt.Fprintln(stdout, p.String())
	}
	tests, testProblems := 0, 0
	if names, err := os.ReadDir(*dir); err == nil {
		for _, e := range names {
			if !e.IsDir() {
				continue
			}
			cases, problems := issuertest.LoadCases(*dir, e.Name())
			tests += len(cases)
			testProblems += len(problems)
			for _, p := range problems {
				fmt.Fprintln(stdout, p)
			}
		}
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stdout, w.String())
	}
	if len(res.Problems) > 0 || testProblems > 0 {
		return exitFail
	}
	fmt.Fprintf(stdout, "ok: %d issuers, %d operations, %d flows, %d tests, %d warnings in %s\n",
		res.Issuers, res.Operations, res.Flows, tests, len(res.Warnings), path.Clean(*dir))
	return exitOK
}

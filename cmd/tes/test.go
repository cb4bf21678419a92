package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/tes-project/tes/issuertest"
)

const testAbout = `Runs issuers' own tests (ISSUER/tests/*.yaml, see docs/scripting.md) offline:
each case on a virtual card, a store of its own in a temporary folder and the
flows under --issuers, in process, several at a time. Prints one line per case
and a summary; exits 1 on any failure, 0 when every case passes. With ISSUER
arguments, only those issuers' tests run. Keyed cards (DEMOAES's) authenticate
through a software SAM over the key store of --keys, as tes serve's; without
--keys, the built-in DEMOAES test keys serve.`

// runTest is tes test.
func runTest(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tes test", flag.ContinueOnError)
	dir := fs.String("issuers", "./issuers", "folder of issuer folders (env "+envName("issuers")+")")
	runExpr := fs.String("run", "", "run only the cases whose name matches this regular expression")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of text")
	verbose := fs.Bool("v", false, "print each case's session decisions, also when it passes")
	parallel := fs.Int("parallel", 0, "cases run at once (default: the number of CPUs)")
	keys := fs.String("keys", "", "key store of keyed cards: one <issuerId>.json per issuer, mode 600, as tes serve reads it (docs/keys.md; env "+envName("keys")+"); default: the built-in DEMOAES TEST KEYS, which serve DEMOAES only")
	issuers, code, ok := parseWithArgs(fs, testAbout, "[ISSUER...]", -1, args, stdout, stderr)
	if !ok {
		return code
	}
	if err := applyEnv(fs, os.Getenv); err != nil {
		fmt.Fprintf(stderr, "tes test: %v\n", err)
		return exitUsage
	}
	cfg := issuertest.Config{Dir: *dir, Issuers: issuers, Parallel: *parallel, KeyDir: *keys}
	if *runExpr != "" {
		re, err := regexp.Compile(*runExpr)
		if err != nil {
			fmt.Fprintf(stderr, "tes test: --run: %v\n", err)
			return exitUsage
		}
		cfg.Run = re
	}
	var onResult func(issuertest.Result)
	if !*asJSON {
		onResult = func(r issuertest.Result) { printResult(stdout, r, *verbose) }
	}
	rep, err := issuertest.Run(ctx, cfg, onResult)
	if err != nil {
		fmt.Fprintf(stderr, "tes test: %v\n", err)
		return exitFail
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "tes test: %v\n", err)
			return exitFail
		}
	} else {
		for _, p := range rep.Problems {
			fmt.Fprintf(stdout, "ERROR %s\n", p)
		}
		verdict := "ok"
		if !rep.OK() {
			verdict = "FAIL"
		}
		fmt.Fprintf(stdout, "%s: %d passed, %d failed, %d skipped, %d problems; %d issuers in %s\n",
			verdict, rep.Passed, rep.Failed, rep.Skipped, len(rep.Problems), rep.Issuers, rep.Elapsed.Round(time.Millisecond))
	}
	if !rep.OK() {
		return exitFail
	}
	return exitOK
}

// printResult prints one case: its verdict line, then on failure (or with
// -v) what did not hold and the sessions' decisions, indented.
func printResult(w io.Writer, r issuertest.Result, verbose bool) {
	verdict := "ok  "
	if !r.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "%s %s:%d: %s (%s)\n", verdict, r.File, r.Line, r.Name, r.Elapsed.Round(time.Millisecond))
	for _, f := range r.Failures {
		fmt.Fprintf(w, "     %s\n", f)
	}
	if !r.Pass || verbose {
		for _, d := range r.Detail {
			fmt.Fprintf(w, "       | %s\n", d)
		}
	}
}

package main

import (
	"flag"
	"fmt"
	"strings"
)

// envName is the environment variable of a flag: TES_ and the flag's name
// in upper case with dashes as underscores (--admin-addr: TES_ADMIN_ADDR).
func envName(flagName string) string {
	return "TES_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyEnv sets every flag of fs that the command line left unset from its
// environment variable, when that is set: a flag wins over the environment,
// the environment over the default. It runs after fs.Parse, so that usage
// never prints a value from the environment (the admin token is one).
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || given[f.Name] {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			if setErr := f.Value.Set(v); setErr != nil {
				err = fmt.Errorf("%s: %w", envName(f.Name), setErr)
			}
		}
	})
	return err
}

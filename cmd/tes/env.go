package main

import (
	"flag"
	"fmt"
	"os"
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

// givenOrInEnv reports whether the flag name was set on the command line
// or through its environment variable.
func givenOrInEnv(fs *flag.FlagSet, name string, getenv func(string) string) bool {
	given := getenv(envName(name)) != ""
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// mustBeFolder fails, naming the flag and the path, unless path is a
// directory: a mistyped path must stop the program, not fall back to a
// default.
func mustBeFolder(flagName, path string) error {
	info, err := os.Stat(path)
	switch {
	case err != nil:
		return fmt.Errorf("%s %s: %w", flagName, path, err)
	case !info.IsDir():
		return fmt.Errorf("%s %s: not a folder", flagName, path)
	}
	return nil
}

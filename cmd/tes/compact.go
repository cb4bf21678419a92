package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/tes-project/tes/store/boltstore"
)

const compactAbout = `Rewrites the embedded store (the bbolt file in --data) with only its live
pages. bbolt reuses the pages that purged sessions free but never gives them
back, so the file keeps the size of its busiest week. Run it with the server
stopped (it waits --timeout for the file's lock, then fails): after a purge
of many sessions, or when the file is several times what a fresh copy would
be (compare with tes backup's size). The new file replaces the old one only
once it is written whole and synced.`

func runCompact(args []string, stdout, stderr io.Writer) int {
	var data string
	var timeout time.Duration
	fs := flag.NewFlagSet("tes compact", flag.ContinueOnError)
	fs.StringVar(&data, "data", "./data", "directory of the embedded store (the server's --data)")
	fs.DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the file's lock")
	if code, ok := parseSubcommand(fs, compactAbout, args, stdout, stderr); !ok {
		return code
	}
	got, err := boltstore.Compact(filepath.Join(data, storeFile), timeout)
	if errors.Is(err, boltstore.ErrLocked) {
		fmt.Fprintf(stderr, "tes compact: %v; stop the server first\n", err)
		return exitFail
	}
	if err != nil {
		fmt.Fprintf(stderr, "tes compact: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "compacted %s: %d → %d bytes\n", filepath.Join(data, storeFile), got.Before, got.After)
	return exitOK
}

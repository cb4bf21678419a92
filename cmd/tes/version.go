package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are set at link time for releases:
//
//	go build -ldflags "-X main.version=1.4.0 -X main.commit=$(git rev-parse HEAD)" ./cmd/tes
//
// When empty, they come from the build information Go records (the module
// version, the VCS revision when built with -buildvcs).
var (
	version = ""
	commit  = ""
)

// buildInfo is what tes version prints.
type buildInfo struct {
	Version, Commit, GoVersion string
	Modified                   bool
}

// readBuildInfo combines the link-time values with the recorded build
// information.
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if info, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if b.Commit == "" {
					b.Commit = s.Value
				}
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if b.Version == "" {
		b.Version = "devel"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// runVersion is tes version (and tes --version).
func runVersion(stdout io.Writer) int {
	b := readBuildInfo()
	modified := ""
	if b.Modified {
		modified = " (modified)"
	}
	fmt.Fprintf(stdout, "tes %s\ncommit %s%s\n%s\n", b.Version, b.Commit, modified, b.GoVersion)
	return exitOK
}

package scripts

import (
	"log/slog"
	"os"
	"path/filepath"
)

// CheckResult is what CheckDir found.
type CheckResult struct {
	// Issuers, Operations and Flows count what loaded.
	Issuers    int
	Operations int
	Flows      int
	// Problems refuse a load; Warnings do not.
	Problems []Problem
	Warnings []Problem
}

// CheckDir loads every issuer under dir exactly as a reload would, without
// serving anything, and reports every problem and warning of every issuer
// folder. An unreadable root, or one that holds no issuer folder, is a
// problem too.
func CheckDir(dir string) CheckResult {
	var res CheckResult
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		res.Problems = []Problem{{File: dir, Message: "not a directory"}}
		return res
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		res.Problems = []Problem{{File: dir, Message: err.Error()}}
		return res
	}
	fsys := os.DirFS(root)
	names, err := issuerNames(fsys)
	if err != nil {
		res.Problems = []Problem{{File: dir, Message: err.Error()}}
		return res
	}
	if len(names) == 0 {
		res.Problems = []Problem{{File: dir, Message: "no issuer folder here (each issuer is a folder holding " + ManifestFile + ")"}}
		return res
	}
	logger := slog.New(slog.DiscardHandler)
	for _, name := range names {
		files, _, err := readStable(fsys, root, name)
		if err != nil {
			res.Problems = append(res.Problems, Problem{File: name, Message: err.Error()})
			continue
		}
		c, ps := compileIssuer(name, files, logger)
		res.Problems = append(res.Problems, ps...)
		if c == nil {
			continue
		}
		res.Issuers++
		res.Operations += len(c.ops)
		res.Flows += len(c.flows)
		res.Warnings = append(res.Warnings, c.warnings...)
	}
	return res
}

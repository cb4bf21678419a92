package scripts

import (
	"errors"
	"fmt"
)

// Errors of loading and running flows. Callers test them with errors.Is.
var (
	// ErrLoad: an issuer folder did not load; the error lists its Problems.
	ErrLoad = errors.New("scripts: issuer does not load")
	// ErrNoIssuers: the issuers root could not be read at all.
	ErrNoIssuers = errors.New("scripts: issuers root unreadable")
	// ErrNoIssuer: ReloadIssuer was given a name that is neither an issuer
	// folder nor a loaded issuer.
	ErrNoIssuer = errors.New("scripts: no such issuer")
	// ErrScript: a flow failed while running a step (Lua error, guard
	// error, no guard held, time limit); the engine answers 921.
	ErrScript = errors.New("scripts: flow failed")
	// ErrState: the session state handed back is not one this version wrote.
	ErrState = errors.New("scripts: bad session state")
	// ErrUnknownOperation: the operation has no flow in this version.
	ErrUnknownOperation = errors.New("scripts: unknown operation")
)

// Problem is one reason an issuer folder does not load.
type Problem struct {
	File    string // path from the issuers root, e.g. "DEMO/topup.lua"
	Line    int    // 1-based; 0 when the problem is not tied to a line
	Message string
}

// String renders the problem as "file:line: message".
func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// LoadError carries every Problem of a failed load; it matches ErrLoad.
type LoadError struct {
	Issuer   string
	Problems []Problem
}

func (e *LoadError) Error() string {
	if len(e.Problems) == 0 {
		return "scripts: issuer " + e.Issuer + " does not load"
	}
	msg := e.Problems[0].String()
	if n := len(e.Problems) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	return msg
}

// Is makes errors.Is(err, ErrLoad) hold.
func (e *LoadError) Is(target error) bool { return target == ErrLoad }

// problems collects Problems of one load.
type problems struct {
	list []Problem
}

func (ps *problems) add(file string, line int, format string, args ...any) {
	ps.list = append(ps.list, Problem{File: file, Line: line, Message: fmt.Sprintf(format, args...)})
}

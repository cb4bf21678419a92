package flow

import (
	"context"
	"time"
)

// IssuerStatus says what is loaded for one issuer: the version serving new
// operations and, when the last load failed, why.
type IssuerStatus struct {
	IssuerID string
	Version  string    // content hash of the serving version; empty if none ever loaded
	LoadedAt time.Time // when the serving version was swapped in
	// Error is the last load's failure as "file:line: message"; empty when
	// the last load succeeded.
	Error string
	// RuntimeErrors counts the issuer's steps that failed at run time
	// (Lua error, guard error, no guard held, time limit) since the process
	// started, whatever version ran them: a script that loads but fails on
	// real cards shows here, beside the load error.
	RuntimeErrors int
	// LastRuntimeError is the last of them, "file:line: step NAME: message"
	// when the failure has a position; empty when there was none.
	LastRuntimeError string
	// LastRuntimeErrorAt is when it happened; zero when there was none.
	LastRuntimeErrorAt time.Time
	// LastRuntimeErrorOperation is the operation it ended (e.g. TOPUP).
	LastRuntimeErrorOperation string
}

// Catalog is the operator's view of the loaded issuers (admin API). Safe for
// concurrent use.
type Catalog interface {
	Statuses() []IssuerStatus
	// Reload reads every issuer folder again and swaps in what loads;
	// it returns an error only when the reload could not run at all.
	Reload(ctx context.Context) error
}

// RuntimeErrorRecorder is a Registry that keeps its issuers' run-time
// errors (IssuerStatus.RuntimeErrors). The engine reports through it the
// steps it stopped itself (time or memory limit, panic), which the flow
// never saw fail.
type RuntimeErrorRecorder interface {
	RecordRuntimeError(issuerID, operation string, at time.Time, err error)
}

package engine

import (
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// Request is one Device Gateway call, validated for presence and format by
// the caller and copied out of any transport buffer.
type Request struct {
	Endpoint      flow.Endpoint
	ActorID       string
	IssuerID      string
	CardID        string
	PurchaseID    string
	DeviceID      string
	Operation     string // as sent; empty selects the endpoint's default
	CardContents  *flow.CardContents
	Responses     []Response // empty starts an operation
	ResponseTime  float64    // responseTimeMs, for the trace
	StatusCode    int        // the TSH's report on the previous batch
	StatusMessage string
}

// Response is the device's answer to one command. An empty Frame means the
// device got no answer.
type Response struct {
	CommandID string
	Frame     []byte
}

// Reply is the engine's answer. SessionID is empty when the request never
// reached a session.
type Reply struct {
	SessionID string
	// Operation is the canonical operation the request was for; empty when
	// it never got that far (113, 112 for an unknown operation).
	Operation     string
	StatusCode    int
	StatusMessage string
	Commands      []store.Command
	Balance       *int64
	CardAccountID string
}

// Observer learns of every step the engine runs, for metrics. Its methods
// are called on the request's goroutine and must not block.
type Observer interface {
	// StepDone reports one step of operation of issuerID: how long it ran
	// and, when it failed (a script error, a timeout, the memory budget),
	// why. A failed step ends its operation with 921.
	StepDone(issuerID, operation string, elapsed time.Duration, err error)
}

package engine

import "errors"

// Errors of the engine. Handle never returns them: it answers a status code
// and logs them. They are exported so that logs and tests can name them.
var (
	// ErrConfig: New was given a Config without a store or without flows.
	ErrConfig = errors.New("engine: incomplete config")

	// ErrStepTimeout: a step ran past its issuer's StepTimeout (921, FAULT).
	ErrStepTimeout = errors.New("engine: step timed out")
	// ErrStepMemory: the heap passed the memory budget of running steps
	// and this step, the oldest running, was stopped (921, FAULT).
	ErrStepMemory = errors.New("engine: step stopped over the memory budget")
	// ErrStepPanic: a step panicked (921, FAULT).
	ErrStepPanic = errors.New("engine: step panicked")

	// ErrEffectRefused: a step asked for a change the ledger forbids (an
	// unknown purchase, applying an applied purchase); the operation ends
	// 911 and none of the step's effects are written.
	ErrEffectRefused = errors.New("engine: effect refused")

	// ErrNotUncertain: ResolvePurchase was asked to settle a purchase that
	// is not UNCERTAIN.
	ErrNotUncertain = errors.New("engine: purchase is not UNCERTAIN")
	// ErrCardBusy: ResolvePurchase was asked to settle a purchase whose card
	// has an open operation, which may settle it itself.
	ErrCardBusy = errors.New("engine: an operation is open on the card")

	// ErrContention: the device's session kept changing between reading it
	// and committing, more often than the engine retries (921).
	ErrContention = errors.New("engine: session kept changing under the engine")
)

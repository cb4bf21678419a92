// Package replay runs a recorded session's card answers through an
// issuer's flows as they are now, to try a patch on the session that
// failed before it goes live (tes replay).
//
// # Basics
//
// A Recording is the session trace the admin API shows
// (GET /admin/v1/sessions/{id}), parsed by Parse, optionally with the
// ledger facts the flow read and reader mode's cardContents added (the trace
// keeps neither). Run feeds the recorded request and, call by call, the
// recorded answers to the flow's Step, at each call's recorded time, on a
// ledger that answers from fixed Facts, and compares with the recording:
// the step that ran, the guard decisions, the commands sent and the outcome.
// Each call gives one Finding.
//
// Replay stops where the recording can no longer answer: when the new flow
// sends commands other than the recorded ones (the recorded answers are to
// those), when the recording ends while the new flow waits for answers, or
// at a recorded call that ran no step (a device failure, 323, an expiry).
//
// # Caveats
//
// Effects are not applied: the ledger stays as the Facts say for the whole
// replay, as it was for each step of the recorded session only when the
// Facts are the ledger at its start. Facts taken from today's ledger (the
// session's purchase since APPLIED, say) make the new flow decide
// differently for reasons that are not in the flow.
//
// This package is not the engine: the session rules (TTL, retries,
// replays of a request) are not played, only the flow's steps.
package replay

package sam

import "errors"

// Errors returned by SAMs, grouped by when they occur. Callers test them with
// errors.Is; the returned errors wrap them with details that never include key
// material. Every SAM implementation, software or hardware, returns these.
var (
	// Beginning an authentication.

	// ErrUnknownIssuer: the key store has no key file for the issuer.
	ErrUnknownIssuer = errors.New("sam: unknown issuer")
	// ErrUnknownKeyVersion: the key store holds no key for a node at the key
	// version the card reported (or the card reported FFFF, no such node).
	// The lead maps it to status 177.
	ErrUnknownKeyVersion = errors.New("sam: no key for this node and key version")
	// ErrBadRequest: the arguments cannot make a command (no node or more than
	// 16, key versions not one per node, a block list the codec refuses).
	ErrBadRequest = errors.New("sam: bad request")

	// Checking the card's answers.

	// ErrNotAuthentic: the card's answer does not authenticate: a wrong
	// Challenge 1B (wrong node key or individualisation code), a bad MAC, or a
	// transaction number that is not past the command's. Nothing it says may be
	// trusted, and nothing may be written on its strength. The lead maps it to
	// status 911.
	ErrNotAuthentic = errors.New("sam: the card's answer does not authenticate")
	// ErrMalformedAnswer: the answer is not a frame of the expected command
	// (wrong code, wrong length, another IDm); it wraps the codec's error.
	ErrMalformedAnswer = errors.New("sam: malformed answer")

	// The session state.

	// ErrBadState: the sealed state does not open under this SAM's sealing key
	// (tampered, truncated, sealed by another SAM or before a restart without a
	// seal key), or the call does not fit the state's phase (Open before the
	// session, a second FinishAuth).
	ErrBadState = errors.New("sam: bad session state")
	// ErrSessionExhausted: the transaction number is used up; authenticate again.
	ErrSessionExhausted = errors.New("sam: transaction numbers exhausted, authenticate again")

	// The key store.

	// ErrKeyStore: a key file cannot be used: readable by group or others, not
	// in the format of CONTRACT.md section 5, or named after another issuer.
	ErrKeyStore = errors.New("sam: key store")
)

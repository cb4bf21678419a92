package store

import "errors"

// Errors returned by every backend. Callers test them with errors.Is.
var (
	// ErrNotFound: the record asked for does not exist.
	ErrNotFound = errors.New("store: not found")

	// ErrConflict: PutSession found a revision other than the one the caller
	// read; another writer advanced the session first.
	ErrConflict = errors.New("store: revision conflict")

	// ErrClaimed: PutSession of an open session whose card (a Claim) is
	// held by another open session.
	ErrClaimed = errors.New("store: card claimed by another open session")

	// ErrInvalid: a record is missing a key field (issuer, id) or is otherwise
	// not storable.
	ErrInvalid = errors.New("store: invalid record")

	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store: closed")

	// ErrReadOnly: a write method was called in a View.
	ErrReadOnly = errors.New("store: write in a read-only transaction")
)

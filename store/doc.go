// Package store holds what tes must not forget: operation sessions, the ledger
// (cards, purchases, accounts, blacklist, reader-mode attempts, parked
// balances) and the sources of every script version a live session needs.
//
// # Basics
//
// A Store hands out transactions through closures, as bbolt does: View for
// reads, Update for a read-write transaction that commits when the closure
// returns nil and rolls back otherwise. No backend type leaves the package;
// the records are plain Go values copied out of the backend, so they stay
// valid after the transaction ends.
//
// The bbolt backend lives in store/boltstore; every backend must pass the
// conformance suite in store/storetest.
//
// # Caveats
//
//   - A Tx is only valid inside its closure and only on the goroutine that
//     runs it. Do not open a View inside an Update (bbolt deadlocks on remap).
//   - Update closures may run more than once when a backend coalesces
//     commits: they must be idempotent and have no side effect outside the
//     transaction.
//   - PutSession is a compare-and-swap on the session's revision; it fails
//     with ErrConflict when another writer advanced the session first.
//
// It is not the place for session rules or money logic: those are the
// engine's. The store only keeps records and their indexes consistent.
package store

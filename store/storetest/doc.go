// Package storetest is the conformance suite of store.Store: every backend
// runs Run from its own tests and must pass it.
//
// # Basics
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openEmpty(t) })
//	}
//
// Each subtest gets a new, empty store from open and closes it at cleanup.
// The suite covers every Tx method: absent records, round trips of every
// record, the compare-and-swap of PutSession, the session indexes (device,
// listing, expiry, purge), the ledger, script versions, rollback, read-only
// views, invalid keys, cancelled contexts and a closed store.
//
// # Caveats
//
//   - Durability across Close and Open is not covered: the suite cannot
//     reopen a store generically. Backends test it themselves.
//   - Records are compared with reflect.DeepEqual after a round trip, with
//     times in UTC and slices non-empty where empty and nil would differ.
//     A backend must keep the instant of every time; it may lose the
//     monotonic reading and turn empty slices into nil.
//
// It is not a benchmark suite and holds no production code.
package storetest

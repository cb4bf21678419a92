// Package engine runs operations: it applies the session rules of
// CONTRACT.md §1.5 to each Device Gateway request, asks the issuer's flow
// (package flow) for the next step at the script version the session is
// pinned to, and writes the new session state and the step's effects on the
// ledger in one store transaction, with a compare-and-swap on the session's
// revision, before it answers.
//
// It is not HTTP (package server turns wire requests into Requests), not Lua
// (package scripts implements flows) and not storage (package store).
//
// # Basics
//
// Engine.Handle takes a Request the server has checked for presence and
// format and answers a Reply. In order: the issuer (113) and the operation
// (112) are resolved — except that a continue for an issuer unloaded while
// its operation ran goes on, on the version its session is pinned to, so
// that removing an issuer never strands a money-moving write; the device's
// newest session is read; the session rules
// pick one of: answer without writing (retry, replay, 112, 118, 321, 322 on
// an ended session), end the session without a step (expiry 322, device
// failure 221/231/232, 323), or run a step and commit its outcome. A step
// runs outside any transaction, under the issuer's step timeout; it reads
// the ledger through short read transactions. The commit re-reads the
// device's newest session and goes ahead only if it is the one read before;
// otherwise the request starts over from the read, a bounded number of times.
//
// Effects are checked against copies of the records they touch and written
// only when all are accepted: a refused effect (an unknown purchase, an
// applied purchase applied again) writes nothing and ends the operation 911.
// WriteSent makes a purchase UNCERTAIN in the same commit that sends the
// write, so an operation that ends without the answer leaves it UNCERTAIN
// with the counter to settle it by (CONTRACT.md §1.6). ParkSent and
// TransferSent do the same for the value a park or a reader-mode transfer
// moves: a pending park on the card, a pending account for the IDm, which
// the next operation completes or discards by reading the card.
//
// Engine.Sweep closes sessions whose TTL passed and purges ended ones past
// their retention; Engine.RunSweeper runs it periodically.
//
// # Caveats
//
//   - Replays. A request with responses whose fingerprint equals the one
//     that last advanced the session gets the stored reply, also after that
//     reply ended the session. A start request (no responses) never matches
//     an ended session: a READ identical to an old, finished one is a new
//     operation. Only an open session's first reply is repeated to a start
//     (the retry rule). A session that ended by expiry replays nothing:
//     its reply did not end it, so responses to it answer 322.
//   - Requests of one device are serialized inside the process, so that
//     concurrent identical requests run the step once; the compare-and-swap
//     covers the rest (the sweeper, another process on the same store).
//   - A step that ignores its context is abandoned at its timeout: it runs
//     on, holding the runner (a goroutine the engine keeps for steps) it
//     runs on, but its result is dropped; the next step gets another
//     runner. When the caller's own context ends during a step, nothing is
//     written and Handle answers 921.
//   - 112 answers carry no session id (CONTRACT.md §1.2), even when the
//     request named the device's open session.
package engine

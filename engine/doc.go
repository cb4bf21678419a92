// Package engine runs operations: it applies the session rules of
// CONTRACT.md §1.5 to each Device Gateway request, asks the issuer's flow
// (package flow) for the next step at the script version the session is
// pinned to, and writes the new session state and the step's effects on the
// ledger in one store transaction, with a compare-and-swap on the session's
// revision, before it answers.
//
// It is not HTTP (package server turns wire requests into Requests), not Lua
// (package scripts implements flows) and not storage (package store).
package engine

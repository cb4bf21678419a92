// Package flow is the contract between the engine and whatever describes an
// issuer's card flows: the engine asks an Issuer for the next Step of an
// operation, giving it the device's answers, the flow's own saved state and
// read access to the ledger; the flow answers with a batch of FeliCa commands
// or a final status, and a list of Effects for the engine to apply.
//
// Scripts (package scripts) implement it with Lua and expr; tests implement
// it with small Go flows. The package holds only types: no session rules
// (engine), no Lua (scripts), no storage (store).
//
// # Caveats
//
// A step must be a pure function of its Input: the engine may run it again
// after a conflict, so it must not change anything itself. Changes go through
// Effects, which the engine applies with the session in one transaction.
package flow

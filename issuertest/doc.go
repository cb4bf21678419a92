// Package issuertest runs an issuer's own tests: the cases kept in the
// issuer's folder (ISSUER/tests/*.yaml) that say, for a card image and a
// ledger, what each operation must answer and what the card and the ledger
// must hold after, faults included. It is what `tes test` runs, and what
// the project's own test suite runs on the shipped issuers.
//
// # Basics
//
// Each YAML document of a test file is one Case (ParseFile): the card in the
// field (a sample of the issuer's card image file, cards.json by default, or
// an inline image, with byte edits, services dropped or made read-only), the
// ledger before (cards, purchases, blacklisted IDms), the operations to play
// in order, each with faults to inject (tsh's: lose-after-write,
// fail-before-write, device-error:CODE@N, duplicate@N, pause:D@N) and what
// it must answer, and what must hold after. docs/scripting.md describes the
// format.
//
// Run loads the issuers folder once, as the server does, then runs every
// case on a node of its own: a bbolt store in a temporary folder, the
// engine and the Device Gateway in process, reached through an in-memory
// transport (no port is opened), a fake clock that faults advance, and a
// virtual card (felica/card). Cases run in parallel; each result says what
// did not hold and, to read why, the decisions of the sessions it ran.
//
// # Keyed cards
//
// The flows run with a software SAM over the key store of Config.KeyDir
// (tes test --keys), chosen as tes serve chooses it (node.SoftwareSAM):
// empty, the built-in DEMOAES TEST KEYS, which serve DEMOAES only. The
// sealing key of the session states is random for each run. A keyed card's
// own keys are in its card image (docs/cards.md); the key store is never
// read from an issuer's folder, and a case naming one (keys:) fails.
//
// # Caveats
//
// The virtual card is not a phone: timings, radio errors other than the
// injected faults, and the TSH's own retries are not played.
//
// This package is not the flows (scripts), not the session rules (engine)
// and not a load generator (tsh/bench); it only drives them.
package issuertest

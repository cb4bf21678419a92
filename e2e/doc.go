// Package e2e holds the end-to-end tests of tes: the real server, over real
// HTTP, played by the TSH driver (tsh) with virtual cards (felica/card), on
// the repository's DEMO issuer (issuers/DEMO).
//
// The tests cover one row per status code the DEMO issuer can give, the
// exactly-once promise for money (CONTRACT.md §1.6) under lost answers,
// device failures and expiry, and a crash test that SIGKILLs the tes binary
// in the middle of an operation and finishes it after a restart. Every
// gateway request and reply goes through a proxy that validates it against
// server.OpenAPI().
//
// It is not a place for unit tests of any one package, and it exports
// nothing: the package holds tests only.
package e2e

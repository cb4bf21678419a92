// Package server is tes over HTTP: the Device Gateway API that the TSH calls
// (CONTRACT.md §1) and the admin API that the issuer's operators call
// (CONTRACT.md §2), as two fiber apps meant for two listeners.
//
// # Basics
//
// The gateway app decodes each call into wire-level values (wire.go holds
// every JSON name of the API), validates it in the contract's order (header,
// JSON, required fields → 111, formats → 112), and hands a plain
// engine.Request, copied out of fiber's buffers, to the engine. Every
// outcome that has a status code is HTTP 200 with a JSON body; a fault the
// program did not foresee (a panic, an encoding failure) is HTTP 500 whose
// JSON body still carries status 921. Unknown paths and methods get their
// HTTP code (404, 405) and a JSON body with status 112.
//
// The admin app serves the ledger (cards, purchases, blacklist, accounts),
// the session search and traces, the resolve of UNCERTAIN purchases, the
// audit log (every change is audited in the change's own transaction),
// reports, the run-time log level, a streamed backup, the issuers' load
// status and reload, the OpenAPI document, and /healthz, /readyz and
// /metrics (optionally /debug/pprof). With an admin token it requires
// "Authorization: Bearer <token>"; without one it serves loopback callers
// only. A change a browser sends from another origin is refused. /healthz
// and /readyz are open to all: they reveal nothing.
//
// API is the admin API as Go calls; the handlers and the console (package
// server/console, mounted on the admin app by the program) both go through
// it. Observer is the engine's engine.Observer: step durations and run-time
// script errors per issuer and operation.
//
// # Caveats
//
//   - The admin listener should stay on loopback or behind TLS: the bearer
//     token travels in clear otherwise.
//   - An x-actor-id that is not on the allowlist is answered 112: the
//     contract has no status for an unknown actor, and the header's allowed
//     values are part of its format.
//
// It is not the session rules (package engine), not the flows (package
// scripts), not storage (package store), and it opens no listener: the
// program (cmd/tes) does.
package server

// Package tsh plays the Trusted Services Hub against a tes server: it drives
// one operation of the Device Gateway API over HTTP, runs every command the
// server returns on a virtual card (felica/card), and sends the answers back
// until the server ends the operation. It also seeds a server's ledger
// through the admin API.
//
// # Basics
//
// A Client holds one keep-alive HTTP connection pool to one server; its Run
// plays one operation and returns an Outcome with every round trip (the
// request, the reply, each command and the card's answer, decoded with
// felica.Describe). Options inject the faults a TSH meets in the field: a
// lost answer, a command that never reaches the card, a device error, a
// request sent twice, a pause longer than the session's TTL. An Admin seeds
// cards, purchases and the blacklist.
//
// tes sim, tes bench and the end-to-end tests are built on this package.
// Its subpackage bench loads a server with many simulated devices; a whole
// tes server in-process on loopback ports is package node's.
//
// # Caveats
//
// The driver does not judge the server: it reports what it saw. The only
// check it makes is on a duplicated request, whose two replies must agree
// (ErrDuplicateDisagrees). It is not a TSH either: no TLS client
// certificates, no retries of its own, one operation per Run.
package tsh

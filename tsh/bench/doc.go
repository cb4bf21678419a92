// Package bench loads a tes server with simulated devices and measures it:
// N devices, each with its own virtual card and ledger records, run whole
// operations through tsh.Client concurrently, for a duration or a count.
// It reports operations and HTTP round trips per second, round-trip latency
// percentiles and errors by status code. A bare server that answers fixed
// replies of the real size gives a baseline for the same load.
//
// # Caveats
//
// The seeding a device does between operations (a purchase for each TOPUP
// or REFUND, a fresh card after a PARK) goes through the admin API and is
// not timed: throughputs are the sum over devices of each device's
// operations divided by its time inside operations. Reader-mode operations
// each use a fresh device id and a fresh physical card, since the DEMO
// issuer limits attempts per device and provisions a card once.
//
// It is not a general load tester: it targets loopback addresses only.
package bench

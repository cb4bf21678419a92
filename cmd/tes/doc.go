// Command tes is the issuer's server for the TSH's Device Gateway API, and
// the tools around it: serve, check, sim, bench, test and replay, one file
// each, with main.go only dispatching.
//
// It holds flags, environment variables and the wiring of the parts; it is
// not where behaviour lives: the server, engine, scripts and store do the
// work, and tsh plays the TSH for sim and bench.
package main

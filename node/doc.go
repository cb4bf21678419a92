// Package node assembles a running tes from a Config: it opens the store
// (bbolt in a data directory, or PostgreSQL from a URL), loads the issuers'
// flows, builds the engine and the server, listens for the Device Gateway
// API and the admin API, and runs the background work (the sweeper, the
// issuer folders' watch). tes serve, tes bench's in-process server, tes
// sim's tests and the end-to-end tests all start their server here, so a
// new part is wired in one place.
//
// # Basics
//
//	n, err := node.Start(ctx, node.Config{DataDir: dir})
//	...
//	defer n.Close()
//	http.Post(n.GatewayURL+"/tes/devicegtwapi/1/0/getCardCommands", …)
//
// The zero Config (with a DataDir) is the in-process server of tests:
// loopback ports chosen by the system, the built-in issuers, no sweeper,
// no watch, the system clock, logs discarded.
//
// # Caveats
//
//   - Close drains the Device Gateway API first, then the admin API, stops
//     the background work and closes the store last. A listener that fails
//     by itself is reported on Failed; the node does not close itself.
//   - Start's context bounds the start only (opening the store, loading
//     the issuers); the background work runs until Close.
//
// It is not the command line: flags, environment variables and signals are
// cmd/tes's. It imports server, engine, scripts and the stores; none of
// them imports it, and nothing imports cmd.
package node

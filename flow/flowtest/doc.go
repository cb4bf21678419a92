// Package flowtest provides flows written in Go for tests of the engine and
// the server: a Registry whose issuers run a step function the test gives,
// and count how often it ran. It is not for production use and has no Lua.
package flowtest

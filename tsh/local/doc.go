// Package local runs a whole tes server inside the calling process, on
// loopback listeners with ephemeral ports: a bbolt store in a directory the
// caller gives, the issuers' flows, the engine, and both fiber apps. It is
// what tes bench --in-process and the tests of tsh/ play against.
//
// It is not tes serve: no TLS, no file watch, no sweeper, no signals. It
// listens on 127.0.0.1 only.
package local

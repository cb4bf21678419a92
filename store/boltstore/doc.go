// Package boltstore is the bbolt backend of store.Store: one file, one
// writer at a time, many readers, every commit fsynced before Update returns.
//
// # Basics
//
// Open takes the file lock (waiting at most Options.Timeout) and creates the
// buckets. Records are JSON values keyed by their ids, except those read and
// written on every request, which are kept in a compact binary form:
// sessions (store/internal/sessioncodec), cards and purchases
// (store/internal/ledgercodec). JSON records of earlier files still read,
// and become binary when next put. Composite keys join ids with a NUL
// byte, which is why ids may not contain one. Sessions carry five indexes
// kept consistent by PutSession and PurgeEnded:
//
//	sessions.deviceNewest  issuer NUL device            → id of the device's newest session
//	sessions.byIssuer      issuer NUL time(CreatedAt) id → (listing, newest last)
//	sessions.byDevice      issuer NUL device NUL time(CreatedAt) id
//	sessions.openByExpiry  time(ExpiresAt) id          (open sessions only)
//	sessions.endedByPurge  time(PurgeAt) id            (ended sessions only)
//
// A session's trace entries live apart in sessions.trace, keyed by the
// bucket's sequence and listed by the session's record, each put once by
// the PutSession that adds it (trace.go): a call writes its own entry, at
// the bucket's end, and a record of a few hundred bytes, never the trace
// before it. An index entry, claim or pointer that a write leaves as
// it was is not put again, since every put dirties a page the commit then
// writes whole.
//
// A purchase's record lives in purchases.records under a sequence given
// when it is first put, and purchases keeps a pointer to it under the
// purchase's id, put once: the ids come in no useful order, the sequence
// puts the records of purchases made together on the same pages
// (purchases.go). purchases.byStatus lists the purchases that are not
// APPLIED, by status and id.
//
// time(t) is 12 bytes that sort as t does, for every t including the zero
// time: the Unix seconds with the sign bit flipped, then the nanoseconds, both
// big-endian. Reader-mode attempts are keyed issuer NUL device NUL time(at)
// sequence, so counting a window is one cursor range.
//
// # Caveats
//
//   - The file never shrinks; deleted pages are reused. Compaction is
//     offline (bbolt compact).
//   - A second process (or a second Open in the same process) waits for the
//     lock and fails with ErrLocked after Options.Timeout.
//   - Every commit costs two fdatasyncs. One writer goroutine commits for
//     all Updates: those that queue while a commit is in flight share the
//     next one (group commit without a timer: a lone writer waits for
//     nobody, a crowd shares fsyncs). A closure may therefore run more than
//     once, when a closure before it in its group fails; its own error
//     fails only its own Update. Options.CommitAlone restores one commit per
//     Update.
//   - Durability is fsync's: a killed process loses nothing it was told was
//     committed; a lying disk cache is beyond its reach.
//   - Reader-mode attempts are never deleted.
//
// It is not a cache and holds no rules: what a session may do next is the
// engine's business.
package boltstore

package store

import "context"

// Interfaces a backend may implement beyond Store and Tx. Callers find
// them with a type assertion and do without when they are absent.

// Pinger is a Store that can tell, without a transaction, whether its
// database answers (pgstore: one round trip on a pooled connection). The
// server's /readyz uses it; a Store without it is probed with an empty
// View.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Locker is a Tx of a store that several processes share (pgstore). TryLock
// takes the lock called name until the transaction ends, committed or not,
// and reports whether it did: false, at once, when a transaction of this
// or another process holds it. Work that must run on one process at a time
// (the sweeps) takes it first and skips its turn on false. A Tx without
// it belongs to a store that one process opens, where the lock is always
// free.
type Locker interface {
	TryLock(name string) (bool, error)
}

// TraceEncoder is a Store whose PutSession can take trace entries encoded
// ahead of the write (TraceEntry.Stored). The engine has it encode a
// call's entries on the request's goroutine, before the Update that
// writes them, so that a store with one writer (boltstore) spends none of
// its time compressing them.
type TraceEncoder interface {
	// EncodeTrace sets the Stored form of each entry.
	EncodeTrace(entries []TraceEntry)
}

// HeadReader is a Tx that can tell which session is a device's newest, and
// at which revision, without decoding the session (boltstore: the record's
// head). The engine's commit re-checks what it read with it. A Tx without
// it is asked DeviceSession, which is also where a shared store takes the
// device's lock (pgstore), so only a store that one process opens should
// offer it.
type HeadReader interface {
	// DeviceSessionHead returns the id and revision of the device's newest
	// session; ErrNotFound when it has none.
	DeviceSessionHead(issuerID, deviceID string) (id string, revision uint64, err error)
}

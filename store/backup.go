package store

import (
	"context"
	"io"
)

// Snapshotter is a Store that can copy itself while it serves: the admin
// API's backup streams a Snapshot. Optional: a backend whose data lives
// elsewhere (a database server with its own backups) need not offer it.
type Snapshotter interface {
	// Snapshot opens a consistent read-only view of the whole store; the
	// caller must Close it, soon: it holds a read transaction.
	Snapshot(ctx context.Context) (Snapshot, error)
}

// Snapshot is a consistent copy of a store in the backend's own file
// format. WriteTo writes exactly Size bytes.
type Snapshot interface {
	io.WriterTo
	Size() int64
	Close() error
}

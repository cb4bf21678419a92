package boltstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/tes-project/tes/store"
)

// Errors of this backend, beyond those of package store.
var (
	// ErrLocked: Open could not take the file lock within Options.Timeout;
	// another process (or another Store) has the file open.
	ErrLocked = errors.New("boltstore: database file is locked")

	// ErrTxDone: a Tx was used after its closure returned.
	ErrTxDone = errors.New("boltstore: transaction used outside its closure")
)

// DefaultTimeout is how long Open waits for the file lock when
// Options.Timeout is zero.
const DefaultTimeout = time.Second

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for the file lock (0: DefaultTimeout).
	Timeout time.Duration
	// CommitAlone makes every Update commit in a transaction of its own,
	// with its own fsyncs. By default concurrent Updates share commits: the
	// ones that arrive while a commit is in flight commit together next,
	// which costs a lone writer nothing and lets throughput grow with the
	// number of writers instead of queueing them behind the disk.
	CommitAlone bool
	// GroupCommit, when positive, makes the writer wait that long after the
	// first Update of a group for others to join it. Zero (the default) adds
	// no wait: a group is what queued during the previous commit. Ignored
	// with CommitAlone.
	GroupCommit time.Duration
	// Logger receives open and close events (nil: discard).
	Logger *slog.Logger
}

// Store is a store.Store in one bbolt file. It is safe for concurrent use:
// bbolt allows one read-write transaction at a time and any number of
// read-only ones beside it.
type Store struct {
	db     *bolt.DB
	path   string
	writer *committer // nil with Options.CommitAlone
	log    *slog.Logger
	closed atomic.Bool // set once by Close; later calls fail with store.ErrClosed
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and its buckets.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	db, err := openCurrent(path, opts.Timeout)
	if err != nil {
		return nil, err
	}
	if err := db.Update(createBuckets); err != nil {
		return nil, errors.Join(fmt.Errorf("boltstore: create buckets in %s: %w", path, err), db.Close())
	}
	s := &Store{db: db, path: path, log: opts.Logger}
	if !opts.CommitAlone {
		s.writer = startCommitter(db, opts.GroupCommit)
	}
	opts.Logger.Info("store opened", "path", path, "commitAlone", opts.CommitAlone, "groupCommit", opts.GroupCommit)
	return s, nil
}

// openCurrent opens the file at path and takes its lock. A compaction
// (Compact) renames a new file over path while it holds the old one's
// lock: an Open that waited for that lock would hold the old, unlinked
// file, and every write after it would be lost. So once locked, the file is
// checked to still be the one at path, and opened again if it is not.
func openCurrent(path string, timeout time.Duration) (*bolt.DB, error) {
	for range 3 {
		var file *os.File // the file bbolt opens, to compare with path's
		// The freelist is not written at each commit (NoFreelistSync) but
		// rebuilt by a scan when the file opens, and kept as a map, as etcd
		// runs bbolt: each commit writes fewer pages (BENCHMARKS.md).
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout,
			NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
			OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
				f, err := os.OpenFile(name, flag, perm)
				file = f
				return f, err
			}})
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("boltstore: open %s: waited %s: %w", path, timeout, ErrLocked)
		}
		if err != nil {
			return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
		}
		held, errHeld := file.Stat()
		atPath, errPath := os.Stat(path)
		if errHeld == nil && errPath == nil && os.SameFile(held, atPath) {
			return db, nil
		}
		if err := db.Close(); err != nil {
			return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
		}
	}
	return nil, fmt.Errorf("boltstore: open %s: the file was replaced three times while opening it", path)
}

// Close releases the file. It waits for running transactions, and Updates
// already queued, to end. Later calls, Close included, fail with
// store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("boltstore: close %s: %w", s.path, store.ErrClosed)
	}
	if s.writer != nil {
		s.writer.stop()
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close %s: %w", s.path, err)
	}
	s.log.Info("store closed", "path", s.path)
	return nil
}

// View runs fn in a read-only transaction. Safe for concurrent use; do not
// call it from inside an Update closure.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	return s.translate(s.db.View(wrap(fn)))
}

// Update runs fn in a read-write transaction, commits and fsyncs when fn
// returns nil, rolls back otherwise. Write transactions run one at a time.
// Unless Options.CommitAlone, concurrent Updates share a transaction: fn
// then runs again, in a new transaction, when another closure of its group
// fails first, and its own error fails only this Update. Either way it
// returns only once its commit is fsynced. Safe for concurrent use.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if s.writer != nil {
		return s.translate(s.writer.update(wrap(fn)))
	}
	return s.translate(s.db.Update(func(btx *bolt.Tx) error {
		fillAppendOrdered(btx)
		return wrap(fn)(btx)
	}))
}

// ready refuses to start a transaction on a closed store or a done context.
func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("boltstore: %s: %w", s.path, store.ErrClosed)
	}
	return ctx.Err()
}

// translate maps bbolt's "not open" (a Close that won the race against
// ready) to store.ErrClosed.
func (s *Store) translate(err error) error {
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) || errors.Is(err, errCommitterStopped) {
		return fmt.Errorf("boltstore: %s: %w", s.path, store.ErrClosed)
	}
	return err
}

// wrap adapts fn to bbolt and retires the Tx when fn returns, so that a Tx
// kept past its closure fails instead of reading unmapped memory.
func wrap(fn func(store.Tx) error) func(*bolt.Tx) error {
	return func(btx *bolt.Tx) error {
		t := &tx{btx: btx}
		defer func() { t.done = true }()
		return fn(t)
	}
}

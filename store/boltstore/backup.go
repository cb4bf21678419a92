package boltstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/tes-project/tes/store"
)

var _ store.Snapshotter = (*Store)(nil)

// Snapshot opens a read transaction whose WriteTo copies the whole file as
// it stands, a valid bbolt file, while Updates go on. Caveat: while it is
// open, a commit that must grow the file's memory map waits for it; copy
// promptly and Close.
func (s *Store) Snapshot(ctx context.Context) (store.Snapshot, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	btx, err := s.db.Begin(false)
	if err != nil {
		return nil, s.translate(fmt.Errorf("boltstore: snapshot of %s: %w", s.path, err))
	}
	return snapshot{btx}, nil
}

// snapshot is a read transaction held for a backup.
type snapshot struct{ btx *bolt.Tx }

func (sn snapshot) Size() int64 { return sn.btx.Size() }

func (sn snapshot) WriteTo(w io.Writer) (int64, error) {
	n, err := sn.btx.WriteTo(w)
	if err != nil {
		return n, fmt.Errorf("boltstore: snapshot: %w", err)
	}
	return n, nil
}

func (sn snapshot) Close() error {
	if err := sn.btx.Rollback(); err != nil && !errors.Is(err, bolterrors.ErrTxClosed) {
		return fmt.Errorf("boltstore: close snapshot: %w", err)
	}
	return nil
}

// BackupFile copies the database file at path to w from a read
// transaction, without a server: it opens the file read-only, waiting at
// most timeout for the lock (ErrLocked: a running server holds it; take the
// backup through its admin API instead). It returns the bytes written.
func BackupFile(path string, w io.Writer, timeout time.Duration) (int64, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return 0, fmt.Errorf("boltstore: open %s read-only: waited %s: %w", path, timeout, ErrLocked)
	}
	if err != nil {
		return 0, fmt.Errorf("boltstore: open %s read-only: %w", path, err)
	}
	var n int64
	err = db.View(func(btx *bolt.Tx) error {
		var err error
		n, err = btx.WriteTo(w)
		return err
	})
	if closeErr := db.Close(); err == nil && closeErr != nil {
		err = closeErr
	}
	if err != nil {
		return n, fmt.Errorf("boltstore: back up %s: %w", path, err)
	}
	return n, nil
}

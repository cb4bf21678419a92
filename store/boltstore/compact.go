package boltstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// compactTxSize is how many bytes Compact copies per transaction of the
// new file: large enough to be quick, small enough to bound its memory.
const compactTxSize = 64 << 20

// Compacted is what Compact did.
type Compacted struct {
	Before, After int64 // the file's size before and after, in bytes
}

// Compact rewrites the store file at path with only its live pages: bbolt
// reuses freed pages but never gives them back, so a file that once held
// many sessions stays that large after they are purged. It must run while
// no server has the file open (it waits timeout for the lock, then fails
// with ErrLocked). The copy is written beside path, synced, and renamed over
// it, so a crash leaves either the old file or the new one, whole.
func Compact(path string, timeout time.Duration) (Compacted, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	before, err := os.Stat(path)
	if err != nil {
		return Compacted{}, fmt.Errorf("boltstore: compact: %w", err)
	}
	src, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return Compacted{}, fmt.Errorf("boltstore: compact %s: waited %s: %w", path, timeout, ErrLocked)
	}
	if err != nil {
		return Compacted{}, fmt.Errorf("boltstore: compact: open %s: %w", path, err)
	}
	defer src.Close()
	tmp := path + ".compacting"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return Compacted{}, fmt.Errorf("boltstore: compact: %w", err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: timeout})
	if err != nil {
		return Compacted{}, fmt.Errorf("boltstore: compact: create %s: %w", tmp, err)
	}
	if err := bolt.Compact(dst, src, compactTxSize); err != nil {
		return Compacted{}, errors.Join(fmt.Errorf("boltstore: compact %s: %w", path, err), dst.Close(), os.Remove(tmp))
	}
	// bbolt fsyncs every commit; Close releases the new file's lock.
	if err := dst.Close(); err != nil {
		return Compacted{}, errors.Join(fmt.Errorf("boltstore: compact: close %s: %w", tmp, err), os.Remove(tmp))
	}
	if err := os.Rename(tmp, path); err != nil {
		return Compacted{}, errors.Join(fmt.Errorf("boltstore: compact: %w", err), os.Remove(tmp))
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return Compacted{}, err
	}
	after, err := os.Stat(path)
	if err != nil {
		return Compacted{}, fmt.Errorf("boltstore: compact: %w", err)
	}
	return Compacted{Before: before.Size(), After: after.Size()}, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("boltstore: sync %s: %w", dir, err)
	}
	if err := d.Sync(); err != nil {
		return errors.Join(fmt.Errorf("boltstore: sync %s: %w", dir, err), d.Close())
	}
	return d.Close()
}

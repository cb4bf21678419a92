package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/tes-project/tes/store"
)

// ReaderModeAttempts counts keys from issuer NUL device NUL time(since) to
// the end of the device's prefix.
func (t *tx) ReaderModeAttempts(issuerID, deviceID string, since time.Time) (int, error) {
	if err := t.usable("ReaderModeAttempts"); err != nil {
		return 0, err
	}
	if err := store.CheckKeys("issuer id", issuerID, "device id", deviceID); err != nil {
		return 0, err
	}
	prefix := joinKey(true, issuerID, deviceID)
	c := t.btx.Bucket(bucketReaderMode).Cursor()
	n := 0
	for k, _ := c.Seek(appendTime(prefix, since)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n, nil
}

// AddReaderModeAttempt records one attempt. The bucket sequence ends the key
// so that attempts at the same instant stay distinct.
func (t *tx) AddReaderModeAttempt(issuerID, deviceID string, at time.Time) error {
	if err := t.writable("AddReaderModeAttempt"); err != nil {
		return err
	}
	if err := store.CheckKeys("issuer id", issuerID, "device id", deviceID); err != nil {
		return err
	}
	b := t.btx.Bucket(bucketReaderMode)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("boltstore: reader-mode attempt sequence: %w", err)
	}
	key := binary.BigEndian.AppendUint64(appendTime(joinKey(true, issuerID, deviceID), at), seq)
	if err := b.Put(key, []byte{}); err != nil {
		return fmt.Errorf("boltstore: add reader-mode attempt of issuer %q: %w", issuerID, err)
	}
	return nil
}

// PurgeReaderModeAttempts deletes at most limit attempts recorded before
// before. Keys lead with issuer and device, so it walks the whole bucket;
// the sweeper keeps the bucket to one retention period of attempts.
func (t *tx) PurgeReaderModeAttempts(before time.Time, limit int) (int, error) {
	if err := t.writable("PurgeReaderModeAttempts"); err != nil {
		return 0, err
	}
	if err := store.CheckLimit(limit); err != nil {
		return 0, err
	}
	bound := timeKey(before)
	b := t.btx.Bucket(bucketReaderMode)
	var old [][]byte
	c := b.Cursor()
	for k, _ := c.First(); k != nil && (limit == 0 || len(old) < limit); k, _ = c.Next() {
		// A key ends with the attempt's time and an 8-byte sequence.
		at := k[len(k)-timeKeyLen-8 : len(k)-8]
		if bytes.Compare(at, bound) < 0 {
			old = append(old, bytes.Clone(k))
		}
	}
	// Deleted after the walk: a bbolt cursor may skip a key after Delete.
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return 0, fmt.Errorf("boltstore: purge reader-mode attempts: %w", err)
		}
	}
	return len(old), nil
}

package boltstore

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tes-project/tes/store"
)

// Bucket names. The layout is described in doc.go.
var (
	bucketSessions       = []byte("sessions")
	bucketDeviceNewest   = []byte("sessions.deviceNewest")
	bucketByIssuer       = []byte("sessions.byIssuer")
	bucketByDevice       = []byte("sessions.byDevice")
	bucketOpenByExpiry   = []byte("sessions.openByExpiry")
	bucketEndedByPurge   = []byte("sessions.endedByPurge")
	bucketCards          = []byte("cards")
	bucketPurchases      = []byte("purchases")
	bucketAccounts       = []byte("accounts")
	bucketAccountsByIDm  = []byte("accounts.byIDm")
	bucketBlacklist      = []byte("blacklist")
	bucketReaderMode     = []byte("readerMode")
	bucketScriptVersions = []byte("scriptVersions")
)

func createBuckets(btx *bolt.Tx) error {
	for _, name := range [][]byte{
		bucketSessions, bucketDeviceNewest, bucketByIssuer, bucketByDevice,
		bucketOpenByExpiry, bucketEndedByPurge, bucketCards, bucketPurchases,
		bucketAccounts, bucketAccountsByIDm, bucketBlacklist, bucketReaderMode,
		bucketScriptVersions,
	} {
		if _, err := btx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("bucket %s: %w", name, err)
		}
	}
	return nil
}

// timeKeyLen is the length of an encoded time.
const timeKeyLen = 12

// sequenceLen is the length of the sequence that follows the time in a
// reader-mode attempt key.
const sequenceLen = 8

// checkID validates one key part: non-empty, without NUL (the separator).
func checkID(field, id string) error {
	if id == "" {
		return fmt.Errorf("boltstore: %s is empty: %w", field, store.ErrInvalid)
	}
	if strings.IndexByte(id, 0) >= 0 {
		return fmt.Errorf("boltstore: %s contains a NUL byte: %w", field, store.ErrInvalid)
	}
	return nil
}

// checkIDs validates field/id pairs in order and returns the first failure.
func checkIDs(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkID(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func checkLimit(limit int) error {
	if limit < 0 {
		return fmt.Errorf("boltstore: limit %d is negative: %w", limit, store.ErrInvalid)
	}
	return nil
}

// joinKey joins validated ids with NUL. With trailing set it also ends the key
// with NUL, making it a prefix that no longer id can extend by accident.
func joinKey(trailing bool, ids ...string) []byte {
	n := 0
	for _, id := range ids {
		n += len(id) + 1
	}
	key := make([]byte, 0, n+timeKeyLen+sequenceLen)
	for i, id := range ids {
		if i > 0 {
			key = append(key, 0)
		}
		key = append(key, id...)
	}
	if trailing {
		key = append(key, 0)
	}
	return key
}

// appendTime appends t so that keys sort by time: Unix seconds with the sign
// bit flipped (so negative seconds sort first), then nanoseconds.
func appendTime(key []byte, t time.Time) []byte {
	key = binary.BigEndian.AppendUint64(key, uint64(t.Unix())^(1<<63))
	return binary.BigEndian.AppendUint32(key, uint32(t.Nanosecond()))
}

// timeKey is t alone, the bound of a range over time-first keys.
func timeKey(t time.Time) []byte {
	return appendTime(make([]byte, 0, timeKeyLen), t)
}

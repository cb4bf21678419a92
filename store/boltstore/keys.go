package boltstore

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/tes-project/tes/store/internal/ledgercodec"
)

// Bucket names. The layout is described in doc.go.
var (
	bucketSessions        = []byte("sessions")
	bucketDeviceNewest    = []byte("sessions.deviceNewest")
	bucketByIssuer        = []byte("sessions.byIssuer")
	bucketByDevice        = []byte("sessions.byDevice")
	bucketOpenByExpiry    = []byte("sessions.openByExpiry")
	bucketEndedByPurge    = []byte("sessions.endedByPurge")
	bucketClaims          = []byte("sessions.claims")
	bucketTrace           = []byte("sessions.trace")
	bucketAllByCreated    = []byte("sessions.byCreated")
	bucketPurchaseStatus  = []byte("purchases.byStatus")
	bucketAudit           = []byte("audit")
	bucketCards           = []byte("cards")
	bucketPurchases       = []byte("purchases")
	bucketPurchaseRecords = []byte("purchases.records")
	bucketAccounts        = []byte("accounts")
	bucketAccountsByIDm   = []byte("accounts.byIDm")
	bucketBlacklist       = []byte("blacklist")
	bucketReaderMode      = []byte("readerMode")
	bucketScriptVersions  = []byte("scriptVersions")
)

// appendOrdered are the buckets whose new keys sort after nearly all the
// others: time first, or time-ordered session ids (engine). bbolt splits a
// full page in halves, which leaves a bucket written in key order half
// empty; these split at appendFill instead. The headroom is for session
// records, which change size as their calls come.
var appendOrdered = [][]byte{bucketSessions, bucketTrace, bucketAllByCreated, bucketByIssuer,
	bucketOpenByExpiry, bucketEndedByPurge, bucketAudit, bucketPurchaseRecords}

const appendFill = 0.9

// fillAppendOrdered sets the fill of the append-ordered buckets for a
// write transaction (bbolt keeps it per transaction, not in the file).
func fillAppendOrdered(btx *bolt.Tx) {
	for _, name := range appendOrdered {
		if b := btx.Bucket(name); b != nil {
			b.FillPercent = appendFill
		}
	}
}

func createBuckets(btx *bolt.Tx) error {
	backfill := btx.Bucket(bucketAllByCreated) == nil && btx.Bucket(bucketSessions) != nil
	for _, name := range [][]byte{
		bucketSessions, bucketDeviceNewest, bucketByIssuer, bucketByDevice,
		bucketOpenByExpiry, bucketEndedByPurge, bucketCards, bucketPurchases,
		bucketAccounts, bucketAccountsByIDm, bucketBlacklist, bucketReaderMode,
		bucketScriptVersions, bucketClaims, bucketAllByCreated, bucketPurchaseStatus, bucketAudit,
		bucketTrace, bucketPurchaseRecords,
	} {
		if _, err := btx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("bucket %s: %w", name, err)
		}
	}
	if backfill {
		return backfillIndexes(btx)
	}
	return nil
}

// backfillIndexes fills the indexes that a file written before they
// existed lacks: sessions by creation time and purchases by status. (Its
// sessions hold no claims: claims came with session format 2.)
func backfillIndexes(btx *bolt.Tx) error {
	created := btx.Bucket(bucketAllByCreated)
	err := btx.Bucket(bucketSessions).ForEach(func(id, data []byte) error {
		h, err := decodeSessionHead(data)
		if err != nil {
			return fmt.Errorf("session %q: %w", id, err)
		}
		return created.Put(append(timeKey(h.CreatedAt), id...), []byte{})
	})
	if err != nil {
		return fmt.Errorf("backfill %s: %w", bucketAllByCreated, err)
	}
	status := btx.Bucket(bucketPurchaseStatus)
	err = btx.Bucket(bucketPurchases).ForEach(func(key, data []byte) error {
		p, err := decodeWith(bucketPurchases, data, ledgercodec.DecodePurchase)
		if err != nil || !listedByStatus(p.Status) {
			return err
		}
		return status.Put(purchaseStatusKey(p), []byte{})
	})
	if err != nil {
		return fmt.Errorf("backfill %s: %w", bucketPurchaseStatus, err)
	}
	return nil
}

// timeKeyLen is the length of an encoded time.
const timeKeyLen = 12

// sequenceLen is the length of the sequence that follows the time in a
// reader-mode attempt key.
const sequenceLen = 8

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

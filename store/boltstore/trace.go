package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/sessioncodec"
)

// Trace entries live in sessions.trace, keyed session id NUL seq (uint32,
// big-endian), each written once when its call commits: a call appends
// what it adds and never rewrites the entries before it, and the session
// record counts them (TraceLen).

func traceKey(id string, seq int) []byte {
	return binary.BigEndian.AppendUint32(joinKey(true, id), uint32(seq))
}

// appendTrace stores entries after the trace of the stored session (head,
// if found) and returns the new length. A record of an earlier format
// still holds its trace: that moves out first, so the record about to be
// written in the current format loses nothing.
func (t *tx) appendTrace(id string, head sessionHead, found bool, entries []store.TraceEntry) (int, error) {
	n := 0
	if found {
		n = head.TraceLen
		if head.Legacy() {
			old, err := sessioncodec.Decode(t.btx.Bucket(bucketSessions).Get([]byte(id)))
			if err != nil {
				return 0, fmt.Errorf("boltstore: decode session %q: %w", id, err)
			}
			entries = append(old.Trace, entries...)
		}
	}
	b := t.btx.Bucket(bucketTrace)
	for _, e := range entries {
		if err := b.Put(traceKey(id, n), sessioncodec.EncodeEntry(nil, e)); err != nil {
			return 0, fmt.Errorf("boltstore: put trace entry %d of session %q: %w", n, id, err)
		}
		n++
	}
	return n, nil
}

func (t *tx) SessionTrace(id string) ([]store.TraceEntry, error) {
	if err := t.usable("SessionTrace"); err != nil {
		return nil, err
	}
	if err := store.CheckKey("session id", id); err != nil {
		return nil, err
	}
	data := t.btx.Bucket(bucketSessions).Get([]byte(id))
	if data == nil {
		return nil, fmt.Errorf("boltstore: trace of session %q: %w", id, store.ErrNotFound)
	}
	head, err := decodeSessionHead(data)
	if err != nil {
		return nil, fmt.Errorf("boltstore: decode session %q: %w", id, err)
	}
	if head.Legacy() {
		s, err := sessioncodec.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("boltstore: decode session %q: %w", id, err)
		}
		return s.Trace, nil
	}
	trace := make([]store.TraceEntry, 0, head.TraceLen)
	prefix := joinKey(true, id)
	c := t.btx.Bucket(bucketTrace).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		e, err := sessioncodec.DecodeEntry(v)
		if err != nil {
			return nil, fmt.Errorf("boltstore: decode trace entry %x of session %q: %w", k[len(prefix):], id, err)
		}
		trace = append(trace, e)
	}
	if len(trace) != head.TraceLen {
		return nil, fmt.Errorf("boltstore: session %q counts %d trace entries, %s holds %d",
			id, head.TraceLen, bucketTrace, len(trace))
	}
	return trace, nil
}

// deleteTrace removes the stored trace entries of session id.
func (t *tx) deleteTrace(id string) error {
	prefix := joinKey(true, id)
	b := t.btx.Bucket(bucketTrace)
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		keys = append(keys, k)
	}
	// Collected first: deleting under a bbolt cursor can skip entries.
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("boltstore: delete trace of session %q: %w", id, err)
		}
	}
	return nil
}

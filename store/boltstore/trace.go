package boltstore

import (
	"encoding/binary"
	"fmt"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/sessioncodec"
)

// Trace entries live in sessions.trace, keyed by the bucket's sequence
// (8 bytes, big-endian), each put once, by the PutSession that adds it: the
// calls of every session append at the bucket's end, so a commit writes its
// entries into the last pages instead of one page per session in flight,
// and never rewrites an entry. The session record lists its entries' keys
// (sessioncodec.Head.TraceKeys).

func traceKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
}

// appendTrace stores entries after the trace of the stored session (head,
// if found) and returns the keys of the whole trace. A record of an
// earlier format still holds its trace: that moves out first, so the
// record about to be written in the current format loses nothing.
func (t *tx) appendTrace(id string, head sessionHead, found bool, entries []store.TraceEntry) ([]uint64, error) {
	var keys []uint64
	if found {
		keys = head.TraceKeys
		if head.Legacy() {
			old, err := sessioncodec.Decode(t.btx.Bucket(bucketSessions).Get([]byte(id)))
			if err != nil {
				return nil, fmt.Errorf("boltstore: decode session %q: %w", id, err)
			}
			entries = append(old.Trace, entries...)
		}
	}
	b := t.btx.Bucket(bucketTrace)
	for _, e := range entries {
		seq, err := b.NextSequence()
		if err != nil {
			return nil, fmt.Errorf("boltstore: trace entry %d of session %q: %w", len(keys), id, err)
		}
		data := e.Stored // made by EncodeTrace, before the writer
		if data == nil {
			data = sessioncodec.EncodeEntry(nil, e)
		}
		if err := b.Put(traceKey(seq), data); err != nil {
			return nil, fmt.Errorf("boltstore: put trace entry %d of session %q: %w", len(keys), id, err)
		}
		keys = append(keys, seq)
	}
	return keys, nil
}

// EncodeTrace implements store.TraceEncoder: entries compressed on the
// caller's goroutine are put by the writer as they are.
func (s *Store) EncodeTrace(entries []store.TraceEntry) {
	for i := range entries {
		entries[i].Stored = sessioncodec.EncodeEntry(nil, entries[i])
	}
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
	if len(head.TraceKeys) != head.TraceLen {
		return nil, fmt.Errorf("boltstore: session %q counts %d trace entries and lists %d", id, head.TraceLen, len(head.TraceKeys))
	}
	b := t.btx.Bucket(bucketTrace)
	trace := make([]store.TraceEntry, len(head.TraceKeys))
	for i, seq := range head.TraceKeys {
		data := b.Get(traceKey(seq))
		if data == nil {
			return nil, fmt.Errorf("boltstore: trace entry %d of session %q is not in %s", i, id, bucketTrace)
		}
		if trace[i], err = sessioncodec.DecodeEntry(data); err != nil {
			return nil, fmt.Errorf("boltstore: decode trace entry %d of session %q: %w", i, id, err)
		}
	}
	return trace, nil
}

// deleteTrace removes the trace entries a session record lists.
func (t *tx) deleteTrace(id string, keys []uint64) error {
	b := t.btx.Bucket(bucketTrace)
	for _, seq := range keys {
		if err := b.Delete(traceKey(seq)); err != nil {
			return fmt.Errorf("boltstore: delete trace of session %q: %w", id, err)
		}
	}
	return nil
}

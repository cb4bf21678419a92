package boltstore

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/sessioncodec"
	"github.com/tes-project/tes/store/storetest"
)

// A session record of format 2 (written by the previous version) holds its
// trace. It reads, trace and all; the next PutSession moves that trace out,
// appends after it, and writes the record in the current format.
func TestLegacyTraceMovesOutOnWrite(t *testing.T) {
	st, old := storeWithFixture(t, "format2.bin", nil)
	if len(old.Trace) == 0 {
		t.Fatal("the fixture holds no trace")
	}
	ctx := context.Background()

	var before []store.TraceEntry
	if err := st.View(ctx, func(stx store.Tx) error {
		s, err := stx.Session(old.ID)
		if err != nil {
			return err
		}
		if s.Trace != nil || s.TraceLen != len(old.Trace) {
			t.Errorf("legacy session read with %d entries, counting %d; want none and %d", len(s.Trace), s.TraceLen, len(old.Trace))
		}
		before, err = stx.SessionTrace(old.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(before, old.Trace) {
		t.Fatalf("legacy trace read as\n%+v\nwant\n%+v", before, old.Trace)
	}

	next := old
	next.Revision++
	added := store.TraceEntry{At: old.CreatedAt.Add(time.Minute), Step: "done", StatusCode: 0, Message: "OK"}
	next.Trace = []store.TraceEntry{added}
	if err := st.Update(ctx, func(stx store.Tx) error { return stx.PutSession(next) }); err != nil {
		t.Fatal(err)
	}
	if err := st.View(ctx, func(stx store.Tx) error {
		data := stx.(*tx).btx.Bucket(bucketSessions).Get([]byte(old.ID))
		if head, err := decodeSessionHead(data); err != nil || head.Legacy() || head.TraceLen != len(old.Trace)+1 {
			t.Errorf("record after the write: legacy %v, counts %d, %v; want current, %d", head.Legacy(), head.TraceLen, err, len(old.Trace)+1)
		}
		after, err := stx.SessionTrace(old.ID)
		if want := append(old.Trace, added); !reflect.DeepEqual(after, want) {
			t.Errorf("trace after the write\n%+v\nwant\n%+v", after, want)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// A session record of format 3 (written by the previous version) lists its
// trace entries, stored apart uncompressed: they read, and the next
// PutSession appends after them, whatever their keys, and moves nothing.
func TestFormat3SessionTakesTheNextEntry(t *testing.T) {
	entry, err := os.ReadFile("../internal/sessioncodec/testdata/entry3.bin")
	if err != nil {
		t.Fatal(err)
	}
	// The fixture lists its entries at keys 7, 9 and 300; the bucket's
	// sequence has not reached them, so the next entry's key sorts first.
	st, old := storeWithFixture(t, "format3.bin", map[uint64][]byte{7: entry, 9: entry, 300: entry})
	ctx := context.Background()
	next := old
	next.Revision++
	added := store.TraceEntry{At: old.CreatedAt.Add(time.Hour), Step: "after", Message: "OK"}
	next.Trace = []store.TraceEntry{added}
	if err := st.Update(ctx, func(stx store.Tx) error { return stx.PutSession(next) }); err != nil {
		t.Fatal(err)
	}
	if err := st.View(ctx, func(stx store.Tx) error {
		data := stx.(*tx).btx.Bucket(bucketSessions).Get([]byte(old.ID))
		head, err := decodeSessionHead(data)
		if err != nil || data[0] != sessioncodec.Format || head.TraceLen != 4 || len(head.TraceKeys) != 4 ||
			!reflect.DeepEqual(head.TraceKeys[:3], []uint64{7, 9, 300}) {
			t.Errorf("record after the write: format %d, counts %d, keys %v, %v", data[0], head.TraceLen, head.TraceKeys, err)
		}
		trace, err := stx.SessionTrace(old.ID)
		if len(trace) != 4 || !reflect.DeepEqual(trace[3], added) || trace[0].Step != "poll" {
			t.Errorf("trace after the write %+v; want three of the fixture's and the new one", trace)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// storeWithFixture opens a store on a new file holding the session record
// of sessioncodec's testdata/fixture, written by an earlier version, and
// the trace entries given by key, and returns the session the record
// holds.
func storeWithFixture(t *testing.T, fixture string, entries map[uint64][]byte) (*Store, store.Session) {
	t.Helper()
	record, err := os.ReadFile("../internal/sessioncodec/testdata/" + fixture)
	if err != nil {
		t.Fatal(err)
	}
	old, err := sessioncodec.Decode(record)
	if err != nil {
		t.Fatal(err)
	}
	st := openWhitebox(t)
	update(t, st, func(tx *tx) error {
		for seq, entry := range entries {
			if err := tx.btx.Bucket(bucketTrace).Put(traceKey(seq), entry); err != nil {
				return err
			}
		}
		return tx.btx.Bucket(bucketSessions).Put([]byte(old.ID), record)
	})
	return st, old
}

// An entry encoded ahead (EncodeTrace) is put as those bytes, not encoded
// again in the writer; one without is encoded there.
func TestPutSessionStoresEntriesEncodedAhead(t *testing.T) {
	st := openWhitebox(t)
	at := time.Date(2031, 4, 5, 6, 7, 8, 0, time.UTC)
	ahead := []store.TraceEntry{{At: at, Step: "encoded ahead"}}
	st.EncodeTrace(ahead)
	if ahead[0].Stored == nil {
		t.Fatal("EncodeTrace left Stored nil")
	}
	// Bytes the writer cannot have made from the entry it is given.
	given := store.TraceEntry{At: at, Step: "given", Stored: ahead[0].Stored}
	s := storetest.OpenSession("s1", "i", "d", at)
	s.Trace = []store.TraceEntry{given, {At: at, Step: "plain"}}
	update(t, st, func(tx *tx) error { return tx.PutSession(s) })
	view(t, st, func(tx *tx) error {
		trace, err := tx.SessionTrace("s1")
		if err != nil || len(trace) != 2 || trace[0].Step != "encoded ahead" || trace[1].Step != "plain" || trace[0].Stored != nil {
			t.Errorf("trace %+v, %v; want the entry encoded ahead, then the plain one", trace, err)
		}
		return nil
	})
}

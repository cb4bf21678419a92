package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
)

// testTraceAppends: each PutSession appends its entries after the stored
// ones and the record counts them; a refused or rolled-back put appends
// nothing; purging a session takes its trace.
func testTraceAppends(t *testing.T, st store.Store) {
	entry := func(i int) store.TraceEntry {
		return store.TraceEntry{At: t0.Add(time.Duration(i) * time.Second), Step: fmt.Sprintf("step-%d", i),
			Decisions: []string{fmt.Sprintf("decision %d", i)}, StatusCode: i}
	}
	s := OpenSession("s", "i", "d", t0)
	s.Trace = []store.TraceEntry{entry(0)}
	putSessions(t, st, s)

	s.Revision, s.Trace = 2, []store.TraceEntry{entry(1), entry(2)}
	s.TraceLen = 99 // ignored: the store counts
	putSessions(t, st, s)

	stale := s
	stale.Trace = []store.TraceEntry{entry(9)}
	err := st.Update(t.Context(), func(tx store.Tx) error { return tx.PutSession(stale) })
	wantErr(t, "put at a stale revision", err, store.ErrConflict)

	rolledBack := errors.New("rolled back")
	s.Revision, s.Trace = 3, []store.TraceEntry{entry(8)}
	err = st.Update(t.Context(), func(tx store.Tx) error {
		if err := tx.PutSession(s); err != nil {
			return err
		}
		return rolledBack
	})
	wantErr(t, "put rolled back", err, rolledBack)

	s.Trace = nil // a write that adds no entry
	putSessions(t, st, s)

	want := []store.TraceEntry{entry(0), entry(1), entry(2)}
	view(t, st, func(tx store.Tx) error {
		got, err := readStored(tx, "s")
		if err != nil {
			return err
		}
		if got.Session.TraceLen != 3 || got.Session.Trace != nil || got.Session.Revision != 3 {
			t.Errorf("session counts %d entries, holds %d, revision %d; want 3, none, 3",
				got.Session.TraceLen, len(got.Session.Trace), got.Session.Revision)
		}
		if !reflect.DeepEqual(got.Trace, want) {
			t.Errorf("trace\n%+v\nwant\n%+v", got.Trace, want)
		}
		device, err := tx.DeviceSession("i", "d")
		if err == nil && (device.Trace != nil || device.TraceLen != 3) {
			t.Errorf("device's session holds %d entries and counts %d; want none and 3", len(device.Trace), device.TraceLen)
		}
		return err
	})

	ended := s
	ended.Revision, ended.Trace = 4, []store.TraceEntry{entry(3)}
	ended.State, ended.EndedAt, ended.PurgeAt = store.SessionEnded, t0, t0.Add(time.Hour)
	putSessions(t, st, ended)
	update(t, st, func(tx store.Tx) error {
		n, err := tx.PurgeEnded(t0.Add(2*time.Hour), 0)
		if err == nil && n != 1 {
			t.Errorf("purged %d sessions, want 1", n)
		}
		return err
	})
	view(t, st, func(tx store.Tx) error {
		_, err := tx.SessionTrace("s")
		wantErr(t, "trace of a purged session", err, store.ErrNotFound)
		return nil
	})

	// A new session under the purged one's id starts a trace of its own.
	again := OpenSession("s", "i", "d", t0.Add(3*time.Hour))
	again.Trace = []store.TraceEntry{entry(7)}
	putSessions(t, st, again)
	view(t, st, func(tx store.Tx) error {
		got, err := readStored(tx, "s")
		if err == nil && (got.Session.TraceLen != 1 || !reflect.DeepEqual(got.Trace, again.Trace)) {
			t.Errorf("trace of a session under a purged one's id: %+v (counted %d)", got.Trace, got.Session.TraceLen)
		}
		return err
	})
}

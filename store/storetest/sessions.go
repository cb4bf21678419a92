package storetest

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
)

func testSessionCompareAndSwap(t *testing.T, st store.Store) {
	s := OpenSession("s1", "i", "d", t0)
	steps := []struct {
		name     string
		revision uint64
		want     error
	}{
		{"absent at revision 2", 2, store.ErrConflict},
		{"create at revision 1", 1, nil},
		{"create again at revision 1", 1, store.ErrConflict},
		{"advance to revision 2", 2, nil},
		{"stale write at revision 2", 2, store.ErrConflict},
		{"skip to revision 4", 4, store.ErrConflict},
		{"advance to revision 3", 3, nil},
	}
	for _, step := range steps {
		s.Revision = step.revision
		s.Steps = int(step.revision) * 10 // marks which write landed
		err := st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSession(s) })
		if step.want == nil && err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if step.want != nil {
			wantErr(t, step.name, err, step.want)
		}
	}
	view(t, st, func(tx store.Tx) error {
		got, err := tx.Session("s1")
		if err != nil {
			return err
		}
		if got.Revision != 3 || got.Steps != 30 {
			t.Errorf("stored revision %d steps %d, want 3 and 30", got.Revision, got.Steps)
		}
		return nil
	})
}

// testSessionConcurrentWriters: writers that all read revision 1 race to
// write revision 2; exactly one wins and its write is the one stored.
func testSessionConcurrentWriters(t *testing.T, st store.Store) {
	putSessions(t, st, OpenSession("s1", "i", "d", t0))
	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			errs[w] = st.Update(context.Background(), func(tx store.Tx) error {
				s := OpenSession("s1", "i", "d", t0)
				s.Revision = 2
				s.Steps = w + 1
				return tx.PutSession(s)
			})
		})
	}
	wg.Wait()
	winner := 0
	for w, err := range errs {
		switch {
		case err == nil:
			if winner != 0 {
				t.Errorf("writers %d and %d both won", winner-1, w)
			}
			winner = w + 1
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("writer %d: %v, want ErrConflict or success", w, err)
		}
	}
	if winner == 0 {
		t.Fatal("no writer won")
	}
	view(t, st, func(tx store.Tx) error {
		got, err := tx.Session("s1")
		if err != nil {
			return err
		}
		if got.Revision != 2 || got.Steps != winner {
			t.Errorf("stored revision %d from writer %d, want revision 2 from writer %d", got.Revision, got.Steps-1, winner-1)
		}
		return nil
	})
}

func deviceSessionID(t *testing.T, st store.Store, issuerID, deviceID string) string {
	t.Helper()
	var id string
	err := st.View(context.Background(), func(tx store.Tx) error {
		s, err := tx.DeviceSession(issuerID, deviceID)
		id = s.ID
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		t.Fatalf("DeviceSession(%q, %q): %v", issuerID, deviceID, err)
	}
	return id
}

func testDeviceSession(t *testing.T, st store.Store) {
	first := OpenSession("first", "i", "d", t0)
	second := OpenSession("second", "i", "d", t0.Add(time.Minute))
	sameInstant := OpenSession("same-instant", "i", "d", t0.Add(time.Minute))
	endedFirst := first
	endedFirst.Revision, endedFirst.State, endedFirst.EndedAt, endedFirst.PurgeAt = 2, store.SessionEnded, t0.Add(2*time.Minute), t0.Add(time.Hour)

	steps := []struct {
		name string
		put  store.Session
		want string
	}{
		{"first session", first, "first"},
		{"newer session", second, "second"},
		{"older session updated", endedFirst, "second"},
		{"session created at the same instant", sameInstant, "same-instant"},
		{"other device", OpenSession("other-device", "i", "d2", t0.Add(time.Hour)), "same-instant"},
		{"other issuer", OpenSession("other-issuer", "i2", "d", t0.Add(time.Hour)), "same-instant"},
	}
	for _, step := range steps {
		putSessions(t, st, step.put)
		if got := deviceSessionID(t, st, "i", "d"); got != step.want {
			t.Errorf("after %s: device session %q, want %q", step.name, got, step.want)
		}
	}
	if got := deviceSessionID(t, st, "i", "d2"); got != "other-device" {
		t.Errorf("device d2: %q, want other-device", got)
	}
	if got := deviceSessionID(t, st, "i2", "d"); got != "other-issuer" {
		t.Errorf("issuer i2: %q, want other-issuer", got)
	}
	view(t, st, func(tx store.Tx) error {
		got, err := tx.DeviceSession("i", "d")
		if err == nil && !reflect.DeepEqual(got, sameInstant) {
			t.Errorf("DeviceSession returned\n%+v\nwant\n%+v", got, sameInstant)
		}
		return err
	})
}

func sessionIDs(list []store.Session) []string {
	ids := make([]string, len(list))
	for i, s := range list {
		ids[i] = s.ID
	}
	return ids
}

// testSessionsByIssuerAndDevice lists an issuer's or a device's sessions
// through SearchSessions.
func testSessionsByIssuerAndDevice(t *testing.T, st store.Store) {
	// Ids share prefixes so that a backend matching keys by prefix alone
	// lists the wrong issuer's or device's sessions.
	putSessions(t, st,
		OpenSession("a1", "i", "d", t0),
		OpenSession("b1", "i", "dd", t0.Add(1*time.Second)),
		OpenSession("a2", "i", "d", t0.Add(2*time.Second)),
		OpenSession("x1", "i2", "d", t0.Add(3*time.Second)),
		OpenSession("b2", "i", "dd", t0.Add(4*time.Second)),
		OpenSession("y1", "i d", "d", t0.Add(5*time.Second)),
		OpenSession("a3", "i", "d", t0.Add(6*time.Second)),
	)
	// An update that does not move CreatedAt must not duplicate or move
	// the entry.
	a2 := OpenSession("a2", "i", "d", t0.Add(2*time.Second))
	a2.Revision, a2.ExpiresAt = 2, t0.Add(time.Hour)
	putSessions(t, st, a2)

	tests := []struct {
		issuer, device string
		limit          int
		want           []string
	}{
		{"i", "", 0, []string{"a3", "b2", "a2", "b1", "a1"}},
		{"i", "", 2, []string{"a3", "b2"}},
		{"i", "", 10, []string{"a3", "b2", "a2", "b1", "a1"}},
		{"i", "d", 0, []string{"a3", "a2", "a1"}},
		{"i", "d", 1, []string{"a3"}},
		{"i", "dd", 0, []string{"b2", "b1"}},
		{"i2", "", 0, []string{"x1"}},
		{"i d", "", 0, []string{"y1"}},
		{"i", "nobody", 0, []string{}},
		{"nobody", "", 0, []string{}},
	}
	view(t, st, func(tx store.Tx) error {
		for _, tt := range tests {
			list, _, err := tx.SearchSessions(store.SessionQuery{IssuerID: tt.issuer, DeviceID: tt.device, Limit: tt.limit})
			if err != nil {
				return err
			}
			if got := sessionIDs(list); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SearchSessions(%q, %q, %d) = %q, want %q", tt.issuer, tt.device, tt.limit, got, tt.want)
			}
		}
		list, _, err := tx.SearchSessions(store.SessionQuery{IssuerID: "i", DeviceID: "d"})
		if err == nil && len(list) == 3 && !reflect.DeepEqual(list[1], a2) {
			t.Errorf("listed a2 is\n%+v\nwant\n%+v", list[1], a2)
		}
		return err
	})
}

func expiredIDs(t *testing.T, st store.Store, before time.Time, limit int) []string {
	t.Helper()
	var ids []string
	view(t, st, func(tx store.Tx) error {
		list, err := tx.OpenSessionsExpiredBefore(before, limit)
		ids = sessionIDs(list)
		return err
	})
	return ids
}

func testOpenSessionsExpiredBefore(t *testing.T, st store.Store) {
	at := func(id string, expiresAt time.Time) store.Session {
		s := OpenSession(id, "i", id, t0.Add(-time.Hour))
		s.ExpiresAt = expiresAt
		return s
	}
	ended := EndedSession("ended", "i", "ended", t0.Add(-time.Hour), t0.Add(time.Hour))
	ended.ExpiresAt = t0.Add(-3 * time.Minute)
	putSessions(t, st,
		at("late", t0.Add(-time.Minute)),
		at("early", t0.Add(-2*time.Minute)),
		at("now", t0),
		at("future", t0.Add(time.Minute)),
		ended,
	)
	tests := []struct {
		before time.Time
		limit  int
		want   []string
	}{
		{t0, 0, []string{"early", "late"}},
		{t0, 1, []string{"early"}},
		{t0.Add(time.Nanosecond), 0, []string{"early", "late", "now"}},
		{t0.Add(-2 * time.Minute), 0, []string{}},
		{t0.Add(time.Hour), 0, []string{"early", "late", "now", "future"}},
	}
	for _, tt := range tests {
		if got := expiredIDs(t, st, tt.before, tt.limit); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("OpenSessionsExpiredBefore(t0%+v, %d) = %q, want %q", tt.before.Sub(t0), tt.limit, got, tt.want)
		}
	}

	extended := at("early", t0.Add(5*time.Minute))
	extended.Revision = 2
	endedLate := EndedSession("late", "i", "late", t0.Add(-time.Hour), t0.Add(time.Hour))
	endedLate.ExpiresAt, endedLate.Revision = t0.Add(-time.Minute), 2
	putSessions(t, st, extended, endedLate)
	if got, want := expiredIDs(t, st, t0.Add(time.Nanosecond), 0), []string{"now"}; !reflect.DeepEqual(got, want) {
		t.Errorf("after extending early and ending late: %q, want %q", got, want)
	}
	if got, want := expiredIDs(t, st, t0.Add(10*time.Minute), 0), []string{"now", "future", "early"}; !reflect.DeepEqual(got, want) {
		t.Errorf("later: %q, want %q", got, want)
	}
}

func testPurgeEnded(t *testing.T, st store.Store) {
	created := t0.Add(-24 * time.Hour)
	oldest := EndedSession("oldest", "i", "lonely", created, t0.Add(-3*time.Minute))
	older := EndedSession("older", "i", "busy", created, t0.Add(-2*time.Minute))
	busyNewest := OpenSession("busy-newest", "i", "busy", created.Add(time.Hour))
	old := EndedSession("old", "i", "d3", created, t0.Add(-time.Minute))
	atT0 := EndedSession("at-t0", "i", "d4", created, t0)
	young := EndedSession("young", "i", "d5", created, t0.Add(time.Hour))
	openOld := OpenSession("open-old", "i", "d6", created)
	// Ended with an old PurgeAt, then kept longer: the old purge entry must
	// go.
	kept := EndedSession("kept", "i", "d7", created, t0.Add(-4*time.Minute))
	keptLonger := kept
	keptLonger.Revision, keptLonger.PurgeAt = 2, t0.Add(time.Hour)
	putSessions(t, st, oldest, older, busyNewest, old, atT0, young, openOld, kept, keptLonger)

	purge := func(before time.Time, limit int) int {
		t.Helper()
		var n int
		update(t, st, func(tx store.Tx) error {
			var err error
			n, err = tx.PurgeEnded(before, limit)
			return err
		})
		return n
	}
	if n := purge(t0, 2); n != 2 {
		t.Errorf("PurgeEnded(t0, 2) = %d, want 2", n)
	}
	if n := purge(t0, 0); n != 1 {
		t.Errorf("second PurgeEnded(t0, 0) = %d, want 1", n)
	}
	if n := purge(t0, 0); n != 0 {
		t.Errorf("third PurgeEnded(t0, 0) = %d, want 0", n)
	}

	view(t, st, func(tx store.Tx) error {
		for _, id := range []string{"oldest", "older", "old"} {
			if _, err := tx.Session(id); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("purged session %q: error %v, want ErrNotFound", id, err)
			}
		}
		for _, id := range []string{"busy-newest", "at-t0", "young", "open-old", "kept"} {
			if _, err := tx.Session(id); err != nil {
				t.Errorf("kept session %q: %v", id, err)
			}
		}
		list, _, err := tx.SearchSessions(store.SessionQuery{IssuerID: "i"})
		if err != nil {
			return err
		}
		if got, want := len(list), 5; got != want {
			t.Errorf("SearchSessions lists %q after purge, want %d sessions", sessionIDs(list), want)
		}
		list, _, err = tx.SearchSessions(store.SessionQuery{IssuerID: "i", DeviceID: "busy"})
		if err != nil {
			return err
		}
		if got, want := sessionIDs(list), []string{"busy-newest"}; !reflect.DeepEqual(got, want) {
			t.Errorf("SearchSessions of device busy = %q, want %q", got, want)
		}
		return nil
	})
	for device, want := range map[string]string{"lonely": "", "busy": "busy-newest", "d3": "", "d4": "at-t0"} {
		if got := deviceSessionID(t, st, "i", device); got != want {
			t.Errorf("device %s after purge: session %q, want %q", device, got, want)
		}
	}
	if n := purge(t0.Add(2*time.Hour), 0); n != 3 {
		t.Errorf("PurgeEnded(t0+2h, 0) = %d, want 3 (at-t0, young, kept)", n)
	}
}

package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
)

// Run runs the conformance suite. open must return a new, empty store each
// time it is called; Run closes it when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	suites := []struct {
		name string
		test func(t *testing.T, st store.Store)
	}{
		{"NotFound", testNotFound},
		{"RoundTrip", testRoundTrip},
		{"RecordsAreCopies", testRecordsAreCopies},
		{"Overwrite", testOverwrite},
		{"KeysNotConfused", testKeysNotConfused},
		{"SessionCompareAndSwap", testSessionCompareAndSwap},
		{"SessionConcurrentWriters", testSessionConcurrentWriters},
		{"DeviceSession", testDeviceSession},
		{"SessionsByIssuerAndDevice", testSessionsByIssuerAndDevice},
		{"OpenSessionsExpiredBefore", testOpenSessionsExpiredBefore},
		{"PurgeEnded", testPurgeEnded},
		{"TraceAppends", testTraceAppends},
		{"Claims", testClaims},
		{"ClaimsRace", testClaimsRace},
		{"SearchSessions", testSearchSessions},
		{"SearchSessionsPaging", testSearchSessionsPaging},
		{"Purchases", testPurchases},
		{"Audit", testAudit},
		{"EachCardAndAccount", testEachCardAndAccount},
		{"ReaderModeAttempts", testReaderModeAttempts},
		{"PurgeReaderModeAttempts", testPurgeReaderModeAttempts},
		{"Blacklist", testBlacklist},
		{"AccountByIDm", testAccountByIDm},
		{"ScriptVersions", testScriptVersions},
		{"Rollback", testRollback},
		{"ViewRefusesWrites", testViewRefusesWrites},
		{"InvalidKeys", testInvalidKeys},
		{"InvalidSessions", testInvalidSessions},
		{"NegativeLimit", testNegativeLimit},
		{"ContextDone", testContextDone},
		{"Closed", testClosed},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() {
				if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
					t.Errorf("Close: %v", err)
				}
			})
			s.test(t, st)
		})
	}
}

// t0 is the suite's "now": a UTC instant with nanoseconds, so that a backend
// rounding times fails.
var t0 = time.Date(2031, 4, 5, 6, 7, 8, 123456789, time.UTC)

func update(t *testing.T, st store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := st.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, st store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := st.View(context.Background(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// putSessions stores each session in its own Update, in order.
func putSessions(t *testing.T, st store.Store, sessions ...store.Session) {
	t.Helper()
	for _, s := range sessions {
		update(t, st, func(tx store.Tx) error { return tx.PutSession(s) })
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

func ptr[T any](v T) *T { return &v }

// OpenSession is a minimal open session: revision 1, created at createdAt,
// expiring a minute later. Every optional field is zero or nil.
func OpenSession(id, issuerID, deviceID string, createdAt time.Time) store.Session {
	return store.Session{
		ID:         id,
		IssuerID:   issuerID,
		DeviceID:   deviceID,
		Endpoint:   "/getCardIssueCommands",
		Operation:  "ISSUE",
		Version:    "sha256-0f1e",
		Revision:   1,
		State:      store.SessionOpen,
		CreatedAt:  createdAt,
		LastCallAt: createdAt,
		ExpiresAt:  createdAt.Add(time.Minute),
	}
}

// EndedSession is OpenSession ended at createdAt+10s, to be purged at
// purgeAt.
func EndedSession(id, issuerID, deviceID string, createdAt, purgeAt time.Time) store.Session {
	s := OpenSession(id, issuerID, deviceID, createdAt)
	s.State = store.SessionEnded
	s.EndReason = store.EndCompleted
	s.EndedAt = createdAt.Add(10 * time.Second)
	s.PurgeAt = purgeAt
	return s
}

// TypicalSession is an open session as the engine writes it after three
// calls: every field set, a batch of commands, three trace entries.
func TypicalSession(id, issuerID, deviceID string, createdAt time.Time) store.Session {
	s := OpenSession(id, issuerID, deviceID, createdAt)
	s.ActorID = "actor-7"
	s.CardID = "card-0001"
	s.IDm = "012E4C7A11223344"
	s.PurchaseID = "purchase-42"
	s.Revision = 3
	s.Steps = 3
	s.LastCallAt = createdAt.Add(2 * time.Second)
	s.ExpiresAt = s.LastCallAt.Add(time.Minute)
	s.FlowState = []byte(`{"step":"write","vars":{"balance":1200,"counter":17}}`)
	s.Batch = []store.Command{
		{ID: "c1", Frame: []byte{0x20, 0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x01, 0x09, 0x10}},
		{ID: "c2", Frame: []byte{0x10, 0x06, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}},
	}
	s.LastRequest = []byte("sha256:5d41402abc4b2a76b9719d911017c592")
	s.LastReply = store.Reply{StatusCode: 0, StatusMessage: "OK", Commands: s.Batch, Balance: new(int64(1200)), CardAccountID: "acct-9"}
	s.InFlight = &store.MoneyWrite{PurchaseID: "purchase-42", CardID: "card-0001", ExpectedCounter: 18}
	for i, step := range []string{"poll", "read", "write"} {
		s.Trace = append(s.Trace, store.TraceEntry{
			At:         createdAt.Add(time.Duration(i) * time.Second),
			Elapsed:    time.Duration(1500+i) * time.Microsecond,
			Step:       step,
			Responses:  []store.Command{{ID: fmt.Sprintf("r%d", i), Frame: []byte{0x07, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x00, 0x00}}},
			DeviceCode: i,
			DeviceTime: time.Duration(80+i) * time.Millisecond,
			Decisions:  []string{"balance >= amount", "counter == expected"},
			Commands:   s.Batch,
			StatusCode: 0,
			Message:    "OK",
			Effects:    []string{"RECORD_BALANCE balance 1200 counter 17"},
			Logs:       []string{"money.lua:12: read 1200"},
			Vars:       `{"balance":1200,"counter":17}`,
		})
	}
	return s
}

// ViaJSON is what a JSON record of v, as earlier versions stored records,
// reads back as, and the record itself: what the binary codecs must give
// back to read as before.
func ViaJSON[T any](t testing.TB, v T) (T, []byte) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back T
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	return back, data
}

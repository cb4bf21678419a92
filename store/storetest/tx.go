package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
)

// write is one call of each write method, all valid on an empty store.
type write struct {
	name string
	call func(tx store.Tx) error
}

func allWrites() []write {
	return []write{
		{"PutSession", func(tx store.Tx) error { return tx.PutSession(OpenSession("w", "i", "d", t0)) }},
		{"PurgeEnded", func(tx store.Tx) error { _, err := tx.PurgeEnded(t0, 0); return err }},
		{"PutCard", func(tx store.Tx) error { return tx.PutCard(store.Card{IssuerID: "i", CardID: "c"}) }},
		{"PutPurchase", func(tx store.Tx) error { return tx.PutPurchase(store.Purchase{IssuerID: "i", PurchaseID: "p"}) }},
		{"PutAccount", func(tx store.Tx) error {
			return tx.PutAccount(store.Account{IssuerID: "i", CardAccountID: "a", IDm: "m"})
		}},
		{"SetBlacklisted", func(tx store.Tx) error { return tx.SetBlacklisted("i", "m", true) }},
		{"AddReaderModeAttempt", func(tx store.Tx) error { return tx.AddReaderModeAttempt("i", "d", t0) }},
		{"PurgeReaderModeAttempts", func(tx store.Tx) error { _, err := tx.PurgeReaderModeAttempts(t0, 0); return err }},
		{"PutScriptVersion", func(tx store.Tx) error { return tx.PutScriptVersion(store.ScriptVersion{IssuerID: "i", Hash: "h"}) }},
		{"DeleteScriptVersion", func(tx store.Tx) error { return tx.DeleteScriptVersion("i", "h2") }},
	}
}

// checkNothingWritten fails for any record allWrites would have left.
func checkNothingWritten(t *testing.T, st store.Store) {
	t.Helper()
	view(t, st, func(tx store.Tx) error {
		_, errSession := tx.Session("w")
		_, errDevice := tx.DeviceSession("i", "d")
		_, errCard := tx.Card("i", "c")
		_, errPurchase := tx.Purchase("i", "p")
		_, errAccount := tx.Account("i", "a")
		_, errIDm := tx.AccountByIDm("i", "m")
		_, errScript := tx.ScriptVersion("i", "h")
		for name, err := range map[string]error{
			"Session": errSession, "DeviceSession": errDevice, "Card": errCard, "Purchase": errPurchase,
			"Account": errAccount, "AccountByIDm": errIDm, "ScriptVersion": errScript,
		} {
			wantErr(t, name+" after the failed writes", err, store.ErrNotFound)
		}
		listed, _, err := tx.SearchSessions(store.SessionQuery{IssuerID: "i"})
		expiring, err2 := tx.OpenSessionsExpiredBefore(t0.Add(time.Hour), 0)
		on, err3 := tx.Blacklisted("i", "m")
		n, err4 := tx.ReaderModeAttempts("i", "d", time.Time{})
		if len(listed) != 0 || len(expiring) != 0 || on || n != 0 {
			t.Errorf("after the failed writes: %d listed, %d expiring, blacklisted %t, %d attempts; want nothing",
				len(listed), len(expiring), on, n)
		}
		return errors.Join(err, err2, err3, err4)
	})
}

func testRollback(t *testing.T, st store.Store) {
	// Out of checkNothingWritten's sight: another issuer, expiring later.
	kept := OpenSession("kept", "other", "k", t0)
	kept.ExpiresAt = t0.Add(2 * time.Hour)
	putSessions(t, st, kept)
	update(t, st, func(tx store.Tx) error {
		return errors.Join(tx.PutScriptVersion(store.ScriptVersion{IssuerID: "i", Hash: "h2"}), tx.SetBlacklisted("i", "m2", true))
	})

	errBoom := errors.New("boom")
	err := st.Update(context.Background(), func(tx store.Tx) error {
		for _, w := range allWrites() {
			if err := w.call(tx); err != nil {
				return err
			}
		}
		advanced := kept
		advanced.Revision, advanced.Steps = 2, 5
		if err := errors.Join(tx.PutSession(advanced), tx.SetBlacklisted("i", "m2", false)); err != nil {
			return err
		}
		if _, err := tx.Card("i", "c"); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, "Update whose closure failed", err, errBoom)
	checkNothingWritten(t, st)
	view(t, st, func(tx store.Tx) error {
		s, err := tx.Session("kept")
		if err == nil && s.Revision != 1 {
			t.Errorf("session after rollback at revision %d, want 1", s.Revision)
		}
		_, err2 := tx.ScriptVersion("i", "h2")
		on, err3 := tx.Blacklisted("i", "m2")
		if !on {
			t.Error("blacklist entry removed by a rolled back Update")
		}
		return errors.Join(err, err2, err3)
	})
}

func testViewRefusesWrites(t *testing.T, st store.Store) {
	view(t, st, func(tx store.Tx) error {
		for _, w := range allWrites() {
			wantErr(t, w.name+" in a View", w.call(tx), store.ErrReadOnly)
		}
		return nil
	})
	checkNothingWritten(t, st)
}

// keyedCall calls a method with its key arguments.
type keyedCall struct {
	name string
	keys int
	call func(tx store.Tx, k []string) error
}

func keyedCalls() []keyedCall {
	return []keyedCall{
		{"Session", 1, func(tx store.Tx, k []string) error { _, err := tx.Session(k[0]); return err }},
		{"DeviceSession", 2, func(tx store.Tx, k []string) error { _, err := tx.DeviceSession(k[0], k[1]); return err }},
		{"PutSession", 3, func(tx store.Tx, k []string) error { return tx.PutSession(OpenSession(k[0], k[1], k[2], t0)) }},
		{"Card", 2, func(tx store.Tx, k []string) error { _, err := tx.Card(k[0], k[1]); return err }},
		{"PutCard", 2, func(tx store.Tx, k []string) error { return tx.PutCard(store.Card{IssuerID: k[0], CardID: k[1]}) }},
		{"Purchase", 2, func(tx store.Tx, k []string) error { _, err := tx.Purchase(k[0], k[1]); return err }},
		{"PutPurchase", 2, func(tx store.Tx, k []string) error {
			return tx.PutPurchase(store.Purchase{IssuerID: k[0], PurchaseID: k[1]})
		}},
		{"EachCard", 1, func(tx store.Tx, k []string) error { return tx.EachCard(k[0], func(store.Card) error { return nil }) }},
		{"EachAccount", 1, func(tx store.Tx, k []string) error {
			return tx.EachAccount(k[0], func(store.Account) error { return nil })
		}},
		{"Account", 2, func(tx store.Tx, k []string) error { _, err := tx.Account(k[0], k[1]); return err }},
		{"PutAccount", 3, func(tx store.Tx, k []string) error {
			return tx.PutAccount(store.Account{IssuerID: k[0], CardAccountID: k[1], IDm: k[2]})
		}},
		{"AccountByIDm", 2, func(tx store.Tx, k []string) error { _, err := tx.AccountByIDm(k[0], k[1]); return err }},
		{"Blacklisted", 2, func(tx store.Tx, k []string) error { _, err := tx.Blacklisted(k[0], k[1]); return err }},
		{"SetBlacklisted", 2, func(tx store.Tx, k []string) error { return tx.SetBlacklisted(k[0], k[1], true) }},
		{"ReaderModeAttempts", 2, func(tx store.Tx, k []string) error {
			_, err := tx.ReaderModeAttempts(k[0], k[1], t0)
			return err
		}},
		{"AddReaderModeAttempt", 2, func(tx store.Tx, k []string) error { return tx.AddReaderModeAttempt(k[0], k[1], t0) }},
		{"ScriptVersion", 2, func(tx store.Tx, k []string) error { _, err := tx.ScriptVersion(k[0], k[1]); return err }},
		{"PutScriptVersion", 2, func(tx store.Tx, k []string) error {
			return tx.PutScriptVersion(store.ScriptVersion{IssuerID: k[0], Hash: k[1]})
		}},
		{"DeleteScriptVersion", 2, func(tx store.Tx, k []string) error { return tx.DeleteScriptVersion(k[0], k[1]) }},
	}
}

// testInvalidKeys: every key argument of every method, empty or holding a
// NUL byte, is ErrInvalid, while the other arguments are fine.
func testInvalidKeys(t *testing.T, st store.Store) {
	update(t, st, func(tx store.Tx) error {
		for _, kc := range keyedCalls() {
			for pos := range kc.keys {
				for _, bad := range []string{"", "a\x00b", "\x00"} {
					keys := []string{"k0", "k1", "k2"}
					keys[pos] = bad
					err := kc.call(tx, keys)
					if !errors.Is(err, store.ErrInvalid) {
						t.Errorf("%s with key %d = %q: error %v, want ErrInvalid", kc.name, pos, bad, err)
					}
				}
			}
		}
		return nil
	})
}

func testInvalidSessions(t *testing.T, st store.Store) {
	putSessions(t, st, OpenSession("s", "i", "d", t0))
	next := func(change func(s *store.Session)) store.Session {
		s := OpenSession("s", "i", "d", t0)
		s.Revision = 2
		change(&s)
		return s
	}
	tests := []struct {
		name string
		s    store.Session
	}{
		{"revision 0", next(func(s *store.Session) { s.ID, s.Revision = "new", 0 })},
		{"no state", next(func(s *store.Session) { s.State = "" })},
		{"unknown state", next(func(s *store.Session) { s.State = "PAUSED" })},
		{"ended without PurgeAt", next(func(s *store.Session) { s.State, s.EndedAt = store.SessionEnded, t0 })},
		{"issuer changed", next(func(s *store.Session) { s.IssuerID = "i2" })},
		{"device changed", next(func(s *store.Session) { s.DeviceID = "d2" })},
	}
	for _, tt := range tests {
		err := st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSession(tt.s) })
		wantErr(t, tt.name, err, store.ErrInvalid)
	}
	view(t, st, func(tx store.Tx) error {
		s, err := tx.Session("s")
		if err == nil && (s.Revision != 1 || s.IssuerID != "i" || s.DeviceID != "d") {
			t.Errorf("invalid puts changed the session: %+v", s)
		}
		return err
	})
}

func testNegativeLimit(t *testing.T, st store.Store) {
	update(t, st, func(tx store.Tx) error {
		_, _, err := tx.SearchSessions(store.SessionQuery{IssuerID: "i", Limit: -1})
		wantErr(t, "SearchSessions limit -1", err, store.ErrInvalid)
		_, err = tx.OpenSessionsExpiredBefore(t0, -1)
		wantErr(t, "OpenSessionsExpiredBefore limit -1", err, store.ErrInvalid)
		_, err = tx.PurgeEnded(t0, -1)
		wantErr(t, "PurgeEnded limit -1", err, store.ErrInvalid)
		return nil
	})
}

func testContextDone(t *testing.T, st store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	fn := func(store.Tx) error { ran = true; return nil }
	wantErr(t, "View with a cancelled context", st.View(ctx, fn), context.Canceled)
	wantErr(t, "Update with a cancelled context", st.Update(ctx, fn), context.Canceled)
	if ran {
		t.Error("a closure ran although its context was cancelled")
	}
}

func testClosed(t *testing.T, st store.Store) {
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ran := false
	fn := func(store.Tx) error { ran = true; return nil }
	wantErr(t, "View after Close", st.View(context.Background(), fn), store.ErrClosed)
	wantErr(t, "Update after Close", st.Update(context.Background(), fn), store.ErrClosed)
	wantErr(t, "second Close", st.Close(), store.ErrClosed)
	if ran {
		t.Error("a closure ran on a closed store")
	}
}

package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
)

func testReaderModeAttempts(t *testing.T, st store.Store) {
	attempts := []struct {
		issuer, device string
		at             time.Time
	}{
		{"i", "d", t0.Add(-10 * time.Minute)},
		{"i", "d", t0.Add(-5 * time.Minute)},
		{"i", "d", t0.Add(-5 * time.Minute)}, // same instant: both count
		{"i", "d", t0},
		{"i", "dd", t0},
		{"i2", "d", t0},
		{"i", "d d", t0},
	}
	update(t, st, func(tx store.Tx) error {
		for _, a := range attempts {
			if err := tx.AddReaderModeAttempt(a.issuer, a.device, a.at); err != nil {
				return err
			}
		}
		return nil
	})
	tests := []struct {
		issuer, device string
		since          time.Time
		want           int
	}{
		{"i", "d", time.Time{}, 4},
		{"i", "d", t0.Add(-10 * time.Minute), 4},
		{"i", "d", t0.Add(-10*time.Minute + time.Nanosecond), 3},
		{"i", "d", t0.Add(-5 * time.Minute), 3},
		{"i", "d", t0, 1},
		{"i", "d", t0.Add(time.Nanosecond), 0},
		{"i", "dd", time.Time{}, 1},
		{"i", "d d", time.Time{}, 1},
		{"i2", "d", time.Time{}, 1},
		{"i", "other", time.Time{}, 0},
	}
	view(t, st, func(tx store.Tx) error {
		for _, tt := range tests {
			n, err := tx.ReaderModeAttempts(tt.issuer, tt.device, tt.since)
			if err != nil {
				return err
			}
			if n != tt.want {
				t.Errorf("ReaderModeAttempts(%q, %q, t0%+v) = %d, want %d", tt.issuer, tt.device, tt.since.Sub(t0), n, tt.want)
			}
		}
		return nil
	})
}

func testBlacklist(t *testing.T, st store.Store) {
	const idm = "0102030405060708"
	steps := []struct {
		name string
		set  bool
		on   bool
		want bool
	}{
		{"initially", false, false, false},
		{"after on", true, true, true},
		{"after on again", true, true, true},
		{"after off", true, false, false},
		{"after off again", true, false, false},
	}
	for _, step := range steps {
		if step.set {
			update(t, st, func(tx store.Tx) error { return tx.SetBlacklisted("i", idm, step.on) })
		}
		view(t, st, func(tx store.Tx) error {
			on, err := tx.Blacklisted("i", idm)
			other, err2 := tx.Blacklisted("i2", idm)
			near, err3 := tx.Blacklisted("i", idm+"0")
			if on != step.want || other || near {
				t.Errorf("%s: blacklisted %t, in another issuer %t, longer idm %t; want %t, false, false", step.name, on, other, near, step.want)
			}
			return errors.Join(err, err2, err3)
		})
	}
}

func accountByIDm(t *testing.T, st store.Store, issuerID, idm string) string {
	t.Helper()
	var id string
	view(t, st, func(tx store.Tx) error {
		a, err := tx.AccountByIDm(issuerID, idm)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		id = a.CardAccountID
		return err
	})
	return id
}

func testAccountByIDm(t *testing.T, st store.Store) {
	account := func(id, idm string) store.Account {
		return store.Account{IssuerID: "i", CardAccountID: id, IDm: idm, Balance: 100, CreatedAt: t0}
	}
	steps := []struct {
		name string
		put  store.Account
		want map[string]string // idm → account id ("" for none)
	}{
		{"first account", account("a1", "X"), map[string]string{"X": "a1", "Y": ""}},
		{"a1 moves to Y", account("a1", "Y"), map[string]string{"X": "", "Y": "a1"}},
		{"a2 takes Y", account("a2", "Y"), map[string]string{"X": "", "Y": "a2"}},
		{"a1 moves to Z", account("a1", "Z"), map[string]string{"Y": "a2", "Z": "a1"}},
	}
	for _, step := range steps {
		update(t, st, func(tx store.Tx) error { return tx.PutAccount(step.put) })
		for idm, want := range step.want {
			if got := accountByIDm(t, st, "i", idm); got != want {
				t.Errorf("after %s: AccountByIDm(%q) = %q, want %q", step.name, idm, got, want)
			}
		}
	}
	if got := accountByIDm(t, st, "i2", "Z"); got != "" {
		t.Errorf("AccountByIDm in another issuer = %q, want none", got)
	}
	view(t, st, func(tx store.Tx) error {
		a, err := tx.AccountByIDm("i", "Z")
		if err == nil && a != account("a1", "Z") {
			t.Errorf("AccountByIDm returned %+v", a)
		}
		return err
	})
}

func testScriptVersions(t *testing.T, st store.Store) {
	v := store.ScriptVersion{IssuerID: "i", Hash: "h1", Files: map[string][]byte{"a.lua": []byte("return 1")}, StoredAt: t0}
	same := v
	same.IssuerID = "i2"
	update(t, st, func(tx store.Tx) error { return errors.Join(tx.PutScriptVersion(v), tx.PutScriptVersion(same)) })
	update(t, st, func(tx store.Tx) error {
		if err := tx.DeleteScriptVersion("i", "h1"); err != nil {
			return err
		}
		_, err := tx.ScriptVersion("i", "h1")
		wantErr(t, "ScriptVersion after delete, same Update", err, store.ErrNotFound)
		return tx.DeleteScriptVersion("i", "h1")
	})
	view(t, st, func(tx store.Tx) error {
		_, err := tx.ScriptVersion("i", "h1")
		wantErr(t, "ScriptVersion after delete", err, store.ErrNotFound)
		got, err := tx.ScriptVersion("i2", "h1")
		if err != nil {
			t.Errorf("same hash of another issuer after delete: %v", err)
		} else if string(got.Files["a.lua"]) != "return 1" {
			t.Errorf("same hash of another issuer: %+v", got)
		}
		return nil
	})
}

func testPurgeReaderModeAttempts(t *testing.T, st store.Store) {
	update(t, st, func(tx store.Tx) error {
		for _, a := range []struct {
			issuer, device string
			at             time.Time
		}{
			{"i", "d", t0.Add(-2 * time.Hour)},
			{"i", "d", t0.Add(-time.Hour)},
			{"i", "d", t0},
			{"i", "dd", t0.Add(-2 * time.Hour)},
			{"i2", "d", t0.Add(-time.Hour)},
			{"i2", "d", t0.Add(time.Hour)},
		} {
			if err := tx.AddReaderModeAttempt(a.issuer, a.device, a.at); err != nil {
				return err
			}
		}
		return nil
	})
	purge := func(before time.Time, limit int) int {
		t.Helper()
		var n int
		update(t, st, func(tx store.Tx) error {
			var err error
			n, err = tx.PurgeReaderModeAttempts(before, limit)
			return err
		})
		return n
	}
	count := func(issuer, device string) int {
		t.Helper()
		var n int
		view(t, st, func(tx store.Tx) error {
			var err error
			n, err = tx.ReaderModeAttempts(issuer, device, time.Time{})
			return err
		})
		return n
	}
	if n := purge(t0.Add(-time.Hour), 0); n != 2 {
		t.Fatalf("purged %d attempts before t0-1h, want the two at t0-2h", n)
	}
	if n := purge(t0, 1); n != 1 {
		t.Fatalf("purged %d attempts with limit 1, want 1", n)
	}
	if n := purge(t0, 0); n != 1 {
		t.Fatalf("purged %d more attempts before t0, want the one the limit left", n)
	}
	if d, dd, i2 := count("i", "d"), count("i", "dd"), count("i2", "d"); d != 1 || dd != 0 || i2 != 1 {
		t.Fatalf("left i/d %d, i/dd %d, i2/d %d; want 1, 0, 1 (those at or after t0)", d, dd, i2)
	}
}

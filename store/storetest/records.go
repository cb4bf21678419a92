package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
)

func testNotFound(t *testing.T, st store.Store) {
	getters := []struct {
		name string
		get  func(tx store.Tx) error
	}{
		{"Session", func(tx store.Tx) error { _, err := tx.Session("s"); return err }},
		{"DeviceSession", func(tx store.Tx) error { _, err := tx.DeviceSession("i", "d"); return err }},
		{"Card", func(tx store.Tx) error { _, err := tx.Card("i", "c"); return err }},
		{"Purchase", func(tx store.Tx) error { _, err := tx.Purchase("i", "p"); return err }},
		{"Account", func(tx store.Tx) error { _, err := tx.Account("i", "a"); return err }},
		{"AccountByIDm", func(tx store.Tx) error { _, err := tx.AccountByIDm("i", "0102030405060708"); return err }},
		{"ScriptVersion", func(tx store.Tx) error { _, err := tx.ScriptVersion("i", "h"); return err }},
	}
	view(t, st, func(tx store.Tx) error {
		for _, g := range getters {
			wantErr(t, g.name, g.get(tx), store.ErrNotFound)
		}
		if on, err := tx.Blacklisted("i", "0102030405060708"); err != nil || on {
			t.Errorf("Blacklisted on an empty store = %t, %v; want false, nil", on, err)
		}
		if n, err := tx.ReaderModeAttempts("i", "d", time.Time{}); err != nil || n != 0 {
			t.Errorf("ReaderModeAttempts on an empty store = %d, %v; want 0, nil", n, err)
		}
		if list, _, err := tx.SearchSessions(store.SessionQuery{}); err != nil || len(list) != 0 {
			t.Errorf("SearchSessions on an empty store = %v, %v; want none", list, err)
		}
		if list, err := tx.OpenSessionsExpiredBefore(t0, 0); err != nil || len(list) != 0 {
			t.Errorf("OpenSessionsExpiredBefore on an empty store = %v, %v; want none", list, err)
		}
		return nil
	})
	update(t, st, func(tx store.Tx) error {
		if n, err := tx.PurgeEnded(t0, 0); err != nil || n != 0 {
			t.Errorf("PurgeEnded on an empty store = %d, %v; want 0, nil", n, err)
		}
		return nil
	})
}

// recordCase puts one record and reads it back by its key.
type recordCase struct {
	name string
	put  func(tx store.Tx) error
	get  func(tx store.Tx) (any, error)
	want any
}

// storedSession is a session as it reads back: the record, which counts
// the trace, and the trace.
type storedSession struct {
	Session store.Session
	Trace   []store.TraceEntry
}

func sessionCase(name string, s store.Session) recordCase {
	return recordCase{name,
		func(tx store.Tx) error { return tx.PutSession(s) },
		func(tx store.Tx) (any, error) { return readStored(tx, s.ID) },
		storedSession{Stored(s), s.Trace}}
}

// readStored reads session id and its trace.
func readStored(tx store.Tx, id string) (storedSession, error) {
	s, err := tx.Session(id)
	if err != nil {
		return storedSession{}, err
	}
	trace, err := tx.SessionTrace(id)
	if len(trace) == 0 {
		trace = nil
	}
	return storedSession{s, trace}, err
}

// Stored is s as a read gives it back after a first PutSession: without
// its trace, which it counts.
func Stored(s store.Session) store.Session {
	s.TraceLen, s.Trace = len(s.Trace), nil
	return s
}

func cardCase(name string, c store.Card) recordCase {
	return recordCase{name,
		func(tx store.Tx) error { return tx.PutCard(c) },
		func(tx store.Tx) (any, error) { return tx.Card(c.IssuerID, c.CardID) },
		c}
}

func purchaseCase(name string, p store.Purchase) recordCase {
	return recordCase{name,
		func(tx store.Tx) error { return tx.PutPurchase(p) },
		func(tx store.Tx) (any, error) { return tx.Purchase(p.IssuerID, p.PurchaseID) },
		p}
}

func accountCase(name string, a store.Account) recordCase {
	return recordCase{name,
		func(tx store.Tx) error { return tx.PutAccount(a) },
		func(tx store.Tx) (any, error) { return tx.Account(a.IssuerID, a.CardAccountID) },
		a}
}

func scriptCase(name string, v store.ScriptVersion) recordCase {
	return recordCase{name,
		func(tx store.Tx) error { return tx.PutScriptVersion(v) },
		func(tx store.Tx) (any, error) { return tx.ScriptVersion(v.IssuerID, v.Hash) },
		v}
}

func roundTripCases() []recordCase {
	full := TypicalSession("full", "i", "d", t0)
	full.Revision = 1
	ended := EndedSession("ended", "i", "d2", t0, t0.Add(7*24*time.Hour))
	ended.EndReason = store.EndExpired
	ended.LastReply = store.Reply{StatusCode: 322, StatusMessage: "session expired", Balance: new(int64(0))}
	local := OpenSession("local-times", "i", "d3", t0)
	local.Trace = []store.TraceEntry{{At: t0.Add(-time.Second), Elapsed: time.Nanosecond, StatusCode: 118}}

	return []recordCase{
		sessionCase("typical session", full),
		sessionCase("minimal session", local),
		sessionCase("ended session", ended),
		cardCase("full card", store.Card{
			IssuerID: "i", CardID: "card-full", Status: store.CardBlacklisted, ProductCode: 3,
			DeviceID: "d", Expiry: "2032-12-31",
			LastKnownBalance: new(int64(1500)), LastCounter: new(17), ParkedBalance: new(int64(0)),
			Uncertain: []string{"p1", "p2"}, UpdatedAt: t0, ParkedAt: new(t0.Add(-time.Hour)),
		}),
		cardCase("minimal card", store.Card{IssuerID: "i", CardID: "card-min", Status: store.CardActive}),
		purchaseCase("full purchase", store.Purchase{
			IssuerID: "i", PurchaseID: "p-full", CardID: "card-full", Amount: 1000,
			Kind: store.PurchaseRefund, Status: store.PurchaseUncertain, ExpectedCounter: 18,
			SessionID: "full", UpdatedAt: t0,
		}),
		purchaseCase("minimal purchase", store.Purchase{IssuerID: "i", PurchaseID: "p-min", CardID: "c", Amount: -5, Kind: store.PurchaseTopUp, Status: store.PurchasePending}),
		accountCase("account", store.Account{IssuerID: "i", CardAccountID: "acct-1", IDm: "0102030405060708", Balance: 250, CreatedAt: t0, SessionID: "full"}),
		scriptCase("script version", store.ScriptVersion{
			IssuerID: "i", Hash: "sha256-ab12",
			Files:    map[string][]byte{"manifest.lua": []byte("return {id='DEMO'}"), "flows/issue.lua": {0, 1, 2, 255}},
			StoredAt: t0,
		}),
	}
}

func testRoundTrip(t *testing.T, st store.Store) {
	for _, rc := range roundTripCases() {
		update(t, st, func(tx store.Tx) error {
			if err := rc.put(tx); err != nil {
				return fmt.Errorf("%s: put: %w", rc.name, err)
			}
			got, err := rc.get(tx)
			if err != nil {
				return fmt.Errorf("%s: read in the same Update: %w", rc.name, err)
			}
			if !reflect.DeepEqual(got, rc.want) {
				t.Errorf("%s: read in the same Update\n%+v\nwant\n%+v", rc.name, got, rc.want)
			}
			return nil
		})
	}
	view(t, st, func(tx store.Tx) error {
		for _, rc := range roundTripCases() {
			got, err := rc.get(tx)
			if err != nil {
				t.Errorf("%s: get: %v", rc.name, err)
				continue
			}
			if !reflect.DeepEqual(got, rc.want) {
				t.Errorf("%s: got\n%+v\nwant\n%+v", rc.name, got, rc.want)
			}
		}
		return nil
	})
}

// testRecordsAreCopies: a record read out stays valid after its transaction
// and later writes, and changing it changes nothing stored.
func testRecordsAreCopies(t *testing.T, st store.Store) {
	want := TypicalSession("s", "i", "d", t0)
	want.Revision = 1
	putSessions(t, st, want)
	var got store.Session
	view(t, st, func(tx store.Tx) error {
		var err error
		got, err = tx.Session("s")
		return err
	})
	// Churn the store so that a backend handing out its own memory shows it.
	for i := range 20 {
		c := store.Card{IssuerID: "i", CardID: string(rune('a' + i)), Status: store.CardActive, Uncertain: []string{"xxxxxxxxxxxxxxxxxxxxxxxx"}}
		update(t, st, func(tx store.Tx) error { return tx.PutCard(c) })
	}
	want = Stored(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("session read earlier changed after later writes:\n%+v\nwant\n%+v", got, want)
	}
	got.FlowState[0] = 'X'
	got.Batch[0].Frame[0] = 0xEE
	view(t, st, func(tx store.Tx) error {
		again, err := tx.Session("s")
		if err == nil && !reflect.DeepEqual(again, want) {
			t.Errorf("changing a record read out changed the stored one:\n%+v", again)
		}
		return err
	})
}

func testOverwrite(t *testing.T, st store.Store) {
	for i, status := range []store.CardStatus{store.CardActive, store.CardBlacklisted, store.CardDeleted} {
		c := store.Card{IssuerID: "i", CardID: "c", Status: status, ProductCode: i}
		p := store.Purchase{IssuerID: "i", PurchaseID: "p", CardID: "c", Amount: int64(i)}
		v := store.ScriptVersion{IssuerID: "i", Hash: "h", Files: map[string][]byte{"f": {byte(i)}}}
		update(t, st, func(tx store.Tx) error {
			return errors.Join(tx.PutCard(c), tx.PutPurchase(p), tx.PutScriptVersion(v))
		})
	}
	view(t, st, func(tx store.Tx) error {
		c, err := tx.Card("i", "c")
		if err == nil && (c.Status != store.CardDeleted || c.ProductCode != 2) {
			t.Errorf("card after three puts: %+v, want the last", c)
		}
		p, err2 := tx.Purchase("i", "p")
		if err2 == nil && p.Amount != 2 {
			t.Errorf("purchase after three puts: %+v, want the last", p)
		}
		v, err3 := tx.ScriptVersion("i", "h")
		if err3 == nil && v.Files["f"][0] != 2 {
			t.Errorf("script version after three puts: %+v, want the last", v)
		}
		return errors.Join(err, err2, err3)
	})
}

// testKeysNotConfused: ids are joined into keys; ("ab", "c") and ("a", "bc")
// must stay two records, whatever printable characters the ids hold.
func testKeysNotConfused(t *testing.T, st store.Store) {
	pairs := [][2]string{{"ab", "c"}, {"a", "bc"}, {"a b", "c"}, {"a", "b c"}, {"a:b", "c"}, {"a", "b:c"}, {"é", "ü/\\"}}
	update(t, st, func(tx store.Tx) error {
		for i, p := range pairs {
			err := errors.Join(
				tx.PutCard(store.Card{IssuerID: p[0], CardID: p[1], ProductCode: i}),
				tx.PutScriptVersion(store.ScriptVersion{IssuerID: p[0], Hash: p[1], Files: map[string][]byte{"n": {byte(i)}}}),
				tx.SetBlacklisted(p[0], p[1], i%2 == 0),
			)
			if err != nil {
				return err
			}
		}
		return nil
	})
	view(t, st, func(tx store.Tx) error {
		for i, p := range pairs {
			c, err := tx.Card(p[0], p[1])
			if err != nil || c.ProductCode != i {
				t.Errorf("card (%q, %q) = %+v, %v; want product %d", p[0], p[1], c, err, i)
			}
			v, err := tx.ScriptVersion(p[0], p[1])
			if err != nil || v.Files["n"][0] != byte(i) {
				t.Errorf("script version (%q, %q) = %+v, %v; want file n = %d", p[0], p[1], v, err, i)
			}
			if on, err := tx.Blacklisted(p[0], p[1]); err != nil || on != (i%2 == 0) {
				t.Errorf("blacklisted (%q, %q) = %t, %v; want %t", p[0], p[1], on, err, i%2 == 0)
			}
		}
		return nil
	})
}

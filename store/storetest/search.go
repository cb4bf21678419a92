package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
)

func testSearchSessions(t *testing.T, st store.Store) {
	mk := func(id, issuer, device string, at int, edit func(s *store.Session)) store.Session {
		s := EndedSession(id, issuer, device, t0.Add(time.Duration(at)*time.Second), t0.Add(time.Hour))
		edit(&s)
		return s
	}
	putSessions(t, st,
		mk("s1", "i", "d1", 1, func(s *store.Session) { s.CardID, s.Operation = "c1", "TOPUP"; s.LastReply.StatusCode = 0 }),
		mk("s2", "i", "d2", 2, func(s *store.Session) {
			s.CardID, s.IDm, s.Operation = "c2", "AA", "READ"
			s.LastReply.StatusCode = 163
		}),
		mk("s3", "i", "d1", 3, func(s *store.Session) {
			s.CardID, s.PurchaseID, s.Operation = "c1", "p1", "TOPUP"
			s.LastReply.StatusCode = 163
		}),
		mk("s4", "j", "d1", 4, func(s *store.Session) { s.CardID, s.IDm = "c1", "AA" }),
	)
	open := OpenSession("s5", "i", "d3", t0.Add(5*time.Second))
	open.CardID = "c3"
	putSessions(t, st, open)

	code := func(c int) *int { return &c }
	tests := []struct {
		name string
		q    store.SessionQuery
		want []string
	}{
		{"everything", store.SessionQuery{}, []string{"s5", "s4", "s3", "s2", "s1"}},
		{"issuer", store.SessionQuery{IssuerID: "i"}, []string{"s5", "s3", "s2", "s1"}},
		{"issuer and device", store.SessionQuery{IssuerID: "i", DeviceID: "d1"}, []string{"s3", "s1"}},
		{"device of any issuer", store.SessionQuery{DeviceID: "d1"}, []string{"s4", "s3", "s1"}},
		{"card", store.SessionQuery{IssuerID: "i", CardID: "c1"}, []string{"s3", "s1"}},
		{"IDm", store.SessionQuery{IDm: "AA"}, []string{"s4", "s2"}},
		{"purchase", store.SessionQuery{PurchaseID: "p1"}, []string{"s3"}},
		{"operation", store.SessionQuery{Operation: "TOPUP"}, []string{"s3", "s1"}},
		{"status code", store.SessionQuery{IssuerID: "i", StatusCode: code(163)}, []string{"s3", "s2"}},
		{"status code 0", store.SessionQuery{StatusCode: code(0), State: store.SessionEnded}, []string{"s4", "s1"}},
		{"open", store.SessionQuery{State: store.SessionOpen}, []string{"s5"}},
		{"from", store.SessionQuery{From: t0.Add(3 * time.Second)}, []string{"s5", "s4", "s3"}},
		{"to", store.SessionQuery{To: t0.Add(3 * time.Second)}, []string{"s2", "s1"}},
		{"limit", store.SessionQuery{Limit: 2}, []string{"s5", "s4"}},
		{"nothing", store.SessionQuery{IssuerID: "i", CardID: "nope"}, []string{}},
	}
	view(t, st, func(tx store.Tx) error {
		for _, tt := range tests {
			list, _, err := tx.SearchSessions(tt.q)
			if err != nil {
				return err
			}
			if got := sessionIDs(list); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: SearchSessions = %q, want %q", tt.name, got, tt.want)
			}
		}
		_, _, err := tx.SearchSessions(store.SessionQuery{After: "not a cursor!"})
		wantErr(t, "SearchSessions with a bad cursor", err, store.ErrInvalid)
		_, _, err = tx.SearchSessions(store.SessionQuery{Limit: -1})
		wantErr(t, "SearchSessions with a negative limit", err, store.ErrInvalid)
		return nil
	})
}

// testSearchSessionsPaging walks pages of two, with sessions that share a
// creation time, and must see every session once.
func testSearchSessionsPaging(t *testing.T, st store.Store) {
	var want []string
	for i := 9; i >= 0; i-- {
		want = append(want, string(rune('a'+i)))
	}
	for i := range 10 {
		putSessions(t, st, OpenSession(string(rune('a'+i)), "i", "d"+string(rune('a'+i)), t0.Add(time.Duration(i/3)*time.Second)))
	}
	for _, q := range []store.SessionQuery{{Limit: 2}, {IssuerID: "i", Limit: 3}, {IssuerID: "i", State: store.SessionOpen, Limit: 4}} {
		var got []string
		pages := 0
		for {
			var list []store.Session
			var next string
			view(t, st, func(tx store.Tx) error {
				var err error
				list, next, err = tx.SearchSessions(q)
				return err
			})
			got = append(got, sessionIDs(list)...)
			pages++
			if next == "" || pages > 20 {
				break
			}
			q.After = next
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("pages of %d gave %q, want %q", q.Limit, got, want)
		}
	}
}

func testPurchases(t *testing.T, st store.Store) {
	put := func(id string, status store.PurchaseStatus) {
		update(t, st, func(tx store.Tx) error {
			return tx.PutPurchase(store.Purchase{IssuerID: "i", PurchaseID: id, CardID: "c", Amount: 1, Kind: store.PurchaseTopUp, Status: status})
		})
	}
	put("p1", store.PurchasePending)
	put("p2", store.PurchaseUncertain)
	put("p3", store.PurchaseUncertain)
	put("p3", store.PurchaseApplied) // moves out of UNCERTAIN
	put("p4", store.PurchaseUncertain)
	update(t, st, func(tx store.Tx) error {
		return tx.PutPurchase(store.Purchase{IssuerID: "i2", PurchaseID: "p5", Status: store.PurchaseUncertain})
	})
	ids := func(list []store.Purchase) []string {
		out := []string{}
		for _, p := range list {
			out = append(out, p.PurchaseID)
		}
		return out
	}
	tests := []struct {
		status store.PurchaseStatus
		limit  int
		want   []string
	}{
		{store.PurchaseUncertain, 0, []string{"p2", "p4"}},
		{store.PurchaseUncertain, 1, []string{"p2"}},
		{store.PurchaseApplied, 0, []string{"p3"}},
		{store.PurchasePending, 0, []string{"p1"}},
		{"", 0, []string{"p1", "p2", "p3", "p4"}},
	}
	view(t, st, func(tx store.Tx) error {
		for _, tt := range tests {
			list, err := tx.Purchases("i", tt.status, tt.limit)
			if err != nil {
				return err
			}
			if got := ids(list); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Purchases(%q, %d) = %q, want %q", tt.status, tt.limit, got, tt.want)
			}
			if len(list) > 0 && list[0].Status != tt.status && tt.status != "" {
				t.Errorf("Purchases(%q) gave a purchase with status %q", tt.status, list[0].Status)
			}
		}
		return nil
	})
}

func testAudit(t *testing.T, st store.Store) {
	for i, issuer := range []string{"i", "j", "i", "i"} {
		update(t, st, func(tx store.Tx) error {
			return tx.AppendAudit(store.AuditEntry{
				At: t0.Add(time.Duration(i) * time.Second), Actor: "token", Action: "card.put", IssuerID: issuer,
				Target: "c", Before: []byte(`{"status":"ACTIVE"}`), After: []byte(`{"status":"DELETED"}`), Reason: "lost",
			})
		})
	}
	var all []store.AuditEntry
	view(t, st, func(tx store.Tx) error {
		var err error
		all, _, err = tx.AuditLog(store.AuditQuery{})
		return err
	})
	if len(all) != 4 {
		t.Fatalf("AuditLog has %d entries, want 4", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq >= all[i-1].Seq {
			t.Errorf("entry %d has seq %d after %d: want newest first", i, all[i].Seq, all[i-1].Seq)
		}
	}
	e := all[0]
	if e.Actor != "token" || e.Action != "card.put" || e.Reason != "lost" || string(e.After) != `{"status":"DELETED"}` ||
		!e.At.Equal(t0.Add(3*time.Second)) {
		t.Errorf("newest entry %+v does not read back", e)
	}
	var pages [][]store.AuditEntry
	q := store.AuditQuery{IssuerID: "i", Limit: 2}
	for len(pages) < 5 {
		var list []store.AuditEntry
		var next string
		view(t, st, func(tx store.Tx) error {
			var err error
			list, next, err = tx.AuditLog(q)
			return err
		})
		pages = append(pages, list)
		if next == "" {
			break
		}
		q.After = next
	}
	if len(pages) != 2 || len(pages[0]) != 2 || len(pages[1]) != 1 || pages[1][0].Seq != all[3].Seq {
		t.Errorf("issuer i's audit in pages of 2: %+v", pages)
	}
	err := st.Update(t.Context(), func(tx store.Tx) error { return tx.AppendAudit(store.AuditEntry{Action: "x"}) })
	wantErr(t, "AppendAudit without actor", err, store.ErrInvalid)
}

package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
)

func claimHolder(t *testing.T, st store.Store, issuerID string, c store.Claim) string {
	t.Helper()
	var holder string
	view(t, st, func(tx store.Tx) error {
		var err error
		holder, err = tx.ClaimHolder(issuerID, c)
		if errors.Is(err, store.ErrNotFound) {
			holder, err = "", nil
		}
		return err
	})
	return holder
}

func testClaims(t *testing.T, st store.Store) {
	card := store.Claim{Kind: store.ClaimCard, ID: "c1"}
	idm := store.Claim{Kind: store.ClaimIDm, ID: "0102030405060708"}

	a := OpenSession("a", "i", "d1", t0)
	a.CardID = "c1"
	putSessions(t, st, a)
	if got := claimHolder(t, st, "i", card); got != "a" {
		t.Fatalf("card claim holder = %q, want a", got)
	}
	if got := claimHolder(t, st, "i2", card); got != "" {
		t.Errorf("another issuer's card claim holder = %q, want none", got)
	}
	if got := claimHolder(t, st, "i", store.Claim{Kind: store.ClaimIDm, ID: "c1"}); got != "" {
		t.Errorf("an IDm claim with the card's id is held by %q, want none", got)
	}

	// Learning the IDm takes its claim too.
	a.Revision, a.IDm = 2, idm.ID
	putSessions(t, st, a)
	if got := claimHolder(t, st, "i", idm); got != "a" {
		t.Fatalf("IDm claim holder = %q, want a", got)
	}

	// Another device's session on the same card or IDm is refused whole.
	tests := []struct {
		name string
		edit func(s *store.Session)
	}{
		{"same card", func(s *store.Session) { s.CardID = "c1" }},
		{"same IDm", func(s *store.Session) { s.IDm = idm.ID }},
		{"same IDm, other card", func(s *store.Session) { s.CardID, s.IDm = "c9", idm.ID }},
	}
	for _, tt := range tests {
		b := OpenSession("b-"+tt.name, "i", "d2", t0.Add(time.Second))
		tt.edit(&b)
		err := st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSession(b) })
		wantErr(t, "PutSession "+tt.name, err, store.ErrClaimed)
		view(t, st, func(tx store.Tx) error {
			_, err := tx.Session(b.ID)
			wantErr(t, "Session after refused put "+tt.name, err, store.ErrNotFound)
			return nil
		})
		if got := claimHolder(t, st, "i", store.Claim{Kind: store.ClaimCard, ID: "c9"}); got != "" {
			t.Errorf("%s: refused session left a claim of c9 held by %q", tt.name, got)
		}
	}
	// An ended session holds nothing, and a refused one may be ended.
	ended := EndedSession("e", "i", "d3", t0, t0.Add(time.Hour))
	ended.CardID = "c1"
	putSessions(t, st, ended)
	if got := claimHolder(t, st, "i", card); got != "a" {
		t.Errorf("after an ended session of the card, holder = %q, want a", got)
	}

	// Ending a releases both claims; then another device may take them.
	a.Revision, a.State, a.EndedAt, a.PurgeAt = 3, store.SessionEnded, t0.Add(time.Minute), t0.Add(time.Hour)
	putSessions(t, st, a)
	for _, c := range []store.Claim{card, idm} {
		if got := claimHolder(t, st, "i", c); got != "" {
			t.Errorf("after a ended, %s claim held by %q", c.Kind, got)
		}
	}
	b := OpenSession("b", "i", "d2", t0.Add(2*time.Minute))
	b.CardID, b.IDm = "c1", idm.ID
	putSessions(t, st, b)
	if got := claimHolder(t, st, "i", idm); got != "b" {
		t.Errorf("IDm claim holder = %q, want b", got)
	}

	// Dropping the card from an open session releases its claim.
	b.Revision, b.CardID = 2, ""
	putSessions(t, st, b)
	if got := claimHolder(t, st, "i", card); got != "" {
		t.Errorf("card claim still held by %q after b dropped it", got)
	}

	view(t, st, func(tx store.Tx) error {
		_, err := tx.ClaimHolder("i", store.Claim{Kind: "nonsense", ID: "x"})
		wantErr(t, "ClaimHolder of an unknown kind", err, store.ErrInvalid)
		_, err = tx.ClaimHolder("i", store.Claim{Kind: store.ClaimCard})
		wantErr(t, "ClaimHolder without id", err, store.ErrInvalid)
		return nil
	})
}

// testClaimsRace starts many sessions of different devices on one card at
// once: exactly one may win.
func testClaimsRace(t *testing.T, st store.Store) {
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			s := OpenSession(fmt.Sprintf("s%d", i), "i", fmt.Sprintf("d%d", i), t0)
			s.CardID = "shared"
			errs[i] = st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSession(s) })
		})
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrClaimed):
			t.Errorf("session %d: %v, want nil or ErrClaimed", i, err)
		}
	}
	if won != 1 {
		t.Errorf("%d sessions took the card, want 1", won)
	}
}

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

// RunShared runs the cases only several processes sharing one database can
// produce: two stores on the same data racing the same session's
// compare-and-swap, the same card claim, the same device's first session,
// the same purchase, and reading at once what the other committed. open
// must return two stores on one new, empty database each time it is
// called — two connection pools for a database server, the same Store
// twice for an embedded one. RunShared closes both when the subtest ends.
func RunShared(t *testing.T, open func(t *testing.T) (a, b store.Store)) {
	t.Helper()
	suites := []struct {
		name string
		test func(t *testing.T, a, b store.Store)
	}{
		{"SeesOtherCommits", testSharedSeesOtherCommits},
		{"SessionCompareAndSwap", testSharedSessionCAS},
		{"ClaimRace", testSharedClaimRace},
		{"DeviceFirstSession", testSharedDeviceFirstSession},
		{"PurchaseAppliedOnce", testSharedPurchaseOnce},
	}
	for _, s := range suites {
		t.Run(s.name, func(t *testing.T) {
			a, b := open(t)
			t.Cleanup(func() {
				for _, st := range []store.Store{a, b} {
					if err := st.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
						t.Errorf("Close: %v", err)
					}
				}
			})
			s.test(t, a, b)
		})
	}
}

// racers is how many writers race in each case, alternating between the
// two stores.
const racers = 8

// race runs fn(i, store) for racers writers at once, writer i on a when i
// is even and on b when odd, and returns their errors.
func race(a, b store.Store, fn func(i int, st store.Store) error) []error {
	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			<-start
			errs[i] = fn(i, st)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one error is nil and every other is want,
// and returns the winner's index.
func oneWinner(t *testing.T, errs []error, want error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("writers %d and %d both won", winner, i)
			}
			winner = i
		case !errors.Is(err, want):
			t.Errorf("writer %d: %v, want nil or %v", i, err, want)
		}
	}
	if winner < 0 {
		t.Fatal("no writer won")
	}
	return winner
}

func testSharedSeesOtherCommits(t *testing.T, a, b store.Store) {
	tests := []struct {
		name        string
		write, read store.Store
	}{
		{"a then b", a, b},
		{"b then a", b, a},
	}
	for i, tt := range tests {
		s := OpenSession(fmt.Sprintf("s%d", i), "i", fmt.Sprintf("d%d", i), t0)
		c := store.Card{IssuerID: "i", CardID: fmt.Sprintf("c%d", i), Status: store.CardActive}
		update(t, tt.write, func(tx store.Tx) error { return errors.Join(tx.PutSession(s), tx.PutCard(c)) })
		view(t, tt.read, func(tx store.Tx) error {
			got, err := tx.DeviceSession("i", s.DeviceID)
			if err != nil {
				return fmt.Errorf("%s: the other store does not see the session: %w", tt.name, err)
			}
			if got.ID != s.ID {
				t.Errorf("%s: device session %q, want %q", tt.name, got.ID, s.ID)
			}
			_, err = tx.Card("i", c.CardID)
			return err
		})
	}
}

// testSharedSessionCAS: writers on both stores that all read revision 1
// race to write revision 2; exactly one wins and its write is stored.
func testSharedSessionCAS(t *testing.T, a, b store.Store) {
	putSessions(t, a, OpenSession("s1", "i", "d", t0))
	errs := race(a, b, func(i int, st store.Store) error {
		return st.Update(context.Background(), func(tx store.Tx) error {
			s := OpenSession("s1", "i", "d", t0)
			s.Revision, s.Steps = 2, i+1
			return tx.PutSession(s)
		})
	})
	winner := oneWinner(t, errs, store.ErrConflict)
	view(t, b, func(tx store.Tx) error {
		got, err := tx.Session("s1")
		if err == nil && (got.Revision != 2 || got.Steps != winner+1) {
			t.Errorf("stored revision %d from writer %d, want revision 2 from writer %d", got.Revision, got.Steps-1, winner)
		}
		return err
	})
}

// testSharedClaimRace: sessions of different devices, on both stores,
// start on one card at once: one takes it.
func testSharedClaimRace(t *testing.T, a, b store.Store) {
	errs := race(a, b, func(i int, st store.Store) error {
		s := OpenSession(fmt.Sprintf("s%d", i), "i", fmt.Sprintf("d%d", i), t0)
		s.CardID = "shared"
		return st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSession(s) })
	})
	winner := oneWinner(t, errs, store.ErrClaimed)
	if got := claimHolder(t, a, "i", store.Claim{Kind: store.ClaimCard, ID: "shared"}); got != fmt.Sprintf("s%d", winner) {
		t.Errorf("claim held by %q, want s%d", got, winner)
	}
}

// errDeviceBusy is what the racers of testSharedDeviceFirstSession return
// when the device already has an open session.
var errDeviceBusy = errors.New("the device has an open session")

// testSharedDeviceFirstSession starts a device's first session from both
// stores at once, each as the engine does: read the device's newest
// session, and only when there is none open, put a new one. One session
// may open (one open operation per device, CONTRACT.md §1.5).
func testSharedDeviceFirstSession(t *testing.T, a, b store.Store) {
	errs := race(a, b, func(i int, st store.Store) error {
		return st.Update(context.Background(), func(tx store.Tx) error {
			cur, err := tx.DeviceSession("i", "d")
			switch {
			case err == nil && cur.State == store.SessionOpen:
				return errDeviceBusy
			case err != nil && !errors.Is(err, store.ErrNotFound):
				return err
			}
			return tx.PutSession(OpenSession(fmt.Sprintf("s%d", i), "i", "d", t0.Add(time.Duration(i)*time.Millisecond)))
		})
	})
	winner := oneWinner(t, errs, errDeviceBusy)
	if got := deviceSessionID(t, b, "i", "d"); got != fmt.Sprintf("s%d", winner) {
		t.Errorf("device session %q, want s%d", got, winner)
	}
	view(t, a, func(tx store.Tx) error {
		open, _, err := tx.SearchSessions(store.SessionQuery{IssuerID: "i", DeviceID: "d", State: store.SessionOpen})
		if err == nil && len(open) != 1 {
			t.Errorf("%d open sessions for the device, want 1", len(open))
		}
		return err
	})
}

// errApplied is what the racers of testSharedPurchaseOnce return when the
// purchase is no longer pending.
var errApplied = errors.New("the purchase is not pending")

// testSharedPurchaseOnce applies one purchase from both stores at once, as
// a read-modify-write of the purchase and the card's balance: the money
// moves once.
func testSharedPurchaseOnce(t *testing.T, a, b store.Store) {
	update(t, a, func(tx store.Tx) error {
		return errors.Join(
			tx.PutCard(store.Card{IssuerID: "i", CardID: "c", Status: store.CardActive, LastKnownBalance: new(int64(1000))}),
			tx.PutPurchase(store.Purchase{IssuerID: "i", PurchaseID: "p", CardID: "c", Amount: 500,
				Kind: store.PurchaseTopUp, Status: store.PurchasePending}),
		)
	})
	errs := race(a, b, func(i int, st store.Store) error {
		return st.Update(context.Background(), func(tx store.Tx) error {
			p, err := tx.Purchase("i", "p")
			if err != nil {
				return err
			}
			if p.Status != store.PurchasePending {
				return errApplied
			}
			c, err := tx.Card("i", "c")
			if err != nil {
				return err
			}
			balance := *c.LastKnownBalance + p.Amount
			c.LastKnownBalance = &balance
			p.Status, p.SessionID = store.PurchaseApplied, fmt.Sprintf("s%d", i)
			return errors.Join(tx.PutCard(c), tx.PutPurchase(p))
		})
	})
	winner := oneWinner(t, errs, errApplied)
	view(t, b, func(tx store.Tx) error {
		c, err := tx.Card("i", "c")
		if err != nil {
			return err
		}
		p, err := tx.Purchase("i", "p")
		if err != nil {
			return err
		}
		if *c.LastKnownBalance != 1500 || p.Status != store.PurchaseApplied || p.SessionID != fmt.Sprintf("s%d", winner) {
			t.Errorf("balance %d, purchase %s by %s; want 1500, APPLIED by s%d", *c.LastKnownBalance, p.Status, p.SessionID, winner)
		}
		return nil
	})
}

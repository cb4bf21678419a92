package engine_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/storetest"
)

func TestResolvePurchase(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	num := func(v int) *int { return &v }
	tests := []struct {
		name        string
		kind        store.PurchaseKind
		status      store.PurchaseStatus
		balance     *int64
		counter     *int
		openSession bool
		outcome     store.PurchaseStatus
		wantErr     error
		wantBalance *int64
		wantCounter *int
	}{
		{name: "applied top-up moves the balance read before the write", kind: store.PurchaseTopUp, status: store.PurchaseUncertain,
			balance: i64(1000), counter: num(7), outcome: store.PurchaseApplied, wantBalance: i64(1500), wantCounter: num(8)},
		{name: "applied refund", kind: store.PurchaseRefund, status: store.PurchaseUncertain,
			balance: i64(1000), counter: num(7), outcome: store.PurchaseApplied, wantBalance: i64(500), wantCounter: num(8)},
		{name: "applied, balance already read after the write", kind: store.PurchaseTopUp, status: store.PurchaseUncertain,
			balance: i64(1500), counter: num(8), outcome: store.PurchaseApplied, wantBalance: i64(1500), wantCounter: num(8)},
		{name: "applied, no balance known", kind: store.PurchaseTopUp, status: store.PurchaseUncertain, outcome: store.PurchaseApplied},
		{name: "pending leaves the balance", kind: store.PurchaseTopUp, status: store.PurchaseUncertain,
			balance: i64(1000), counter: num(7), outcome: store.PurchasePending, wantBalance: i64(1000), wantCounter: num(7)},
		{name: "not uncertain", kind: store.PurchaseTopUp, status: store.PurchaseApplied, outcome: store.PurchasePending, wantErr: engine.ErrNotUncertain},
		{name: "pending is not uncertain", kind: store.PurchaseTopUp, status: store.PurchasePending, outcome: store.PurchaseApplied, wantErr: engine.ErrNotUncertain},
		{name: "card busy", kind: store.PurchaseTopUp, status: store.PurchaseUncertain, openSession: true, outcome: store.PurchaseApplied, wantErr: engine.ErrCardBusy},
		{name: "bad outcome", kind: store.PurchaseTopUp, status: store.PurchaseUncertain, outcome: store.PurchaseUncertain, wantErr: store.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, readFlow())
			var uncertain []string
			if tt.status == store.PurchaseUncertain {
				uncertain = []string{"P-1"}
			}
			h.put(func(tx store.Tx) error {
				if err := tx.PutCard(store.Card{IssuerID: issuerID, CardID: cardID, Status: store.CardActive,
					LastKnownBalance: tt.balance, LastCounter: tt.counter, Uncertain: uncertain}); err != nil {
					return err
				}
				if tt.openSession {
					s := storetest.OpenSession("S-1", issuerID, deviceID, epoch)
					s.CardID = cardID
					if err := tx.PutSession(s); err != nil {
						return err
					}
				}
				return tx.PutPurchase(store.Purchase{IssuerID: issuerID, PurchaseID: "P-1", CardID: cardID, Amount: 500,
					Kind: tt.kind, Status: tt.status, ExpectedCounter: 8, SessionID: "S-0"})
			})
			var after store.Purchase
			err := h.store.Update(context.Background(), func(tx store.Tx) error {
				var err error
				_, after, err = engine.ResolvePurchase(tx, issuerID, "P-1", tt.outcome, epoch)
				return err
			})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if got := h.purchase("P-1"); got.Status != tt.status {
					t.Errorf("a refused resolve changed the purchase to %s", got.Status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			stored := h.purchase("P-1")
			if stored.Status != tt.outcome || after.Status != tt.outcome || stored.SessionID != "" {
				t.Errorf("purchase after resolve: stored %+v, returned %+v", stored, after)
			}
			c := h.card(cardID)
			if slices.Contains(c.Uncertain, "P-1") {
				t.Errorf("the card still lists the purchase as uncertain: %v", c.Uncertain)
			}
			if !equalPtr(c.LastKnownBalance, tt.wantBalance) || !equalPtr(c.LastCounter, tt.wantCounter) {
				t.Errorf("card balance %v counter %v, want %v %v", deref(c.LastKnownBalance), deref(c.LastCounter), deref(tt.wantBalance), deref(tt.wantCounter))
			}
		})
	}
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

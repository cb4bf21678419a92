package engine_test

import (
	"context"
	"testing"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

func TestLedgerSeenByFlows(t *testing.T) {
	type seen struct {
		card                        flow.Card
		cardFound, noCardFound      bool
		purchase                    flow.Purchase
		purchaseFound, noPurchase   bool
		blacklisted, notBlacklisted bool
		attempts                    int
		account                     flow.Account
		accountFound, noAccount     bool
	}
	var got seen
	h := newHarness(t, func(ctx context.Context, in flow.Input) (flow.Result, error) {
		l := in.Ledger
		var err error
		check := func(e error) {
			if err == nil {
				err = e
			}
		}
		var e error
		got.card, got.cardFound, e = l.Card(ctx, cardID)
		check(e)
		_, found, e := l.Card(ctx, "CARD-NONE")
		got.noCardFound = !found
		check(e)
		got.purchase, got.purchaseFound, e = l.Purchase(ctx, "P-PENDING")
		check(e)
		_, found, e = l.Purchase(ctx, "P-NONE")
		got.noPurchase = !found
		check(e)
		got.blacklisted, e = l.Blacklisted(ctx, idm)
		check(e)
		on, e := l.Blacklisted(ctx, "FFFFFFFFFFFFFFFF")
		got.notBlacklisted = !on
		check(e)
		got.attempts, e = l.ReaderModeAttempts(ctx, deviceID, epoch)
		check(e)
		got.account, got.accountFound, e = l.AccountByIDm(ctx, idm)
		check(e)
		_, found, e = l.AccountByIDm(ctx, "FFFFFFFFFFFFFFFF")
		got.noAccount = !found
		check(e)
		return flow.Result{Status: flow.StatusOK}, err
	})
	h.seedLedger()
	h.put(func(tx store.Tx) error {
		if err := tx.SetBlacklisted(issuerID, idm, true); err != nil {
			return err
		}
		for range 2 {
			if err := tx.AddReaderModeAttempt(issuerID, deviceID, epoch); err != nil {
				return err
			}
		}
		return tx.PutAccount(store.Account{IssuerID: issuerID, CardAccountID: "ACC-1", IDm: idm, Balance: 900, CreatedAt: epoch})
	})

	wantStatus(t, h.handle(startRequest()), flow.StatusOK)
	if !got.cardFound || got.card.CardID != cardID || got.card.Status != "ACTIVE" || got.card.ProductCode != 1 || !got.noCardFound {
		t.Fatalf("card lookups: %+v", got)
	}
	if !got.purchaseFound || got.purchase.Amount != 500 || got.purchase.Kind != "TOPUP" || got.purchase.Status != "PENDING" || !got.noPurchase {
		t.Fatalf("purchase lookups: %+v", got)
	}
	if !got.blacklisted || !got.notBlacklisted || got.attempts != 2 {
		t.Fatalf("blacklist and attempts: %+v", got)
	}
	if !got.accountFound || got.account.CardAccountID != "ACC-1" || got.account.Balance != 900 || !got.noAccount {
		t.Fatalf("account lookups: %+v", got)
	}
}

// exploding is a registry that panics, as a buggy loader might.
type exploding struct{ flow.Registry }

func (exploding) Current(string) (flow.Issuer, bool) { panic("registry bug") }

func TestHandleNeverPanics(t *testing.T) {
	h := newHarness(t, readFlow())
	h.engine = mustEngine(t, h, exploding{h.flows})
	wantStatus(t, h.handle(startRequest()), flow.StatusUnexpectedError)
}

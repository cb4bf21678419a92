package engine

import (
	"errors"
	"fmt"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// ResolvePurchase settles an UNCERTAIN purchase by hand (the admin API's
// resolve, when the card is lost and no operation can settle it), with the
// record changes the flows' purchase_applied and purchase_pending effects
// make: the purchase becomes outcome (store.PurchaseApplied or
// store.PurchasePending) and leaves its card's Uncertain list. For APPLIED,
// when the card's last known balance is from before the write (its counter
// below the purchase's ExpectedCounter), the balance moves by the amount
// and takes the expected counter, as the flow's record_balance would after
// reading the card.
//
// It runs inside the caller's transaction, so that the caller can write its
// audit entry in the same commit. It refuses with ErrNotUncertain a purchase
// in another status, and with ErrCardBusy one whose card has an open
// operation; a missing purchase or card is store.ErrNotFound.
func ResolvePurchase(tx store.Tx, issuerID, purchaseID string, outcome store.PurchaseStatus, now time.Time) (before, after store.Purchase, err error) {
	var kind flow.EffectKind
	switch outcome {
	case store.PurchaseApplied:
		kind = flow.PurchaseApplied
	case store.PurchasePending:
		kind = flow.PurchasePending
	default:
		return before, after, fmt.Errorf("engine: resolve to %q: %w", outcome, store.ErrInvalid)
	}
	before, err = tx.Purchase(issuerID, purchaseID)
	if err != nil {
		return before, after, fmt.Errorf("resolve purchase: %w", err)
	}
	if before.Status != store.PurchaseUncertain {
		return before, after, fmt.Errorf("resolve purchase %s (%s): %w", purchaseID, before.Status, ErrNotUncertain)
	}
	holder, err := tx.ClaimHolder(issuerID, store.Claim{Kind: store.ClaimCard, ID: before.CardID})
	switch {
	case err == nil:
		return before, after, fmt.Errorf("resolve purchase %s: session %s: %w", purchaseID, holder, ErrCardBusy)
	case !errors.Is(err, store.ErrNotFound):
		return before, after, fmt.Errorf("resolve purchase: %w", err)
	}
	if _, err := tx.Card(issuerID, before.CardID); err != nil {
		return before, after, fmt.Errorf("resolve purchase: the purchase's card: %w", err)
	}
	l := &ledgerChanges{tx: tx, scope: effectScope{issuerID: issuerID, cardID: before.CardID, now: now},
		cards: map[string]*store.Card{}, purchases: map[string]*store.Purchase{}}
	if err := l.apply(flow.Effect{Kind: kind, PurchaseID: purchaseID, CardID: before.CardID}); err != nil {
		return before, after, fmt.Errorf("resolve purchase: %w", err)
	}
	if outcome == store.PurchaseApplied {
		c, err := l.card(before.CardID)
		if err != nil {
			return before, after, fmt.Errorf("resolve purchase: %w", err)
		}
		if c.LastKnownBalance != nil && c.LastCounter != nil && *c.LastCounter < before.ExpectedCounter {
			balance := *c.LastKnownBalance + before.Amount
			if before.Kind == store.PurchaseRefund {
				balance = *c.LastKnownBalance - before.Amount
			}
			if err := l.apply(flow.Effect{Kind: flow.RecordBalance, CardID: before.CardID, Balance: balance, Counter: before.ExpectedCounter}); err != nil {
				return before, after, fmt.Errorf("resolve purchase: %w", err)
			}
		}
	}
	if err := l.flush(); err != nil {
		return before, after, fmt.Errorf("resolve purchase: %w", err)
	}
	return before, *l.purchases[purchaseID], nil
}

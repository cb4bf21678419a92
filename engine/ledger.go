package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// ledger is flow.Ledger over one issuer's records. Each lookup is its own
// short read transaction: a step runs outside any transaction, and the
// commit re-checks what matters (purchase states) before writing.
type ledger struct {
	store    store.Store
	issuerID string
}

// Card returns the card with its uncertain purchases spelled out.
func (l ledger) Card(ctx context.Context, cardID string) (flow.Card, bool, error) {
	var out flow.Card
	err := l.store.View(ctx, func(tx store.Tx) error {
		c, err := tx.Card(l.issuerID, cardID)
		if err != nil {
			return err
		}
		out = flow.Card{
			CardID:           c.CardID,
			Status:           string(c.Status),
			ProductCode:      c.ProductCode,
			DeviceID:         c.DeviceID,
			Expiry:           c.Expiry,
			LastKnownBalance: c.LastKnownBalance,
			ParkedBalance:    c.ParkedBalance,
		}
		if p := c.PendingPark; p != nil {
			out.PendingPark = &flow.PendingPark{Balance: p.Balance, Counter: p.Counter}
		}
		for _, id := range c.Uncertain {
			p, err := tx.Purchase(l.issuerID, id)
			switch {
			case errors.Is(err, store.ErrNotFound):
				// Not wrapped: the card exists, the ledger is inconsistent.
				return fmt.Errorf("the card lists uncertain purchase %s, which is not in the ledger", id)
			case err != nil:
				return fmt.Errorf("reading uncertain purchase %s: %w", id, err)
			}
			out.Uncertain = append(out.Uncertain, flowPurchase(p))
		}
		return nil
	})
	return lookup(out, err, "card")
}

// Purchase returns one purchase.
func (l ledger) Purchase(ctx context.Context, purchaseID string) (flow.Purchase, bool, error) {
	var out flow.Purchase
	err := l.store.View(ctx, func(tx store.Tx) error {
		p, err := tx.Purchase(l.issuerID, purchaseID)
		out = flowPurchase(p)
		return err
	})
	return lookup(out, err, "purchase "+purchaseID)
}

// Blacklisted reports whether a physical card is on the issuer's blacklist.
func (l ledger) Blacklisted(ctx context.Context, idm string) (bool, error) {
	var on bool
	err := l.store.View(ctx, func(tx store.Tx) error {
		var err error
		on, err = tx.Blacklisted(l.issuerID, idm)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("reading the blacklist: %w", err)
	}
	return on, nil
}

// ReaderModeAttempts counts a device's attempts at or after since.
func (l ledger) ReaderModeAttempts(ctx context.Context, deviceID string, since time.Time) (int, error) {
	var n int
	err := l.store.View(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.ReaderModeAttempts(l.issuerID, deviceID, since)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("counting reader-mode attempts: %w", err)
	}
	return n, nil
}

// AccountByIDm finds the account created from a physical card, or its
// pending transfer.
func (l ledger) AccountByIDm(ctx context.Context, idm string) (flow.Account, bool, error) {
	var out flow.Account
	err := l.store.View(ctx, func(tx store.Tx) error {
		a, err := tx.AccountByIDm(l.issuerID, idm)
		out = flow.Account{
			CardAccountID: a.CardAccountID, IDm: a.IDm, Balance: a.Balance,
			Pending: a.Pending, ExpectedCounter: a.ExpectedCounter,
		}
		return err
	})
	return lookup(out, err, "account")
}

// lookup maps a lookup's error to the Ledger's (value, found, error).
func lookup[T any](v T, err error, what string) (T, bool, error) {
	var zero T
	switch {
	case err == nil:
		return v, true, nil
	case errors.Is(err, store.ErrNotFound):
		return zero, false, nil
	default:
		return zero, false, fmt.Errorf("reading %s: %w", what, err)
	}
}

func flowPurchase(p store.Purchase) flow.Purchase {
	return flow.Purchase{
		PurchaseID:      p.PurchaseID,
		CardID:          p.CardID,
		Amount:          p.Amount,
		Kind:            string(p.Kind),
		Status:          string(p.Status),
		ExpectedCounter: p.ExpectedCounter,
	}
}

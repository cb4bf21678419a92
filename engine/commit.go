package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// readMark is what the engine read as the device's newest session; the
// commit goes ahead only if it is still so.
type readMark struct {
	found    bool
	id       string
	revision uint64
}

func readMarkOf(s store.Session, found bool) readMark {
	if !found {
		return readMark{}
	}
	return readMark{found: true, id: s.ID, revision: s.Revision}
}

func (m readMark) check(tx store.Tx, issuerID, deviceID string) error {
	id, revision, err := deviceSessionHead(tx, issuerID, deviceID)
	found := true
	switch {
	case errors.Is(err, store.ErrNotFound):
		found = false
	case err != nil:
		return fmt.Errorf("re-reading the device's session: %w", err)
	}
	if found != m.found || (found && (id != m.id || revision != m.revision)) {
		return fmt.Errorf("device's session changed since it was read: %w", store.ErrConflict)
	}
	return nil
}

// deviceSessionHead is the id and revision of the device's newest session,
// read from its head when the store can (store.HeadReader): the commit
// runs in the store's single writer, where decoding the whole session with
// its trace only to compare two fields is the costliest way to do it.
func deviceSessionHead(tx store.Tx, issuerID, deviceID string) (string, uint64, error) {
	if h, ok := tx.(store.HeadReader); ok {
		return h.DeviceSessionHead(issuerID, deviceID)
	}
	s, err := tx.DeviceSession(issuerID, deviceID)
	return s.ID, s.Revision, err
}

// change is everything one request writes, in one transaction.
type change struct {
	mark    readMark
	closing []store.Session // written first: an expired session a start closes
	session store.Session   // written last, as the device's newest

	// now is when the request came, against which a claim's holder is
	// found expired.
	now time.Time

	effects []flow.Effect
	scope   effectScope
	// refused gives the session to write instead of session when the
	// ledger refuses the effects; nil when there are no effects.
	refused func(reason error) store.Session
}

// commit writes ch in one store transaction and returns the session it
// wrote and, when the ledger refused the effects, why.
// store.ErrConflict means the session moved on: read it again.
func (e *Engine) commit(ctx context.Context, ch change) (written store.Session, refusal, err error) {
	if enc, ok := e.store.(store.TraceEncoder); ok {
		// Here, not in the store's writer, which every request waits for.
		enc.EncodeTrace(ch.session.Trace)
		for _, old := range ch.closing {
			enc.EncodeTrace(old.Trace)
		}
	}
	err = e.store.Update(ctx, func(tx store.Tx) error {
		refusal = nil // the closure may run more than once
		s := ch.session
		if err := ch.mark.check(tx, s.IssuerID, s.DeviceID); err != nil {
			return err
		}
		for _, old := range ch.closing {
			if err := tx.PutSession(old); err != nil {
				return fmt.Errorf("closing session %s: %w", old.ID, err)
			}
		}
		if len(ch.effects) > 0 {
			accountID, err := applyEffects(tx, ch.scope, ch.effects)
			switch {
			case errors.Is(err, ErrEffectRefused):
				s = ch.refused(err)
				refusal = err
			case err != nil:
				return err
			case accountID != "" && s.State == store.SessionEnded:
				// The account is named on the last response only.
				s.LastReply.CardAccountID = accountID
			}
		}
		if err := e.clearClaims(tx, s, ch.now); err != nil {
			return err
		}
		if err := tx.PutSession(s); err != nil {
			return fmt.Errorf("writing session %s: %w", s.ID, err)
		}
		written = s
		return nil
	})
	return written, refusal, err
}

// cardBusy reports whether a live session other than s holds one of the
// claims s would take.
func (e *Engine) cardBusy(ctx context.Context, s store.Session, now time.Time) (bool, error) {
	err := e.store.View(ctx, func(tx store.Tx) error { return e.checkClaims(tx, s, now, nil) })
	switch {
	case errors.Is(err, store.ErrClaimed):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("checking the card's claims: %w", err)
	}
	return false, nil
}

// clearClaims makes way for the claims open session s is about to take
// (CONTRACT.md §1.5: one open operation per card): a claim held by another
// session whose TTL passed is freed by closing that session as expired, in
// this transaction; one held by a live session fails with store.ErrClaimed.
// The store refuses a taken claim in any case; this only tells the two
// cases apart.
func (e *Engine) clearClaims(tx store.Tx, s store.Session, now time.Time) error {
	return e.checkClaims(tx, s, now, func(holder store.Session) error {
		if err := tx.PutSession(e.expire(holder, now, "expired: another device started on its card")); err != nil {
			return fmt.Errorf("closing session %s, which held the card: %w", holder.ID, err)
		}
		return nil
	})
}

// checkClaims fails with store.ErrClaimed when a live session other than s
// holds a claim of s, and calls expired for each expired one that does.
func (e *Engine) checkClaims(tx store.Tx, s store.Session, now time.Time, expired func(store.Session) error) error {
	if s.State != store.SessionOpen {
		return nil
	}
	for _, claim := range s.Claims() {
		holderID, err := tx.ClaimHolder(s.IssuerID, claim)
		switch {
		case errors.Is(err, store.ErrNotFound) || (err == nil && holderID == s.ID):
			continue
		case err != nil:
			return fmt.Errorf("reading the holder of the %s claim: %w", claim.Kind, err)
		}
		holder, err := tx.Session(holderID)
		if err != nil {
			return fmt.Errorf("reading session %s, which holds the %s claim: %w", holderID, claim.Kind, err)
		}
		if !now.After(holder.ExpiresAt) {
			return fmt.Errorf("the card's %s is in session %s: %w", claim.Kind, holderID, store.ErrClaimed)
		}
		if expired != nil {
			if err := expired(holder); err != nil {
				return err
			}
		}
	}
	return nil
}

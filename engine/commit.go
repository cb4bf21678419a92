package engine

import (
	"context"
	"errors"
	"fmt"

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
	s, err := tx.DeviceSession(issuerID, deviceID)
	found := true
	switch {
	case errors.Is(err, store.ErrNotFound):
		found = false
	case err != nil:
		return fmt.Errorf("re-reading the device's session: %w", err)
	}
	if found != m.found || (found && (s.ID != m.id || s.Revision != m.revision)) {
		return fmt.Errorf("device's session changed since it was read: %w", store.ErrConflict)
	}
	return nil
}

// change is everything one request writes, in one transaction.
type change struct {
	mark    readMark
	closing []store.Session // written first: an expired session a start closes
	session store.Session   // written last, as the device's newest

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
		if err := tx.PutSession(s); err != nil {
			return fmt.Errorf("writing session %s: %w", s.ID, err)
		}
		written = s
		return nil
	})
	return written, refusal, err
}

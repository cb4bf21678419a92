package engine

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// effectScope is what effects default to and are stamped with.
type effectScope struct {
	issuerID  string
	cardID    string // the request's card: an effect's default
	idm       string // the request's physical card, in reader mode: an effect's default
	deviceID  string
	sessionID string
	now       time.Time
	newID     func() string // ids of new accounts
}

// applyEffects applies a step's effects, in order, inside tx. It first
// applies them all to copies of the records they touch and writes only when
// every one was accepted, so that a refused effect (ErrEffectRefused) leaves
// the ledger exactly as it was. It returns the id of the account the last
// CreateAccount effect created or confirmed, for the reply.
func applyEffects(tx store.Tx, scope effectScope, effects []flow.Effect) (accountID string, err error) {
	l := &ledgerChanges{tx: tx, scope: scope, cards: map[string]*store.Card{}, purchases: map[string]*store.Purchase{}}
	for _, ef := range effects {
		if ef.Kind == flow.CreateAccount {
			accountID, err = l.createAccount(ef)
		} else {
			err = l.apply(ef)
		}
		if err != nil {
			return "", err
		}
	}
	return accountID, l.flush()
}

// ledgerChanges holds the records a step's effects changed, not yet written.
type ledgerChanges struct {
	tx    store.Tx
	scope effectScope

	cards         map[string]*store.Card
	cardOrder     []string
	purchases     map[string]*store.Purchase
	purchaseOrder []string
	accounts      []store.Account
	blacklist     []string
	attempts      int
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrEffectRefused}, args...)...)
}

func (l *ledgerChanges) apply(ef flow.Effect) error {
	switch ef.Kind {
	case flow.WriteSent:
		return l.writeSent(ef)
	case flow.PurchaseApplied:
		return l.settle(ef, store.PurchaseApplied)
	case flow.PurchasePending:
		return l.settle(ef, store.PurchasePending)
	case flow.RecordBalance:
		c, err := l.card(orDefault(ef.CardID, l.scope.cardID))
		if err != nil {
			return err
		}
		balance, counter := ef.Balance, ef.Counter
		c.LastKnownBalance, c.LastCounter = &balance, &counter
		c.UpdatedAt = l.scope.now
		return nil
	case flow.ParkSent:
		return l.parkSent(ef)
	case flow.ParkCard:
		c, err := l.card(orDefault(ef.CardID, l.scope.cardID))
		if err != nil {
			return err
		}
		balance, at := ef.Balance, l.scope.now
		c.ParkedBalance, c.ParkedAt = &balance, &at
		c.PendingPark = nil
		c.UpdatedAt = l.scope.now
		return nil
	case flow.TransferSent:
		return l.transferSent(ef)
	case flow.CountReaderModeAttempt:
		l.attempts++
		return nil
	case flow.BlacklistIDm:
		idm := orDefault(ef.IDm, l.scope.idm)
		if idm == "" {
			return refused("%s without an IDm", ef.Kind)
		}
		l.blacklist = append(l.blacklist, idm)
		return nil
	default:
		return refused("unknown effect %q", ef.Kind)
	}
}

// writeSent marks the purchase UNCERTAIN before the write leaves, so that
// any end without an answer leaves it so, with the counter to settle it by.
func (l *ledgerChanges) writeSent(ef flow.Effect) error {
	p, err := l.purchaseOfCard(ef)
	if err != nil {
		return err
	}
	if p.Status == store.PurchaseApplied {
		return refused("write sent for purchase %s, which is already applied", p.PurchaseID)
	}
	c, err := l.card(p.CardID)
	if err != nil {
		return err
	}
	// Writes carry the balance and counter they leave on the card, computed
	// from a read: one made while an earlier write may still land would
	// undo it or apply a purchase twice. Settle first, in this step or
	// before.
	if len(c.Uncertain) > 0 {
		return refused("write sent for purchase %s while the card's write for purchase %s is unsettled",
			p.PurchaseID, c.Uncertain[0])
	}
	p.Status = store.PurchaseUncertain
	p.ExpectedCounter = ef.Counter
	p.SessionID = l.scope.sessionID
	p.UpdatedAt = l.scope.now
	if !slices.Contains(c.Uncertain, p.PurchaseID) {
		c.Uncertain = append(c.Uncertain, p.PurchaseID)
	}
	return nil
}

// settle moves a purchase to APPLIED or back to PENDING; an applied
// purchase never moves again.
func (l *ledgerChanges) settle(ef flow.Effect, status store.PurchaseStatus) error {
	p, err := l.purchaseOfCard(ef)
	if err != nil {
		return err
	}
	if p.Status == store.PurchaseApplied {
		return refused("purchase %s is already applied", p.PurchaseID)
	}
	c, err := l.card(p.CardID)
	if err != nil {
		return err
	}
	p.Status = status
	p.SessionID = ""
	p.UpdatedAt = l.scope.now
	c.Uncertain = slices.DeleteFunc(c.Uncertain, func(id string) bool { return id == p.PurchaseID })
	return nil
}

// parkSent gives the card a pending park before the park write leaves, so
// that an operation ending without the answer leaves the mark: the next
// PARK completes a card that says it is parked only when the mark is there.
func (l *ledgerChanges) parkSent(ef flow.Effect) error {
	if ef.Balance < 0 || ef.Counter < 0 {
		return refused("%s with balance %d and counter %d", ef.Kind, ef.Balance, ef.Counter)
	}
	c, err := l.card(orDefault(ef.CardID, l.scope.cardID))
	if err != nil {
		return err
	}
	c.PendingPark = &store.PendingPark{Balance: ef.Balance, Counter: ef.Counter, SessionID: l.scope.sessionID}
	c.UpdatedAt = l.scope.now
	return nil
}

// transferSent keeps a pending account for the physical card before the
// transfer write leaves: a new one, or the card's pending one overwritten
// under its id.
func (l *ledgerChanges) transferSent(ef flow.Effect) error {
	idm := orDefault(ef.IDm, l.scope.idm)
	switch {
	case idm == "":
		return refused("%s without an IDm", ef.Kind)
	case ef.Balance < 0 || ef.Counter < 0:
		return refused("%s with balance %d and counter %d", ef.Kind, ef.Balance, ef.Counter)
	}
	cur, found, err := l.accountOf(idm)
	if err != nil {
		return err
	}
	if found && !cur.Pending {
		return refused("an account already holds this physical card's value")
	}
	id := l.scope.newID()
	if found {
		id = cur.CardAccountID
	}
	l.accounts = append(l.accounts, store.Account{
		IssuerID:        l.scope.issuerID,
		CardAccountID:   id,
		IDm:             idm,
		Balance:         ef.Balance,
		CreatedAt:       l.scope.now,
		SessionID:       l.scope.sessionID,
		Pending:         true,
		ExpectedCounter: ef.Counter,
	})
	return nil
}

// createAccount creates the account of a physical card, or confirms its
// pending one under the same id, and returns the account's id.
func (l *ledgerChanges) createAccount(ef flow.Effect) (string, error) {
	idm := orDefault(ef.IDm, l.scope.idm)
	switch {
	case idm == "":
		return "", refused("%s without an IDm", ef.Kind)
	case ef.Balance < 0:
		return "", refused("%s with balance %d", ef.Kind, ef.Balance)
	}
	cur, found, err := l.accountOf(idm)
	if err != nil {
		return "", err
	}
	if found {
		switch {
		case !cur.Pending:
			return "", refused("an account already holds this physical card's value")
		case cur.Balance != ef.Balance:
			return "", refused("confirming a transfer of %d yen as an account of %d yen", cur.Balance, ef.Balance)
		}
		cur.Pending, cur.ExpectedCounter, cur.SessionID = false, 0, l.scope.sessionID
		l.accounts = append(l.accounts, cur)
		return cur.CardAccountID, nil
	}
	a := store.Account{
		IssuerID:      l.scope.issuerID,
		CardAccountID: l.scope.newID(),
		IDm:           idm,
		Balance:       ef.Balance,
		CreatedAt:     l.scope.now,
		SessionID:     l.scope.sessionID,
	}
	l.accounts = append(l.accounts, a)
	return a.CardAccountID, nil
}

// accountOf is the account the IDm finds, with this step's changes.
func (l *ledgerChanges) accountOf(idm string) (store.Account, bool, error) {
	for i := len(l.accounts) - 1; i >= 0; i-- {
		if l.accounts[i].IDm == idm {
			return l.accounts[i], true, nil
		}
	}
	a, err := l.tx.AccountByIDm(l.scope.issuerID, idm)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Account{}, false, nil
	case err != nil:
		return store.Account{}, false, fmt.Errorf("looking up the account of a physical card: %w", err)
	}
	return a, true, nil
}

func (l *ledgerChanges) card(cardID string) (*store.Card, error) {
	if c, ok := l.cards[cardID]; ok {
		return c, nil
	}
	c, err := l.tx.Card(l.scope.issuerID, cardID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, refused("the card is not in the ledger")
	case err != nil:
		return nil, fmt.Errorf("reading a card: %w", err)
	}
	c.Uncertain = slices.Clone(c.Uncertain)
	l.cards[cardID] = &c
	l.cardOrder = append(l.cardOrder, cardID)
	return &c, nil
}

// purchaseOfCard finds the effect's purchase and checks that it belongs to
// the effect's card.
func (l *ledgerChanges) purchaseOfCard(ef flow.Effect) (*store.Purchase, error) {
	if ef.PurchaseID == "" {
		return nil, refused("%s without a purchase", ef.Kind)
	}
	p, ok := l.purchases[ef.PurchaseID]
	if !ok {
		stored, err := l.tx.Purchase(l.scope.issuerID, ef.PurchaseID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return nil, refused("unknown purchase %s", ef.PurchaseID)
		case err != nil:
			return nil, fmt.Errorf("reading purchase %s: %w", ef.PurchaseID, err)
		}
		p = &stored
		l.purchases[ef.PurchaseID] = p
		l.purchaseOrder = append(l.purchaseOrder, ef.PurchaseID)
	}
	if p.CardID != orDefault(ef.CardID, l.scope.cardID) {
		return nil, refused("purchase %s belongs to another card", p.PurchaseID)
	}
	return p, nil
}

// flush writes every accepted change.
func (l *ledgerChanges) flush() error {
	for _, id := range l.purchaseOrder {
		if err := l.tx.PutPurchase(*l.purchases[id]); err != nil {
			return fmt.Errorf("writing purchase %s: %w", id, err)
		}
	}
	for _, id := range l.cardOrder {
		if err := l.tx.PutCard(*l.cards[id]); err != nil {
			return fmt.Errorf("writing a card: %w", err)
		}
	}
	for _, a := range l.accounts {
		if err := l.tx.PutAccount(a); err != nil {
			return fmt.Errorf("writing account %s: %w", a.CardAccountID, err)
		}
	}
	for _, idm := range l.blacklist {
		if err := l.tx.SetBlacklisted(l.scope.issuerID, idm, true); err != nil {
			return fmt.Errorf("blacklisting a physical card: %w", err)
		}
	}
	for range l.attempts {
		if err := l.tx.AddReaderModeAttempt(l.scope.issuerID, l.scope.deviceID, l.scope.now); err != nil {
			return fmt.Errorf("counting a reader-mode attempt: %w", err)
		}
	}
	return nil
}

// describeEffects renders a step's effects for the trace.
func describeEffects(effects []flow.Effect) []string {
	if len(effects) == 0 {
		return nil
	}
	out := make([]string, len(effects))
	for i, ef := range effects {
		var b strings.Builder
		b.WriteString(string(ef.Kind))
		if ef.PurchaseID != "" {
			b.WriteString(" purchase " + ef.PurchaseID)
		}
		if ef.CardID != "" {
			b.WriteString(" card " + ef.CardID)
		}
		if ef.IDm != "" {
			b.WriteString(" idm " + ef.IDm)
		}
		switch ef.Kind {
		case flow.WriteSent:
			fmt.Fprintf(&b, " counter %d", ef.Counter)
		case flow.RecordBalance, flow.ParkSent, flow.TransferSent:
			fmt.Fprintf(&b, " balance %d counter %d", ef.Balance, ef.Counter)
		case flow.ParkCard, flow.CreateAccount:
			fmt.Fprintf(&b, " balance %d", ef.Balance)
		}
		out[i] = b.String()
	}
	return out
}

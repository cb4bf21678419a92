package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/store"
)

// Limits of admin identifiers, in characters (the wire's where they meet it).
const (
	maxAccountID   = 48
	maxProductCode = 255 // the card's product byte
)

// errPurchaseSettled: a PUT would overwrite a purchase that is no longer
// PENDING, which would reset money that moved or may have moved.
var errPurchaseSettled = errors.New("purchase is no longer PENDING")

// cardInput is the body of PUT .../cards/{cardId}.
type cardInput struct {
	Status      *store.CardStatus `json:"status"`
	ProductCode *int              `json:"productCode"`
	DeviceID    string            `json:"deviceId"`
	Expiry      string            `json:"expiry"`
}

// cardView is a ledger card as the admin API shows it.
type cardView struct {
	IssuerID         string           `json:"issuerId"`
	CardID           string           `json:"cardId"`
	Status           store.CardStatus `json:"status"`
	ProductCode      int              `json:"productCode"`
	DeviceID         string           `json:"deviceId"`
	Expiry           string           `json:"expiry"`
	LastKnownBalance *int64           `json:"lastKnownBalance"`
	ParkedBalance    *int64           `json:"parkedBalance"`
	// UncertainPurchases are purchases whose write was sent and not settled.
	UncertainPurchases []string `json:"uncertainPurchases,omitempty"`
	// PendingPark is a park write sent and not confirmed: support staff see
	// a card whose value may sit parked on the card and not yet on the
	// server; the card's next PARK settles it.
	PendingPark *pendingParkView `json:"pendingPark,omitempty"`
	UpdatedAt   time.Time        `json:"updatedAt,omitzero"`
}

// pendingParkView is the card's balance block when the park write was
// sent, and the session that sent it.
type pendingParkView struct {
	Balance   int64  `json:"balance"`
	Counter   int    `json:"counter"`
	SessionID string `json:"sessionId"`
}

func viewCard(c store.Card) cardView {
	v := cardView{
		IssuerID: c.IssuerID, CardID: c.CardID, Status: c.Status, ProductCode: c.ProductCode,
		DeviceID: c.DeviceID, Expiry: c.Expiry,
		LastKnownBalance: c.LastKnownBalance, ParkedBalance: c.ParkedBalance,
		UncertainPurchases: c.Uncertain, UpdatedAt: c.UpdatedAt,
	}
	if p := c.PendingPark; p != nil {
		v.PendingPark = &pendingParkView{Balance: p.Balance, Counter: p.Counter, SessionID: p.SessionID}
	}
	return v
}

func (in cardInput) validate() error {
	switch {
	case in.Status == nil:
		return badInput("status is required")
	case *in.Status != store.CardActive && *in.Status != store.CardBlacklisted && *in.Status != store.CardDeleted:
		return badInput("status must be ACTIVE, BLACKLISTED or DELETED")
	case in.ProductCode == nil:
		return badInput("productCode is required")
	case *in.ProductCode < 0 || *in.ProductCode > maxProductCode:
		return badInput("productCode must be 0..255")
	}
	if in.DeviceID != "" {
		if reason := checkText(in.DeviceID, 1, maxDeviceID); reason != "" {
			return badInput("deviceId: " + reason)
		}
	}
	if in.Expiry != "" {
		if d, err := time.Parse(time.DateOnly, in.Expiry); err != nil || d.Format(time.DateOnly) != in.Expiry {
			return badInput("expiry must be a date YYYY-MM-DD")
		}
	}
	return nil
}

// putCard provisions or updates a card. The balances and the purchases in
// flight are the engine's and stay as they are.
func (s *Server) putCard(c *fiber.Ctx) error {
	issuerID, cardID, err := issuerAnd(c, "cardId", maxCardID)
	if err != nil {
		return err
	}
	var in cardInput
	if err := decodeAdminBody(c, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	now, caller, reason := s.clock.Now(), callerOf(c), auditReason(c)
	var saved store.Card
	var created bool
	err = s.store.Update(c.UserContext(), func(tx store.Tx) error {
		card, err := tx.Card(issuerID, cardID)
		created = errors.Is(err, store.ErrNotFound)
		switch {
		case created:
			card = store.Card{IssuerID: issuerID, CardID: cardID}
		case err != nil:
			return err
		}
		var before any
		if !created {
			before = viewCard(card)
		}
		card.Status, card.ProductCode, card.DeviceID, card.Expiry = *in.Status, *in.ProductCode, in.DeviceID, in.Expiry
		card.UpdatedAt = now
		saved = card
		if err := tx.PutCard(card); err != nil {
			return err
		}
		return s.audit(tx, auditChange{caller: caller, action: "card.put", issuerID: issuerID, target: cardID,
			before: before, after: viewCard(card), reason: reason})
	})
	if err != nil {
		return storeError(err, "card")
	}
	return c.Status(createdOrOK(created)).JSON(viewCard(saved))
}

func (s *Server) getCard(c *fiber.Ctx) error {
	issuerID, cardID, err := issuerAnd(c, "cardId", maxCardID)
	if err != nil {
		return err
	}
	var card store.Card
	err = s.store.View(c.UserContext(), func(tx store.Tx) error {
		card, err = tx.Card(issuerID, cardID)
		return err
	})
	if err != nil {
		return storeError(err, "card")
	}
	return c.JSON(viewCard(card))
}

// purchaseInput is the body of PUT .../purchases/{purchaseId}.
type purchaseInput struct {
	CardID string              `json:"cardId"`
	Amount *int64              `json:"amount"`
	Kind   *store.PurchaseKind `json:"kind"`
}

// purchaseView is a purchase as the admin API shows it.
type purchaseView struct {
	IssuerID   string               `json:"issuerId"`
	PurchaseID string               `json:"purchaseId"`
	CardID     string               `json:"cardId"`
	Amount     int64                `json:"amount"`
	Kind       store.PurchaseKind   `json:"kind"`
	Status     store.PurchaseStatus `json:"status"`
	SessionID  string               `json:"sessionId,omitempty"`
	UpdatedAt  time.Time            `json:"updatedAt,omitzero"`
}

func viewPurchase(p store.Purchase) purchaseView {
	return purchaseView{
		IssuerID: p.IssuerID, PurchaseID: p.PurchaseID, CardID: p.CardID, Amount: p.Amount,
		Kind: p.Kind, Status: p.Status, SessionID: p.SessionID, UpdatedAt: p.UpdatedAt,
	}
}

func (in purchaseInput) validate() error {
	if reason := checkText(in.CardID, 1, maxCardID); reason != "" {
		return badInput("cardId: " + reason)
	}
	switch {
	case in.Amount == nil:
		return badInput("amount is required")
	case *in.Amount <= 0:
		return badInput("amount must be an integer > 0")
	case in.Kind == nil:
		return badInput("kind is required")
	case *in.Kind != store.PurchaseTopUp && *in.Kind != store.PurchaseRefund:
		return badInput("kind must be TOPUP or REFUND")
	}
	return nil
}

// putPurchase creates a purchase, or changes one that is still PENDING. A
// purchase that is APPLIED or UNCERTAIN is refused with 409: overwriting it
// could apply its money twice.
func (s *Server) putPurchase(c *fiber.Ctx) error {
	issuerID, purchaseID, err := issuerAnd(c, "purchaseId", maxPurchaseID)
	if err != nil {
		return err
	}
	var in purchaseInput
	if err := decodeAdminBody(c, &in); err != nil {
		return err
	}
	if err := in.validate(); err != nil {
		return err
	}
	now, caller, reason := s.clock.Now(), callerOf(c), auditReason(c)
	var saved store.Purchase
	var created bool
	err = s.store.Update(c.UserContext(), func(tx store.Tx) error {
		p, err := tx.Purchase(issuerID, purchaseID)
		created = errors.Is(err, store.ErrNotFound)
		switch {
		case created:
			p = store.Purchase{IssuerID: issuerID, PurchaseID: purchaseID, Status: store.PurchasePending}
		case err != nil:
			return err
		case p.Status != store.PurchasePending:
			saved = p
			return errPurchaseSettled
		}
		var before any
		if !created {
			before = viewPurchase(p)
		}
		p.CardID, p.Amount, p.Kind, p.UpdatedAt = in.CardID, *in.Amount, *in.Kind, now
		saved = p
		if err := tx.PutPurchase(p); err != nil {
			return err
		}
		return s.audit(tx, auditChange{caller: caller, action: "purchase.put", issuerID: issuerID, target: purchaseID,
			before: before, after: viewPurchase(p), reason: reason})
	})
	if errors.Is(err, errPurchaseSettled) {
		return fiber.NewError(http.StatusConflict, "purchase is "+string(saved.Status)+", not PENDING: it cannot be changed")
	}
	if err != nil {
		return storeError(err, "purchase")
	}
	return c.Status(createdOrOK(created)).JSON(viewPurchase(saved))
}

func (s *Server) getPurchase(c *fiber.Ctx) error {
	issuerID, purchaseID, err := issuerAnd(c, "purchaseId", maxPurchaseID)
	if err != nil {
		return err
	}
	var p store.Purchase
	err = s.store.View(c.UserContext(), func(tx store.Tx) error {
		p, err = tx.Purchase(issuerID, purchaseID)
		return err
	})
	if err != nil {
		return storeError(err, "purchase")
	}
	return c.JSON(viewPurchase(p))
}

// blacklistView says whether a physical card's IDm is blacklisted.
type blacklistView struct {
	IssuerID    string `json:"issuerId"`
	IDm         string `json:"idm"`
	Blacklisted bool   `json:"blacklisted"`
}

// setBlacklisted puts an IDm on the issuer's blacklist (on) or takes it off.
func (s *Server) setBlacklisted(on bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		issuerID, idm, err := issuerAndIDm(c)
		if err != nil {
			return err
		}
		caller, reason := callerOf(c), auditReason(c)
		err = s.store.Update(c.UserContext(), func(tx store.Tx) error {
			was, err := tx.Blacklisted(issuerID, idm)
			if err != nil {
				return err
			}
			if err := tx.SetBlacklisted(issuerID, idm, on); err != nil {
				return err
			}
			action := "blacklist.put"
			if !on {
				action = "blacklist.delete"
			}
			return s.audit(tx, auditChange{caller: caller, action: action, issuerID: issuerID, target: idm,
				before: blacklistView{IssuerID: issuerID, IDm: idm, Blacklisted: was},
				after:  blacklistView{IssuerID: issuerID, IDm: idm, Blacklisted: on}, reason: reason})
		})
		if err != nil {
			return storeError(err, "blacklist entry")
		}
		return c.JSON(blacklistView{IssuerID: issuerID, IDm: idm, Blacklisted: on})
	}
}

func (s *Server) getBlacklisted(c *fiber.Ctx) error {
	issuerID, idm, err := issuerAndIDm(c)
	if err != nil {
		return err
	}
	var on bool
	err = s.store.View(c.UserContext(), func(tx store.Tx) error {
		on, err = tx.Blacklisted(issuerID, idm)
		return err
	})
	if err != nil {
		return storeError(err, "blacklist entry")
	}
	return c.JSON(blacklistView{IssuerID: issuerID, IDm: idm, Blacklisted: on})
}

// Account statuses as the admin API shows them.
const (
	// accountActive: the account holds its balance.
	accountActive = "ACTIVE"
	// accountPending: a transfer write was sent and not confirmed; the
	// value left the card once the card shows status transferred with
	// counter expectedCounter, which the card's next reader mode settles.
	accountPending = "PENDING"
)

// accountView is a card account made in reader mode.
type accountView struct {
	IssuerID        string    `json:"issuerId"`
	CardAccountID   string    `json:"cardAccountId"`
	Status          string    `json:"status"`
	Balance         int64     `json:"balance"`
	IDm             string    `json:"idm"`
	CreatedAt       time.Time `json:"createdAt"`
	SessionID       string    `json:"sessionId,omitempty"`
	ExpectedCounter int       `json:"expectedCounter,omitempty"` // PENDING only
}

func viewAccount(a store.Account) accountView {
	v := accountView{
		IssuerID: a.IssuerID, CardAccountID: a.CardAccountID, Status: accountActive, Balance: a.Balance,
		IDm: a.IDm, CreatedAt: a.CreatedAt, SessionID: a.SessionID,
	}
	if a.Pending {
		v.Status, v.ExpectedCounter = accountPending, a.ExpectedCounter
	}
	return v
}

func (s *Server) getAccount(c *fiber.Ctx) error {
	issuerID, accountID, err := issuerAnd(c, "cardAccountId", maxAccountID)
	if err != nil {
		return err
	}
	var a store.Account
	err = s.store.View(c.UserContext(), func(tx store.Tx) error {
		a, err = tx.Account(issuerID, accountID)
		return err
	})
	if err != nil {
		return storeError(err, "account")
	}
	return c.JSON(viewAccount(a))
}

// issuerAnd reads the issuerId path parameter and one more identifier.
func issuerAnd(c *fiber.Ctx, name string, maxLen int) (issuerID, id string, err error) {
	if issuerID, err = pathID(c, "issuerId", maxIssuerID); err != nil {
		return "", "", err
	}
	if id, err = pathID(c, name, maxLen); err != nil {
		return "", "", err
	}
	return issuerID, id, nil
}

// issuerAndIDm reads issuerId and an IDm of 16 hex digits, in upper case as
// the engine looks it up.
func issuerAndIDm(c *fiber.Ctx) (issuerID, idm string, err error) {
	if issuerID, err = pathID(c, "issuerId", maxIssuerID); err != nil {
		return "", "", err
	}
	idm = c.Params("idm")
	if !isHex(idm, 16) {
		return "", "", badInput("idm must be 16 hex digits")
	}
	return issuerID, strings.ToUpper(strings.Clone(idm)), nil
}

func isHex(s string, digits int) bool {
	if len(s) != digits {
		return false
	}
	for i := range len(s) {
		switch ch := s[i]; {
		case ch >= '0' && ch <= '9', ch >= 'a' && ch <= 'f', ch >= 'A' && ch <= 'F':
		default:
			return false
		}
	}
	return true
}

func badInput(message string) error {
	return fiber.NewError(http.StatusBadRequest, message)
}

func createdOrOK(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

// The admin API's ledger bodies as a client (tsh/ seeding a test ledger)
// writes and reads them.
type (
	CardInput     = cardInput
	CardView      = cardView
	PurchaseInput = purchaseInput
	PurchaseView  = purchaseView
	BlacklistView = blacklistView
)

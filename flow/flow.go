package flow

import (
	"context"
	"errors"
	"time"
)

// Endpoint is one of the three Device Gateway operations.
type Endpoint string

// The Device Gateway endpoints (CONTRACT.md §1).
const (
	EndpointCard       Endpoint = "getCardCommands"
	EndpointPark       Endpoint = "getParkCardCommands"
	EndpointReaderMode Endpoint = "getReaderModeCommands"
)

// ErrVersionGone: a session is pinned to a script version that can no longer
// be loaded (its sources are neither in memory nor in the store).
var ErrVersionGone = errors.New("flow: pinned script version is gone")

// Registry gives the engine the issuers' flows. Safe for concurrent use.
type Registry interface {
	// Current returns the serving version of an issuer, false when no issuer
	// of that id is loaded.
	Current(issuerID string) (Issuer, bool)
	// Pinned returns the version a session started on, even after a reload
	// or a restart; ErrVersionGone when it cannot be had.
	Pinned(ctx context.Context, issuerID, version string) (Issuer, error)
}

// Issuer is one loaded version of an issuer's flows. Safe for concurrent use.
type Issuer interface {
	ID() string
	// Version is the content hash of the issuer's folder.
	Version() string
	Settings() Settings
	// Resolve names the operation a request asks for. requested may be empty:
	// then the endpoint's default applies, chosen by whether the request
	// carries a purchaseId. Aliases resolve to their canonical name. false
	// when the endpoint offers no such operation.
	Resolve(endpoint Endpoint, requested string, hasPurchase bool) (string, bool)
	// Step runs one step of an operation. An error is a fault of the flow
	// (a script error, a timeout) and ends the operation with 921.
	Step(ctx context.Context, in Input) (Result, error)
}

// Settings are an issuer's knobs that the engine needs.
type Settings struct {
	// TTL is how long a session may wait for its next call.
	TTL time.Duration
	// StepTimeout bounds one Step.
	StepTimeout time.Duration
	// WithoutLEN: frames travel without their LEN byte (iOS convention).
	WithoutLEN bool
}

// Input is everything a step may look at.
type Input struct {
	Endpoint  Endpoint
	Operation string
	// State is what the previous step returned in Result.State; nil on the
	// first step.
	State   []byte
	Request Request
	// Responses answer the previous batch in order. An empty frame means the
	// device got no answer. Empty on the first step.
	Responses [][]byte
	Ledger    Ledger
	Now       time.Time
}

// Request is what the TSH said about the operation.
type Request struct {
	IssuerID     string
	CardID       string
	PurchaseID   string
	DeviceID     string
	CardContents *CardContents // reader mode only; nil when absent
}

// CardContents describes a physical card in reader mode.
type CardContents struct {
	CardServiceID string
	SystemCode    uint16
	IDm           string // 16 upper-case hex digits
	PMm           string // 16 upper-case hex digits
	Areas         []AreaKey
}

// AreaKey is one entry of cardContents.areaCodeList.
type AreaKey struct {
	AreaCode   uint16
	KeyVersion uint16
}

// Ledger lets a step read the ledger. Lookups return found=false rather than
// an error for a missing record; an error is a store fault.
type Ledger interface {
	Card(ctx context.Context, cardID string) (Card, bool, error)
	Purchase(ctx context.Context, purchaseID string) (Purchase, bool, error)
	Blacklisted(ctx context.Context, idm string) (bool, error)
	// ReaderModeAttempts counts the device's reader-mode attempts at or after since.
	ReaderModeAttempts(ctx context.Context, deviceID string, since time.Time) (int, error)
	// AccountByIDm finds an account already created from a physical card.
	AccountByIDm(ctx context.Context, idm string) (Account, bool, error)
}

// Card is a ledger card as a flow sees it.
type Card struct {
	CardID           string
	Status           string // ACTIVE, BLACKLISTED, DELETED
	ProductCode      int
	DeviceID         string // bound device; empty: any
	Expiry           string // YYYY-MM-DD; empty: none
	LastKnownBalance *int64
	ParkedBalance    *int64
	// Uncertain lists purchases whose write was sent and never answered;
	// the flow settles them before doing anything else.
	Uncertain []Purchase
	// PendingPark is set while a park write was sent and no step saw it
	// applied; nil otherwise. A card that says it is parked while this is
	// set was parked by that write.
	PendingPark *PendingPark
}

// PendingPark is a park write sent and not confirmed: what the card held
// when it was sent.
type PendingPark struct {
	Balance int64
	Counter int
}

// Purchase is a ledger purchase as a flow sees it.
type Purchase struct {
	PurchaseID      string
	CardID          string
	Amount          int64
	Kind            string // TOPUP, REFUND
	Status          string // PENDING, APPLIED, UNCERTAIN
	ExpectedCounter int
}

// Account is a card account created in reader mode. A pending account
// records a transfer whose write was sent and not confirmed: it holds
// Balance only once the card shows status transferred with counter
// ExpectedCounter, and it is never returned as cardAccountId.
type Account struct {
	CardAccountID   string
	IDm             string
	Balance         int64
	Pending         bool
	ExpectedCounter int
}

// Result is what a step decided.
type Result struct {
	// State is handed back in the next step's Input.State.
	State []byte
	// IDm is the physical card's IDm (16 upper-case hex digits) once a
	// Polling answer named it; the engine claims the card by it
	// (CONTRACT.md §1.5). Empty while unknown.
	IDm string
	// Step names the step that ran, for the trace.
	Step string
	// Commands is the next batch, frames as the issuer's framing says. Empty
	// ends the operation with Status.
	Commands [][]byte
	Status   int
	Message  string
	// Balance is returned on the last response when set.
	Balance *int64
	// Effects are applied by the engine with the session, in order.
	Effects []Effect
	// Logs are the flow's own log lines of this step, for the trace and
	// the log.
	Logs []string
	// Vars is the flow's variables after the step, as JSON, for the
	// trace; nil when it has none.
	Vars []byte
	// Decisions explain the step (guards tried and their outcome), for the trace.
	Decisions []string
}

// StepError is a step's failure, naming the flow step that failed, for the
// trace. Its message is the wrapped error's.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// EffectKind names one change the engine knows how to make.
type EffectKind string

// The fixed vocabulary of effects.
const (
	// WriteSent: this step's batch carries a write that moves PurchaseID's
	// money; once applied the card's counter will be Counter. The purchase
	// becomes UNCERTAIN until the answer settles it.
	WriteSent EffectKind = "WRITE_SENT"
	// PurchaseApplied: the card confirmed the write, or a read showed the
	// counter reached.
	PurchaseApplied EffectKind = "PURCHASE_APPLIED"
	// PurchasePending: the card refused the write, or a read showed the
	// counter not reached; the purchase may be tried again.
	PurchasePending EffectKind = "PURCHASE_PENDING"
	// RecordBalance: the card read Balance with execution counter Counter.
	RecordBalance EffectKind = "RECORD_BALANCE"
	// ParkSent: this step's batch carries the write that parks the card,
	// which holds Balance at counter Counter. The card gets a pending park
	// until ParkCard, so that the next operation can tell a card parked by
	// this write from one parked otherwise.
	ParkSent EffectKind = "PARK_SENT"
	// ParkCard: the card is parked with Balance stored on the server; it
	// clears the pending park.
	ParkCard EffectKind = "PARK_CARD"
	// TransferSent: this step's batch carries the write that moves Balance
	// off the physical card IDm; once applied the card's counter will be
	// Counter. The engine keeps a pending account for the IDm (a new one,
	// or the pending one overwritten) until CreateAccount confirms it.
	TransferSent EffectKind = "TRANSFER_SENT"
	// CreateAccount: a physical card (IDm) was ingested with Balance; the
	// engine creates the account, or confirms the IDm's pending one (whose
	// balance must be Balance), and returns its id as cardAccountId.
	CreateAccount EffectKind = "CREATE_ACCOUNT"
	// CountReaderModeAttempt: one reader-mode attempt of the request's device.
	CountReaderModeAttempt EffectKind = "COUNT_READER_MODE_ATTEMPT"
	// BlacklistIDm: put IDm on the issuer's blacklist.
	BlacklistIDm EffectKind = "BLACKLIST_IDM"
)

// Effect is one change requested by a step. Which fields matter depends on
// Kind; CardID defaults to the request's card.
type Effect struct {
	Kind       EffectKind
	PurchaseID string
	CardID     string
	IDm        string
	Balance    int64
	Counter    int
}

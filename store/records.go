package store

import "time"

// SessionState tells whether a session can still advance.
type SessionState string

// Session states.
const (
	SessionOpen  SessionState = "OPEN"
	SessionEnded SessionState = "ENDED"
)

// EndReason says how an ended session ended; the engine answers 322 rather
// than 118 to responses for a session that ended by expiry.
type EndReason string

// End reasons.
const (
	EndCompleted     EndReason = "COMPLETED"      // the flow returned a final status (0 or not)
	EndDeviceFailure EndReason = "DEVICE_FAILURE" // the TSH reported 221, 231 or 232
	EndExpired       EndReason = "EXPIRED"        // the TTL passed since the last call
	EndIncomplete    EndReason = "INCOMPLETE"     // 323
	EndFault         EndReason = "FAULT"          // 921: a script or store fault
)

// Session is one operation of one device, from its first call to its end.
type Session struct {
	ID        string `json:"id"`
	IssuerID  string `json:"issuerId"`
	DeviceID  string `json:"deviceId"`
	ActorID   string `json:"actorId,omitempty"`
	Endpoint  string `json:"endpoint"`
	Operation string `json:"operation"`
	CardID    string `json:"cardId,omitempty"`
	// IDm is the physical card's IDm (16 upper-case hex digits) once a
	// Polling answer or cardContents named it; empty until then.
	IDm        string       `json:"idm,omitempty"`
	PurchaseID string       `json:"purchaseId,omitempty"`
	Version    string       `json:"version"` // content hash of the issuer scripts it is pinned to
	Revision   uint64       `json:"revision"`
	State      SessionState `json:"state"`
	EndReason  EndReason    `json:"endReason,omitempty"`

	CreatedAt  time.Time `json:"createdAt"`
	LastCallAt time.Time `json:"lastCallAt"`
	ExpiresAt  time.Time `json:"expiresAt"`        // LastCallAt + the issuer's TTL
	EndedAt    time.Time `json:"endedAt,omitzero"` // zero while open
	PurgeAt    time.Time `json:"purgeAt,omitzero"` // EndedAt + retention

	// FlowState is the flow's own state (step, variables), opaque to the store
	// and the engine.
	FlowState []byte `json:"flowState,omitempty"`
	// Batch is the last batch of commands sent, which the next responses
	// must answer.
	Batch []Command `json:"batch,omitempty"`
	// Steps counts the calls that advanced the session (1 after the first).
	Steps int `json:"steps"`
	// LastRequest is the fingerprint of the request that last advanced the
	// session; an identical request gets LastReply again.
	LastRequest []byte `json:"lastRequest,omitempty"`
	LastReply   Reply  `json:"lastReply"`

	// InFlight is set while a money-moving write has been sent and its
	// answer has not come back.
	InFlight *MoneyWrite `json:"inFlight,omitempty"`

	// Step is the flow step the last call ran.
	Step string `json:"step,omitempty"`
	// TraceLen counts the stored entries of the session's trace.
	TraceLen int `json:"traceLength,omitempty"`
	// Trace is, given to PutSession, the entries that write appends; it is
	// empty in a session read from the store (Tx.SessionTrace reads the
	// trace). Each call writes only what it adds, so the record every call
	// rewrites stays small however long the trace grows.
	Trace []TraceEntry `json:"trace,omitempty"`
}

// ClaimKind says what a Claim names.
type ClaimKind string

// Claim kinds.
const (
	ClaimCard ClaimKind = "card" // a ledger card id, on the card endpoints
	ClaimIDm  ClaimKind = "idm"  // a physical card's IDm
)

// Claim names one card that an open session works on; at most one open
// session of an issuer holds each claim (CONTRACT.md §1.5).
type Claim struct {
	Kind ClaimKind
	ID   string
}

// Claims are the claims s holds while it is open: its CardID and its IDm,
// those that are set.
func (s Session) Claims() []Claim {
	var cs []Claim
	if s.CardID != "" {
		cs = append(cs, Claim{ClaimCard, s.CardID})
	}
	if s.IDm != "" {
		cs = append(cs, Claim{ClaimIDm, s.IDm})
	}
	return cs
}

// SessionQuery selects sessions for SearchSessions: every non-zero field
// must match.
type SessionQuery struct {
	IssuerID   string
	DeviceID   string
	CardID     string
	IDm        string
	PurchaseID string
	Operation  string
	// StatusCode matches LastReply.StatusCode when set.
	StatusCode *int
	State      SessionState
	// From and To bound CreatedAt: From <= CreatedAt < To.
	From, To time.Time
	Limit    int
	// After is the next of the previous page; empty for the first.
	After string
}

// AuditEntry is one admin change: who made it, when, what it changed from
// what to what, and why.
type AuditEntry struct {
	Seq      uint64    `json:"seq"`
	At       time.Time `json:"at"`
	Actor    string    `json:"actor"`  // "token" or the loopback caller's address
	Action   string    `json:"action"` // e.g. "card.put", "purchase.resolve", "reload"
	IssuerID string    `json:"issuerId,omitempty"`
	Target   string    `json:"target,omitempty"` // the record's id: a card, purchase or IDm
	// Before and After are the record as JSON; null when it did not exist
	// before or no longer exists after.
	Before []byte `json:"before,omitempty"`
	After  []byte `json:"after,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// AuditQuery selects audit entries for AuditLog.
type AuditQuery struct {
	IssuerID string
	Limit    int
	After    string
}

// Command is one FeliCa command of a batch.
type Command struct {
	ID    string `json:"commandId"`
	Frame []byte `json:"frame"`
}

// Reply is what a session answered, kept for replays.
type Reply struct {
	StatusCode    int       `json:"statusCode"`
	StatusMessage string    `json:"statusMessage"`
	Commands      []Command `json:"commands,omitempty"`
	Balance       *int64    `json:"balance,omitempty"`
	CardAccountID string    `json:"cardAccountId,omitempty"`
}

// MoneyWrite is a write that moves a purchase's money, sent and not yet
// answered.
type MoneyWrite struct {
	PurchaseID      string `json:"purchaseId"`
	CardID          string `json:"cardId"`
	ExpectedCounter int    `json:"expectedCounter"`
}

// TraceEntry records one call of a session: what came in, what the flow
// decided, what went out.
type TraceEntry struct {
	At         time.Time     `json:"at"`
	Elapsed    time.Duration `json:"elapsedNs"`
	Step       string        `json:"step,omitempty"`
	Responses  []Command     `json:"responses,omitempty"` // the device's answers, ID = commandId
	DeviceCode int           `json:"deviceStatusCode,omitempty"`
	// DeviceTime is the TSH's responseTimeMs: how long the device took to
	// run the previous batch.
	DeviceTime time.Duration `json:"deviceTimeNs,omitempty"`
	Decisions  []string      `json:"decisions,omitempty"` // guards tried, with the values they read, in order
	Commands   []Command     `json:"commands,omitempty"`
	StatusCode int           `json:"statusCode"`
	Message    string        `json:"statusMessage,omitempty"`
	// Effects are the step's effects on the ledger, as the engine applied
	// them (or "refused: …").
	Effects []string `json:"effects,omitempty"`
	// Logs are the flow's log() lines of the step.
	Logs []string `json:"logs,omitempty"`
	// Vars is the flow's variables after the step, as JSON.
	Vars string `json:"vars,omitempty"`
	// Stored is the entry as the backend stores it, made before the write
	// by the backend's TraceEncoder, so that PutSession, which may run in
	// a store's one writer, stores these bytes instead of encoding the
	// entry there; nil: PutSession encodes it. An entry is not changed
	// once encoded: a different entry is a new TraceEntry.
	Stored []byte `json:"-"`
}

// CardStatus is a card's status in the ledger.
type CardStatus string

// Card statuses.
const (
	CardActive      CardStatus = "ACTIVE"
	CardBlacklisted CardStatus = "BLACKLISTED"
	CardDeleted     CardStatus = "DELETED"
)

// Card is a virtual card in the ledger.
type Card struct {
	IssuerID    string     `json:"issuerId"`
	CardID      string     `json:"cardId"`
	Status      CardStatus `json:"status"`
	ProductCode int        `json:"productCode"`
	DeviceID    string     `json:"deviceId,omitempty"` // the device the card is bound to; empty: any
	Expiry      string     `json:"expiry,omitempty"`   // YYYY-MM-DD; empty: none

	LastKnownBalance *int64 `json:"lastKnownBalance,omitempty"`
	LastCounter      *int   `json:"lastCounter,omitempty"`
	ParkedBalance    *int64 `json:"parkedBalance,omitempty"`
	// PendingPark is set while a park write was sent and not confirmed;
	// parking the card (ParkedBalance) clears it.
	PendingPark *PendingPark `json:"pendingPark,omitempty"`
	// Uncertain lists purchases of this card whose money-moving write was
	// sent and not yet answered or settled, oldest first.
	Uncertain []string   `json:"uncertain,omitempty"`
	UpdatedAt time.Time  `json:"updatedAt,omitzero"`
	ParkedAt  *time.Time `json:"parkedAt,omitempty"`
}

// PendingPark is a park write sent and not confirmed.
type PendingPark struct {
	// Balance and Counter are the card's balance block when the write was
	// sent; parking does not change them.
	Balance   int64  `json:"balance"`
	Counter   int    `json:"counter"`
	SessionID string `json:"sessionId"` // the session that sent the write
}

// PurchaseKind says which way a purchase moves money.
type PurchaseKind string

// Purchase kinds.
const (
	PurchaseTopUp  PurchaseKind = "TOPUP"
	PurchaseRefund PurchaseKind = "REFUND"
)

// PurchaseStatus is where a purchase stands (CONTRACT.md §1.6).
type PurchaseStatus string

// Purchase statuses.
const (
	PurchasePending   PurchaseStatus = "PENDING"
	PurchaseApplied   PurchaseStatus = "APPLIED"
	PurchaseUncertain PurchaseStatus = "UNCERTAIN"
)

// Purchase is a top-up or refund order.
type Purchase struct {
	IssuerID   string         `json:"issuerId"`
	PurchaseID string         `json:"purchaseId"`
	CardID     string         `json:"cardId"`
	Amount     int64          `json:"amount"`
	Kind       PurchaseKind   `json:"kind"`
	Status     PurchaseStatus `json:"status"`
	// ExpectedCounter is the card's execution counter once the purchase is
	// applied; set when the write is sent.
	ExpectedCounter int `json:"expectedCounter,omitempty"`
	// SessionID is the session that sent the write, while it is in flight
	// or uncertain.
	SessionID string    `json:"sessionId,omitempty"`
	UpdatedAt time.Time `json:"updatedAt,omitzero"`
}

// Account is a card account created in reader mode from a physical card.
//
// A pending account records a transfer whose write was sent and not
// confirmed: the value left the card once the card shows status
// transferred with counter ExpectedCounter. Confirming it makes it an
// ordinary account under the same id.
type Account struct {
	IssuerID        string    `json:"issuerId"`
	CardAccountID   string    `json:"cardAccountId"`
	IDm             string    `json:"idm"`
	Balance         int64     `json:"balance"`
	CreatedAt       time.Time `json:"createdAt"`
	SessionID       string    `json:"sessionId,omitempty"`
	Pending         bool      `json:"pending,omitempty"`
	ExpectedCounter int       `json:"expectedCounter,omitempty"`
}

// ScriptVersion is the full source of one version of an issuer's folder.
type ScriptVersion struct {
	IssuerID string            `json:"issuerId"`
	Hash     string            `json:"hash"`
	Files    map[string][]byte `json:"files"` // path relative to the issuer folder → content
	StoredAt time.Time         `json:"storedAt"`
}

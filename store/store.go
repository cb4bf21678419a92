package store

import (
	"context"
	"time"
)

// Store is a durable home for sessions, the ledger and script versions.
// All methods are safe for concurrent use. A successful Update is durable
// (on disk, fsynced) when it returns.
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction and commits if fn returns
	// nil. fn may run more than once; it must be idempotent.
	Update(ctx context.Context, fn func(Tx) error) error
	// Close releases the store. Further calls fail with ErrClosed.
	Close() error
}

// Tx is one transaction. Write methods fail in a View with ErrReadOnly. Every
// getter returns ErrNotFound (wrapped or bare) when there is no such record.
//
// Keys (issuer, device, session, card, purchase, account and hash ids, IDm)
// must be non-empty and must not contain a NUL byte; any method given such a
// key fails with ErrInvalid. A negative limit is ErrInvalid too.
type Tx interface {
	// Session returns the session with the given id.
	Session(id string) (Session, error)
	// DeviceSession returns the newest session, open or ended, of the device.
	DeviceSession(issuerID, deviceID string) (Session, error)
	// PutSession stores s if the stored revision is s.Revision-1 (absent
	// counts as 0), else ErrConflict. It makes s the device's newest session,
	// unless the device already has a different session created strictly
	// after s, and maintains the purge index from s.PurgeAt when s is ended
	// and the expiry index from s.ExpiresAt while s is open.
	//
	// s.Trace holds the entries this write adds to the session's trace:
	// they are appended after the stored ones, never rewritten, and the
	// stored TraceLen becomes the old one plus len(s.Trace) (s.TraceLen
	// is ignored).
	//
	// ErrInvalid: Revision 0, a State other than OPEN or ENDED, an ended
	// session without PurgeAt, or an IssuerID or DeviceID other than the
	// stored one.
	PutSession(s Session) error
	// SessionTrace returns the whole trace of the session, oldest entry
	// first. Reads of sessions leave Session.Trace empty: a session's trace
	// is for the people who read it, not for the requests that advance it.
	SessionTrace(id string) ([]TraceEntry, error)
	// SearchSessions lists the sessions that match every set field of q,
	// newest CreatedAt first (ties by descending id), at most q.Limit (0: no
	// limit). next is non-empty when more may follow: passing it as q.After
	// gives the next page. A malformed q.After is ErrInvalid.
	SearchSessions(q SessionQuery) (list []Session, next string, err error)
	// ClaimHolder returns the id of the open session that holds claim c of
	// the issuer; ErrNotFound when no open session does. PutSession keeps
	// claims: an open session holds every claim of s.Claims(), an ended one
	// none, and putting an open session whose claim another session holds
	// fails with ErrClaimed and writes nothing.
	ClaimHolder(issuerID string, c Claim) (string, error)
	// OpenSessionsExpiredBefore lists open sessions whose ExpiresAt is
	// before t, soonest expired first, at most limit (0: no limit).
	OpenSessionsExpiredBefore(t time.Time, limit int) ([]Session, error)
	// PurgeEnded deletes at most limit (0: no limit) ended sessions whose
	// PurgeAt is before t, oldest PurgeAt first, and returns how many it
	// deleted. A device's newest session index is dropped with it.
	PurgeEnded(t time.Time, limit int) (int, error)

	Card(issuerID, cardID string) (Card, error)
	PutCard(c Card) error

	Purchase(issuerID, purchaseID string) (Purchase, error)
	PutPurchase(p Purchase) error
	// Purchases lists an issuer's purchases with the given status (any
	// status when empty), by purchase id, at most limit (0: no limit).
	Purchases(issuerID string, status PurchaseStatus, limit int) ([]Purchase, error)

	// EachCard calls fn with every card of the issuer, by card id, and
	// stops at fn's first error, which it returns. For reports: a walk of
	// the whole ledger that keeps one card in memory at a time. fn must not
	// use the transaction.
	EachCard(issuerID string, fn func(Card) error) error

	Account(issuerID, accountID string) (Account, error)
	PutAccount(a Account) error
	// EachAccount calls fn with every card account of the issuer, pending
	// ones included, by account id, as EachCard does with cards.
	EachAccount(issuerID string, fn func(Account) error) error
	// AccountByIDm finds the account created from a physical card: the
	// last one put with that IDm.
	AccountByIDm(issuerID, idm string) (Account, error)

	Blacklisted(issuerID, idm string) (bool, error)
	// SetBlacklisted adds (on) or removes the IDm; both are idempotent.
	SetBlacklisted(issuerID, idm string, on bool) error

	// ReaderModeAttempts counts the device's attempts at or after since.
	ReaderModeAttempts(issuerID, deviceID string, since time.Time) (int, error)
	AddReaderModeAttempt(issuerID, deviceID string, at time.Time) error
	// PurgeReaderModeAttempts deletes at most limit attempts of any issuer
	// and device recorded before t (0: no limit) and returns how many.
	PurgeReaderModeAttempts(t time.Time, limit int) (int, error)

	// AppendAudit records one admin change. The store sets e.Seq, greater
	// than every earlier entry's.
	AppendAudit(e AuditEntry) error
	// AuditLog lists audit entries, newest first, only of q.IssuerID when
	// set, at most q.Limit (0: no limit); next and q.After page as in
	// SearchSessions.
	AuditLog(q AuditQuery) (list []AuditEntry, next string, err error)

	// ScriptVersion returns the sources of one version of an issuer's
	// scripts, keyed by content hash.
	ScriptVersion(issuerID, hash string) (ScriptVersion, error)
	PutScriptVersion(v ScriptVersion) error
	// DeleteScriptVersion removes a version; removing an absent one is not
	// an error.
	DeleteScriptVersion(issuerID, hash string) error
}

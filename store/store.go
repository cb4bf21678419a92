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

// Tx is one transaction. Write methods fail in a View. Every getter returns
// ErrNotFound (wrapped or bare) when there is no such record.
type Tx interface {
	// Session returns the session with the given id.
	Session(id string) (Session, error)
	// DeviceSession returns the newest session, open or ended, of the device.
	DeviceSession(issuerID, deviceID string) (Session, error)
	// PutSession stores s if the stored revision is s.Revision-1 (absent
	// counts as 0), else ErrConflict. It makes s the device's newest session
	// and maintains the purge index from s.PurgeAt when s is ended.
	PutSession(s Session) error
	// Sessions lists sessions of an issuer, newest first, optionally only of
	// one device (deviceID != ""), at most limit (0: no limit).
	Sessions(issuerID, deviceID string, limit int) ([]Session, error)
	// OpenSessionsExpiredBefore lists open sessions whose ExpiresAt is
	// before t, at most limit.
	OpenSessionsExpiredBefore(t time.Time, limit int) ([]Session, error)
	// PurgeEnded deletes at most limit ended sessions whose PurgeAt is
	// before t and returns how many it deleted. A device's newest session
	// index is dropped with it.
	PurgeEnded(t time.Time, limit int) (int, error)

	Card(issuerID, cardID string) (Card, error)
	PutCard(c Card) error

	Purchase(issuerID, purchaseID string) (Purchase, error)
	PutPurchase(p Purchase) error

	Account(issuerID, accountID string) (Account, error)
	PutAccount(a Account) error
	// AccountByIDm finds the account created from a physical card.
	AccountByIDm(issuerID, idm string) (Account, error)

	Blacklisted(issuerID, idm string) (bool, error)
	SetBlacklisted(issuerID, idm string, on bool) error

	// ReaderModeAttempts counts the device's attempts at or after since.
	ReaderModeAttempts(issuerID, deviceID string, since time.Time) (int, error)
	AddReaderModeAttempt(issuerID, deviceID string, at time.Time) error

	// ScriptVersion returns the sources of one version of an issuer's
	// scripts, keyed by content hash.
	ScriptVersion(issuerID, hash string) (ScriptVersion, error)
	PutScriptVersion(v ScriptVersion) error
	DeleteScriptVersion(issuerID, hash string) error
}

package pgstore

import (
	"fmt"
	"time"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/sessioncodec"
)

func (t *tx) Session(id string) (store.Session, error) {
	if err := t.usable("Session"); err != nil {
		return store.Session{}, err
	}
	if err := checkID("session id", id); err != nil {
		return store.Session{}, err
	}
	return t.oneSession("Session", fmt.Sprintf("session %q", id),
		"SELECT body FROM sessions WHERE id = $1", id)
}

func (t *tx) DeviceSession(issuerID, deviceID string) (store.Session, error) {
	if err := t.usable("DeviceSession"); err != nil {
		return store.Session{}, err
	}
	if err := checkIDs("issuer id", issuerID, "device id", deviceID); err != nil {
		return store.Session{}, err
	}
	if err := t.lockDevice(issuerID, deviceID); err != nil {
		return store.Session{}, err
	}
	return t.oneSession("DeviceSession", fmt.Sprintf("session of device %q of issuer %q", deviceID, issuerID),
		`SELECT s.body FROM device_sessions d JOIN sessions s ON s.id = d.session_id
		 WHERE d.issuer_id = $1 AND d.device_id = $2`, issuerID, deviceID)
}

// oneSession decodes the session a query of one row returns;
// store.ErrNotFound, named by what, when there is none.
func (t *tx) oneSession(op, what, sql string, args ...any) (store.Session, error) {
	var body []byte
	found, err := t.scanOne(op, sql, args, &body)
	if err != nil {
		return store.Session{}, err
	}
	if !found {
		return store.Session{}, fmt.Errorf("pgstore: %s: %w", what, store.ErrNotFound)
	}
	return decodeSession(body)
}

// decodeSession reads a session body without its trace, which a body of
// an earlier format holds (SessionTrace reads it).
func decodeSession(body []byte) (store.Session, error) {
	s, err := sessioncodec.Decode(body)
	if err != nil {
		return store.Session{}, fmt.Errorf("pgstore: decode session: %w", err)
	}
	s.Trace = nil
	return s, nil
}

// sessions decodes the sessions a query returns, in its order.
func (t *tx) sessions(op, sql string, args ...any) ([]store.Session, error) {
	bodies, err := t.bodies(op, sql, args...)
	if err != nil {
		return nil, err
	}
	list := make([]store.Session, 0, len(bodies))
	for _, b := range bodies {
		s, err := decodeSession(b)
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, nil
}

func validateSession(s store.Session) error {
	if err := checkIDs("session id", s.ID, "issuer id", s.IssuerID, "device id", s.DeviceID); err != nil {
		return err
	}
	for _, f := range [][2]string{{"card id", s.CardID}, {"idm", s.IDm}, {"purchase id", s.PurchaseID}, {"operation", s.Operation}} {
		if err := checkText(f[0], f[1]); err != nil {
			return err
		}
	}
	if s.Revision == 0 {
		return fmt.Errorf("pgstore: session %q has revision 0 (the first is 1): %w", s.ID, store.ErrInvalid)
	}
	switch s.State {
	case store.SessionOpen:
	case store.SessionEnded:
		if s.PurgeAt.IsZero() {
			return fmt.Errorf("pgstore: ended session %q has no PurgeAt: %w", s.ID, store.ErrInvalid)
		}
	default:
		return fmt.Errorf("pgstore: session %q has state %q: %w", s.ID, s.State, store.ErrInvalid)
	}
	for _, c := range heldClaims(s) {
		if err := checkClaim(c); err != nil {
			return err
		}
	}
	return nil
}

// storedHead is what PutSession reads of the stored session.
type storedHead struct {
	revision         uint64
	issuerID         string
	deviceID         string
	state            store.SessionState
	cardID, idm      string
	deviceNewestIsIt bool // the device's pointer names this session
}

func (h storedHead) session(id string) store.Session {
	return store.Session{ID: id, Revision: h.revision, IssuerID: h.issuerID, DeviceID: h.deviceID,
		State: h.state, CardID: h.cardID, IDm: h.idm}
}

// PutSession checks the revision, the issuer and device, and the claims
// against the stored session, then writes it with the revision in the
// UPDATE's WHERE (the compare-and-swap, also against a writer that
// committed since the check), moves its claims and points the device at
// it. The claims' primary key refuses a claim another transaction took
// meanwhile (ErrClaimed).
func (t *tx) PutSession(s store.Session) error {
	if err := t.writableFor("PutSession"); err != nil {
		return err
	}
	if err := validateSession(s); err != nil {
		return err
	}
	if err := t.lockDevice(s.IssuerID, s.DeviceID); err != nil {
		return err
	}
	var h storedHead
	var revision int64
	var state string
	var traceLen, format int32
	found, err := t.scanOne("PutSession: read the stored session",
		`SELECT s.revision, s.issuer_id, s.device_id, s.state, s.card_id, s.idm, coalesce(d.session_id = s.id, false),
		 s.trace_len, get_byte(s.body, 0)
		 FROM sessions s LEFT JOIN device_sessions d ON d.issuer_id = s.issuer_id AND d.device_id = s.device_id
		 WHERE s.id = $1`, []any{s.ID},
		&revision, &h.issuerID, &h.deviceID, &state, &h.cardID, &h.idm, &h.deviceNewestIsIt, &traceLen, &format)
	if err != nil {
		return err
	}
	h.revision, h.state = uint64(revision), store.SessionState(state)
	old := h.session(s.ID)
	if old.Revision != s.Revision-1 {
		return fmt.Errorf("pgstore: put session %q at revision %d over stored revision %d: %w",
			s.ID, s.Revision, old.Revision, store.ErrConflict)
	}
	if found && (old.IssuerID != s.IssuerID || old.DeviceID != s.DeviceID) {
		return fmt.Errorf("pgstore: session %q changes issuer or device: %w", s.ID, store.ErrInvalid)
	}
	oldClaims := heldClaims(old)
	if !found {
		oldClaims = nil
	}
	newClaims := heldClaims(s)
	taken := minus(newClaims, oldClaims)
	if err := t.checkClaims(s, taken); err != nil {
		return err
	}
	base := int(traceLen)
	if found && sessioncodec.HoldsTrace(byte(format)) {
		if base, err = t.moveLegacyTrace(s.ID); err != nil {
			return err
		}
	}
	s.TraceLen = base + len(s.Trace)
	if err := t.writeSession(s, found); err != nil {
		return err
	}
	if err := t.insertTrace(s.ID, base, s.Trace); err != nil {
		return err
	}
	if err := t.moveClaims(s, minus(oldClaims, newClaims), taken); err != nil {
		return err
	}
	if found && h.deviceNewestIsIt {
		return nil
	}
	return t.pointDeviceAt(s)
}

// writeSession inserts s (absent before) or updates it from revision
// s.Revision-1; no row written is ErrConflict: another writer got there
// first.
func (t *tx) writeSession(s store.Session, found bool) error {
	var purgeAt *time.Time
	var purgeNs *int16
	if s.State == store.SessionEnded {
		p, n := s.PurgeAt, nanos(s.PurgeAt)
		purgeAt, purgeNs = &p, &n
	}
	args := []any{s.ID, s.IssuerID, s.DeviceID, s.CardID, s.IDm, s.PurchaseID, s.Operation,
		int32(s.LastReply.StatusCode), string(s.State), s.CreatedAt, nanos(s.CreatedAt),
		s.ExpiresAt, nanos(s.ExpiresAt), purgeAt, purgeNs, int64(s.Revision), sessioncodec.Encode(nil, s, nil),
		int32(s.TraceLen)}
	var sql string
	if found {
		sql = `UPDATE sessions SET card_id = $4, idm = $5, purchase_id = $6, operation = $7, status_code = $8,
			state = $9, created_at = $10, created_ns = $11, expires_at = $12, expires_ns = $13,
			purge_at = $14, purge_ns = $15, revision = $16, body = $17, trace_len = $18
			WHERE id = $1 AND issuer_id = $2 AND device_id = $3 AND revision = $16 - 1`
	} else {
		sql = `INSERT INTO sessions (id, issuer_id, device_id, card_id, idm, purchase_id, operation, status_code,
			state, created_at, created_ns, expires_at, expires_ns, purge_at, purge_ns, revision, body, trace_len)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
			ON CONFLICT (id) DO NOTHING`
	}
	tag, err := t.exec("PutSession: write", sql, args...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: put session %q at revision %d: another writer committed first: %w",
			s.ID, s.Revision, store.ErrConflict)
	}
	return nil
}

// pointDeviceAt makes s the device's newest session unless the device has
// a different session created strictly after s.
func (t *tx) pointDeviceAt(s store.Session) error {
	_, err := t.exec("PutSession: point the device at the session",
		`INSERT INTO device_sessions AS d (issuer_id, device_id, session_id) VALUES ($1, $2, $3)
		 ON CONFLICT (issuer_id, device_id) DO UPDATE SET session_id = excluded.session_id
		 WHERE d.session_id <> excluded.session_id AND NOT EXISTS (
			SELECT 1 FROM sessions o WHERE o.id = d.session_id AND (o.created_at, o.created_ns) > ($4, $5))`,
		s.IssuerID, s.DeviceID, s.ID, s.CreatedAt, nanos(s.CreatedAt))
	return err
}

func (t *tx) OpenSessionsExpiredBefore(before time.Time, limit int) ([]store.Session, error) {
	if err := t.usable("OpenSessionsExpiredBefore"); err != nil {
		return nil, err
	}
	if err := store.CheckLimit(limit); err != nil {
		return nil, err
	}
	return t.sessions("OpenSessionsExpiredBefore",
		`SELECT body FROM sessions WHERE state = 'OPEN' AND (expires_at, expires_ns) < ($1, $2)
		 ORDER BY expires_at, expires_ns, id LIMIT $3`, before, nanos(before), limitArg(limit))
}

// PurgeEnded deletes the sessions; the foreign keys drop the device's
// pointer to a deleted session (and claims, which ended sessions do not
// hold).
func (t *tx) PurgeEnded(before time.Time, limit int) (int, error) {
	if err := t.writableFor("PurgeEnded"); err != nil {
		return 0, err
	}
	if err := store.CheckLimit(limit); err != nil {
		return 0, err
	}
	tag, err := t.exec("PurgeEnded",
		`DELETE FROM sessions WHERE id = ANY(ARRAY(
			SELECT id FROM sessions WHERE state = 'ENDED' AND (purge_at, purge_ns) < ($1, $2)
			ORDER BY purge_at, purge_ns, id LIMIT $3))`, before, nanos(before), limitArg(limit))
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

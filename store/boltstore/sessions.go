package boltstore

import (
	"bytes"
	"fmt"
	"time"

	"github.com/tes-project/tes/store"
)

// sessionIndex is one secondary index of sessions: the key s has in bucket,
// or nil when s does not belong in it. PutSession moves a session's entry
// whenever its key changes, so every index always matches the records.
type sessionIndex struct {
	bucket []byte
	key    func(s store.Session) []byte
}

var sessionIndexes = [...]sessionIndex{
	{bucketByIssuer, func(s store.Session) []byte {
		return append(appendTime(joinKey(true, s.IssuerID), s.CreatedAt), s.ID...)
	}},
	{bucketAllByCreated, func(s store.Session) []byte {
		return append(timeKey(s.CreatedAt), s.ID...)
	}},
	{bucketByDevice, func(s store.Session) []byte {
		return append(appendTime(joinKey(true, s.IssuerID, s.DeviceID), s.CreatedAt), s.ID...)
	}},
	{bucketOpenByExpiry, func(s store.Session) []byte {
		if s.State != store.SessionOpen {
			return nil
		}
		return append(timeKey(s.ExpiresAt), s.ID...)
	}},
	{bucketEndedByPurge, func(s store.Session) []byte {
		if s.State != store.SessionEnded {
			return nil
		}
		return append(timeKey(s.PurgeAt), s.ID...)
	}},
}

func (t *tx) Session(id string) (store.Session, error) {
	if err := t.usable("Session"); err != nil {
		return store.Session{}, err
	}
	if err := store.CheckKey("session id", id); err != nil {
		return store.Session{}, err
	}
	s, found, err := t.session([]byte(id))
	if err == nil && !found {
		err = fmt.Errorf("boltstore: session %q: %w", id, store.ErrNotFound)
	}
	return s, err
}

// session decodes the stored session id and reports whether there is one.
func (t *tx) session(id []byte) (store.Session, bool, error) {
	data := t.btx.Bucket(bucketSessions).Get(id)
	if data == nil {
		return store.Session{}, false, nil
	}
	s, err := decodeSession(data)
	if err != nil {
		return store.Session{}, true, fmt.Errorf("boltstore: decode session %q: %w", id, err)
	}
	return s, true, nil
}

// sessionHead decodes the head of the stored session id, if there is one.
func (t *tx) sessionHead(id []byte) (sessionHead, bool, error) {
	data := t.btx.Bucket(bucketSessions).Get(id)
	if data == nil {
		return sessionHead{}, false, nil
	}
	h, err := decodeSessionHead(data)
	if err != nil {
		return sessionHead{}, true, fmt.Errorf("boltstore: decode session %q: %w", id, err)
	}
	return h, true, nil
}

func (t *tx) DeviceSession(issuerID, deviceID string) (store.Session, error) {
	if err := t.usable("DeviceSession"); err != nil {
		return store.Session{}, err
	}
	if err := store.CheckKeys("issuer id", issuerID, "device id", deviceID); err != nil {
		return store.Session{}, err
	}
	id := t.btx.Bucket(bucketDeviceNewest).Get(joinKey(false, issuerID, deviceID))
	if id == nil {
		return store.Session{}, fmt.Errorf("boltstore: session of device %q of issuer %q: %w", deviceID, issuerID, store.ErrNotFound)
	}
	return t.indexed(bucketDeviceNewest, id)
}

// DeviceSessionHead implements store.HeadReader: the device's pointer and
// the head of the record it names, nothing more decoded.
func (t *tx) DeviceSessionHead(issuerID, deviceID string) (string, uint64, error) {
	if err := t.usable("DeviceSessionHead"); err != nil {
		return "", 0, err
	}
	if err := store.CheckKeys("issuer id", issuerID, "device id", deviceID); err != nil {
		return "", 0, err
	}
	id := t.btx.Bucket(bucketDeviceNewest).Get(joinKey(false, issuerID, deviceID))
	if id == nil {
		return "", 0, fmt.Errorf("boltstore: session of device %q of issuer %q: %w", deviceID, issuerID, store.ErrNotFound)
	}
	h, found, err := t.sessionHead(id)
	if err == nil && !found {
		err = fmt.Errorf("boltstore: %s names session %q, which does not exist", bucketDeviceNewest, id)
	}
	return string(id), h.Revision, err
}

// indexed loads the session an index entry names. A missing one is a broken
// index, not ErrNotFound.
func (t *tx) indexed(index, id []byte) (store.Session, error) {
	s, found, err := t.session(id)
	if err == nil && !found {
		err = fmt.Errorf("boltstore: %s names session %q, which does not exist", index, id)
	}
	return s, err
}

func validateSession(s store.Session) error {
	if err := store.CheckKeys("session id", s.ID, "issuer id", s.IssuerID, "device id", s.DeviceID); err != nil {
		return err
	}
	if s.Revision == 0 {
		return fmt.Errorf("boltstore: session %q has revision 0 (the first is 1): %w", s.ID, store.ErrInvalid)
	}
	switch s.State {
	case store.SessionOpen:
	case store.SessionEnded:
		if s.PurgeAt.IsZero() {
			return fmt.Errorf("boltstore: ended session %q has no PurgeAt: %w", s.ID, store.ErrInvalid)
		}
	default:
		return fmt.Errorf("boltstore: session %q has state %q: %w", s.ID, s.State, store.ErrInvalid)
	}
	return nil
}

func (t *tx) PutSession(s store.Session) error {
	if err := t.writable("PutSession"); err != nil {
		return err
	}
	if err := validateSession(s); err != nil {
		return err
	}
	head, found, err := t.sessionHead([]byte(s.ID))
	if err != nil {
		return err
	}
	old := head.Session(s.ID)
	if old.Revision != s.Revision-1 {
		return fmt.Errorf("boltstore: put session %q at revision %d over stored revision %d: %w",
			s.ID, s.Revision, old.Revision, store.ErrConflict)
	}
	if found && (old.IssuerID != s.IssuerID || old.DeviceID != s.DeviceID) {
		return fmt.Errorf("boltstore: session %q changes issuer or device: %w", s.ID, store.ErrInvalid)
	}
	if err := t.checkClaims(s); err != nil {
		return err
	}
	traceKeys, err := t.appendTrace(s.ID, head, found, s.Trace)
	if err != nil {
		return err
	}
	s.TraceLen = len(traceKeys)
	if err := t.btx.Bucket(bucketSessions).Put([]byte(s.ID), encodeSession(nil, s, traceKeys)); err != nil {
		return fmt.Errorf("boltstore: put session %q: %w", s.ID, err)
	}
	for _, ix := range sessionIndexes {
		if err := t.moveIndexEntry(ix, old, found, s); err != nil {
			return err
		}
	}
	if err := t.moveClaims(old, found, s); err != nil {
		return err
	}
	return t.pointDeviceAt(s)
}

// moveIndexEntry replaces the entry old had in ix (if found) with the one s
// has. An entry that stays as it was is not put again: a put dirties its
// page, which the commit then writes whole.
func (t *tx) moveIndexEntry(ix sessionIndex, old store.Session, found bool, s store.Session) error {
	b := t.btx.Bucket(ix.bucket)
	newKey := ix.key(s)
	if found {
		oldKey := ix.key(old)
		if bytes.Equal(oldKey, newKey) {
			return nil
		}
		if oldKey != nil {
			if err := b.Delete(oldKey); err != nil {
				return fmt.Errorf("boltstore: %s: delete entry of session %q: %w", ix.bucket, s.ID, err)
			}
		}
	}
	if newKey == nil {
		return nil
	}
	if err := b.Put(newKey, []byte{}); err != nil {
		return fmt.Errorf("boltstore: %s: put entry of session %q: %w", ix.bucket, s.ID, err)
	}
	return nil
}

// pointDeviceAt makes s the device's newest session unless the device has a
// different session created after s.
func (t *tx) pointDeviceAt(s store.Session) error {
	b := t.btx.Bucket(bucketDeviceNewest)
	key := joinKey(false, s.IssuerID, s.DeviceID)
	current := b.Get(key)
	if string(current) == s.ID {
		return nil
	}
	if current != nil {
		other, found, err := t.sessionHead(current)
		if err != nil {
			return err
		}
		if found && other.CreatedAt.After(s.CreatedAt) {
			return nil
		}
	}
	if err := b.Put(key, []byte(s.ID)); err != nil {
		return fmt.Errorf("boltstore: point device at session %q: %w", s.ID, err)
	}
	return nil
}

func (t *tx) OpenSessionsExpiredBefore(before time.Time, limit int) ([]store.Session, error) {
	if err := t.usable("OpenSessionsExpiredBefore"); err != nil {
		return nil, err
	}
	if err := store.CheckLimit(limit); err != nil {
		return nil, err
	}
	bound := timeKey(before)
	c := t.btx.Bucket(bucketOpenByExpiry).Cursor()
	var list []store.Session
	for k, _ := c.First(); k != nil && bytes.Compare(k[:timeKeyLen], bound) < 0 && (limit == 0 || len(list) < limit); k, _ = c.Next() {
		s, err := t.indexed(bucketOpenByExpiry, k[timeKeyLen:])
		if err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, nil
}

func (t *tx) PurgeEnded(before time.Time, limit int) (int, error) {
	if err := t.writable("PurgeEnded"); err != nil {
		return 0, err
	}
	if err := store.CheckLimit(limit); err != nil {
		return 0, err
	}
	// Collect first: deleting under a bbolt cursor can skip entries.
	bound := timeKey(before)
	var ids []string
	c := t.btx.Bucket(bucketEndedByPurge).Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k[:timeKeyLen], bound) < 0 && (limit == 0 || len(ids) < limit); k, _ = c.Next() {
		ids = append(ids, string(k[timeKeyLen:]))
	}
	for _, id := range ids {
		head, found, err := t.sessionHead([]byte(id))
		if err == nil && !found {
			err = fmt.Errorf("boltstore: %s names session %q, which does not exist", bucketEndedByPurge, id)
		}
		if err != nil {
			return 0, err
		}
		if err := t.deleteSession(head.Session(id), head.TraceKeys); err != nil {
			return 0, err
		}
	}
	return len(ids), nil
}

// deleteSession removes s, its trace entries (traceKeys), its index
// entries, and the device's pointer to it.
func (t *tx) deleteSession(s store.Session, traceKeys []uint64) error {
	if err := t.btx.Bucket(bucketSessions).Delete([]byte(s.ID)); err != nil {
		return fmt.Errorf("boltstore: delete session %q: %w", s.ID, err)
	}
	if err := t.deleteTrace(s.ID, traceKeys); err != nil {
		return err
	}
	for _, ix := range sessionIndexes {
		if key := ix.key(s); key != nil {
			if err := t.btx.Bucket(ix.bucket).Delete(key); err != nil {
				return fmt.Errorf("boltstore: %s: delete entry of session %q: %w", ix.bucket, s.ID, err)
			}
		}
	}
	devices := t.btx.Bucket(bucketDeviceNewest)
	key := joinKey(false, s.IssuerID, s.DeviceID)
	if string(devices.Get(key)) != s.ID {
		return nil
	}
	if err := devices.Delete(key); err != nil {
		return fmt.Errorf("boltstore: drop device pointer to session %q: %w", s.ID, err)
	}
	return nil
}

package boltstore

import (
	"bytes"
	"fmt"

	"github.com/tes-project/tes/store"
)

// SearchSessions walks the narrowest index the query allows, newest first:
// the device's sessions when the query names issuer and device, else the
// issuer's, else every session by creation time. The other fields filter
// what the walk finds, so a query that matches few sessions of a big issuer
// reads them all; the admin API, its only caller, pages and limits it.
func (t *tx) SearchSessions(q store.SessionQuery) ([]store.Session, string, error) {
	if err := t.usable("SearchSessions"); err != nil {
		return nil, "", err
	}
	after, err := store.CheckSessionQuery(q)
	if err != nil {
		return nil, "", err
	}
	bucket, prefix := bucketAllByCreated, []byte(nil)
	switch {
	case q.IssuerID != "" && q.DeviceID != "":
		bucket, prefix = bucketByDevice, joinKey(true, q.IssuerID, q.DeviceID)
	case q.IssuerID != "":
		bucket, prefix = bucketByIssuer, joinKey(true, q.IssuerID)
	}
	c := t.btx.Bucket(bucket).Cursor()
	var k []byte
	if prefix == nil {
		k, _ = c.Last()
	} else {
		// The same prefix ending with 0x01 is the first key past every key
		// that has it, so the walk starts just before it.
		past := append(bytes.Clone(prefix[:len(prefix)-1]), 1)
		if k, _ = c.Seek(past); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	}
	var list []store.Session
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		if len(k) < len(prefix)+timeKeyLen {
			return nil, "", fmt.Errorf("boltstore: %s: short key %q", bucket, k)
		}
		s, err := t.indexed(bucket, k[len(prefix)+timeKeyLen:])
		if err != nil {
			return nil, "", err
		}
		if q.After != "" && !after.Before(s.CreatedAt, s.ID) {
			continue
		}
		if !matches(q, s) {
			continue
		}
		if q.Limit > 0 && len(list) == q.Limit {
			last := list[len(list)-1]
			return list, store.Cursor{At: last.CreatedAt, ID: last.ID}.Encode(), nil
		}
		list = append(list, s)
	}
	return list, "", nil
}

// matches reports whether s has every field q sets.
func matches(q store.SessionQuery, s store.Session) bool {
	switch {
	case q.IssuerID != "" && s.IssuerID != q.IssuerID,
		q.DeviceID != "" && s.DeviceID != q.DeviceID,
		q.CardID != "" && s.CardID != q.CardID,
		q.IDm != "" && s.IDm != q.IDm,
		q.PurchaseID != "" && s.PurchaseID != q.PurchaseID,
		q.Operation != "" && s.Operation != q.Operation,
		q.StatusCode != nil && s.LastReply.StatusCode != *q.StatusCode,
		q.State != "" && s.State != q.State,
		!q.From.IsZero() && s.CreatedAt.Before(q.From),
		!q.To.IsZero() && !s.CreatedAt.Before(q.To):
		return false
	}
	return true
}

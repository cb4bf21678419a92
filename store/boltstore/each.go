package boltstore

import (
	"bytes"

	"github.com/tes-project/tes/store"
)

// EachCard and EachAccount walk the issuer's prefix of the record bucket:
// keys are issuer NUL id, so the walk is in id order.

func (t *tx) EachCard(issuerID string, fn func(store.Card) error) error {
	if err := t.usable("EachCard"); err != nil {
		return err
	}
	if err := store.CheckKey("issuer id", issuerID); err != nil {
		return err
	}
	return eachRecord(t, bucketCards, issuerID, fn)
}

func (t *tx) EachAccount(issuerID string, fn func(store.Account) error) error {
	if err := t.usable("EachAccount"); err != nil {
		return err
	}
	if err := store.CheckKey("issuer id", issuerID); err != nil {
		return err
	}
	return eachRecord(t, bucketAccounts, issuerID, fn)
}

// eachRecord decodes every record of bucket under the issuer's prefix into a
// fresh T and hands it to fn.
func eachRecord[T any](t *tx, bucket []byte, issuerID string, fn func(T) error) error {
	prefix := joinKey(true, issuerID)
	c := t.btx.Bucket(bucket).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var rec T
		if err := decodeJSON(bucket, v, &rec); err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

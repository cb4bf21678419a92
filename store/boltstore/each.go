package boltstore

import (
	"bytes"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/ledgercodec"
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
	return eachRecord(t, bucketCards, issuerID, ledgercodec.DecodeCard, fn)
}

func (t *tx) EachAccount(issuerID string, fn func(store.Account) error) error {
	if err := t.usable("EachAccount"); err != nil {
		return err
	}
	if err := store.CheckKey("issuer id", issuerID); err != nil {
		return err
	}
	return eachRecord(t, bucketAccounts, issuerID, fromJSON[store.Account], fn)
}

// eachRecord decodes every record of bucket under the issuer's prefix with
// decode and hands it to fn.
func eachRecord[T any](t *tx, bucket []byte, issuerID string, decode func([]byte) (T, error), fn func(T) error) error {
	prefix := joinKey(true, issuerID)
	c := t.btx.Bucket(bucket).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		rec, err := decodeWith(bucket, v, decode)
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

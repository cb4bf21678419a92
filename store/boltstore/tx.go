package boltstore

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/tes-project/tes/store"
)

// tx is a store.Tx over one bbolt transaction. Like the bolt.Tx it wraps, it
// belongs to the goroutine running the closure.
type tx struct {
	btx  *bolt.Tx
	done bool // set when the closure returned; every method then fails
}

var _ store.Tx = (*tx)(nil)

// usable reports why the transaction cannot serve op, if it cannot.
func (t *tx) usable(op string) error {
	if t.done {
		return fmt.Errorf("boltstore: %s: %w", op, ErrTxDone)
	}
	return nil
}

// writable reports why the transaction cannot serve the write op, if it
// cannot.
func (t *tx) writable(op string) error {
	if err := t.usable(op); err != nil {
		return err
	}
	if !t.btx.Writable() {
		return fmt.Errorf("boltstore: %s: %w", op, store.ErrReadOnly)
	}
	return nil
}

// get decodes the value at key into v and reports whether there was one.
// json.Unmarshal copies what it keeps, so v outlives the transaction.
func (t *tx) get(bucket, key []byte, v any) (bool, error) {
	data := t.btx.Bucket(bucket).Get(key)
	if data == nil {
		return false, nil
	}
	return true, decodeJSON(bucket, data, v)
}

// decodeJSON decodes a JSON record of bucket into v.
func decodeJSON(bucket, data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("boltstore: decode %s record: %w", bucket, err)
	}
	return nil
}

// put encodes v at key.
func (t *tx) put(bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("boltstore: encode %s record: %w", bucket, err)
	}
	if err := t.btx.Bucket(bucket).Put(key, data); err != nil {
		return fmt.Errorf("boltstore: put %s record: %w", bucket, err)
	}
	return nil
}

// mustGet is get for getters: absent is store.ErrNotFound, named by what.
func (t *tx) mustGet(bucket, key []byte, v any, what string) error {
	found, err := t.get(bucket, key, v)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("boltstore: %s: %w", what, store.ErrNotFound)
	}
	return nil
}

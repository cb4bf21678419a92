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

// get reads the record at key with decode and reports whether there was
// one. The decoders copy what they keep, so the record outlives the
// transaction.
func get[T any](t *tx, bucket, key []byte, decode func([]byte) (T, error)) (T, bool, error) {
	data := t.btx.Bucket(bucket).Get(key)
	if data == nil {
		var zero T
		return zero, false, nil
	}
	v, err := decodeWith(bucket, data, decode)
	return v, true, err
}

// mustGet is get for getters: absent is store.ErrNotFound, named by what.
func mustGet[T any](t *tx, bucket, key []byte, decode func([]byte) (T, error), what string) (T, error) {
	v, found, err := get(t, bucket, key, decode)
	if err == nil && !found {
		err = fmt.Errorf("boltstore: %s: %w", what, store.ErrNotFound)
	}
	return v, err
}

// decodeWith decodes a record of bucket with decode, naming the bucket in
// errors.
func decodeWith[T any](bucket, data []byte, decode func([]byte) (T, error)) (T, error) {
	v, err := decode(data)
	if err != nil {
		return v, fmt.Errorf("boltstore: decode %s record: %w", bucket, err)
	}
	return v, nil
}

// fromJSON is the decoder of the buckets whose records are JSON: all but
// sessions, cards and purchases (doc.go).
func fromJSON[T any](data []byte) (T, error) {
	var v T
	err := json.Unmarshal(data, &v)
	return v, err
}

// decodeJSON decodes a JSON record of bucket into v, for the walks that
// decode in place.
func decodeJSON[T any](bucket, data []byte, v *T) (err error) {
	*v, err = decodeWith(bucket, data, fromJSON[T])
	return err
}

// put stores data, a record of bucket in its encoded form, at key. bbolt
// keeps data until the commit: it must be fresh, not a reused buffer.
func (t *tx) put(bucket, key, data []byte) error {
	if err := t.btx.Bucket(bucket).Put(key, data); err != nil {
		return fmt.Errorf("boltstore: put %s record: %w", bucket, err)
	}
	return nil
}

// putJSON stores v at key as JSON.
func (t *tx) putJSON(bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("boltstore: encode %s record: %w", bucket, err)
	}
	return t.put(bucket, key, data)
}

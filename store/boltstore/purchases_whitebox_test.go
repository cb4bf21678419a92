package boltstore

import (
	"errors"
	"reflect"
	"testing"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/ledgercodec"
)

// A purchase's life (created, write sent, applied) puts its pointer once
// and its record in purchases.records each time; byStatus lists it while
// it is not APPLIED.
func TestPurchaseLivesInRecords(t *testing.T) {
	st := openWhitebox(t)
	p := store.Purchase{IssuerID: "i", PurchaseID: "p", CardID: "c", Amount: 500, Kind: store.PurchaseTopUp, Status: store.PurchasePending}
	var pointer []byte
	for i, status := range []store.PurchaseStatus{store.PurchasePending, store.PurchaseUncertain, store.PurchaseApplied} {
		p.Status, p.ExpectedCounter = status, i
		update(t, st, func(tx *tx) error { return tx.PutPurchase(p) })
		view(t, st, func(tx *tx) error {
			value := tx.btx.Bucket(bucketPurchases).Get([]byte("i\x00p"))
			if pointer == nil {
				pointer = append([]byte(nil), value...)
			}
			if len(value) != pointerLen || value[0] != purchasePointer || string(value) != string(pointer) {
				t.Errorf("%s: purchases holds %x, want the pointer %x it got when created", status, value, pointer)
			}
			record, err := ledgercodec.DecodePurchase(tx.btx.Bucket(bucketPurchaseRecords).Get(value[1:]))
			if err != nil || !reflect.DeepEqual(record, p) {
				t.Errorf("%s: record %+v, %v; want %+v", status, record, err, p)
			}
			listed := map[store.PurchaseStatus]bool{}
			c := tx.btx.Bucket(bucketPurchaseStatus).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				listed[store.PurchaseStatus(k[2:len(k)-2])] = true
			}
			if want := map[store.PurchaseStatus]bool{status: true}; status == store.PurchaseApplied && len(listed) > 0 ||
				status != store.PurchaseApplied && !reflect.DeepEqual(listed, want) {
				t.Errorf("%s: byStatus lists %v", status, listed)
			}
			return nil
		})
	}
}

// A file of the previous version keeps purchases' records under their ids
// and lists APPLIED ones in byStatus: they read, list by status (the stale
// APPLIED entries unread), and move to purchases.records when next put.
func TestPurchasesOfThePreviousLayout(t *testing.T) {
	st := openWhitebox(t)
	applied := store.Purchase{IssuerID: "i", PurchaseID: "a", CardID: "c", Amount: 1, Kind: store.PurchaseTopUp, Status: store.PurchaseApplied}
	pending := store.Purchase{IssuerID: "i", PurchaseID: "b", CardID: "c", Amount: 2, Kind: store.PurchaseTopUp, Status: store.PurchasePending}
	gone := store.Purchase{IssuerID: "i", PurchaseID: "z", Status: store.PurchaseApplied}
	update(t, st, func(tx *tx) error {
		for _, p := range []store.Purchase{applied, pending} {
			if err := tx.btx.Bucket(bucketPurchases).Put([]byte("i\x00"+p.PurchaseID), ledgercodec.AppendPurchase(nil, p)); err != nil {
				return err
			}
		}
		// The old layout listed every status; z's entry outlived z.
		for _, p := range []store.Purchase{applied, pending, gone} {
			if err := tx.btx.Bucket(bucketPurchaseStatus).Put(purchaseStatusKey(p), []byte{}); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, st, func(tx *tx) error {
		for status, want := range map[store.PurchaseStatus][]store.Purchase{
			store.PurchaseApplied: {applied}, store.PurchasePending: {pending}, "": {applied, pending},
		} {
			if got, err := tx.Purchases("i", status, 0); err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("purchases %q: %+v, %v; want %+v", status, got, err, want)
			}
		}
		return nil
	})
	pending.Status = store.PurchaseUncertain
	update(t, st, func(tx *tx) error { return tx.PutPurchase(pending) })
	view(t, st, func(tx *tx) error {
		if value := tx.btx.Bucket(bucketPurchases).Get([]byte("i\x00b")); len(value) != pointerLen || value[0] != purchasePointer {
			t.Errorf("b put again: purchases holds %x, want a pointer", value)
		}
		if got, err := tx.Purchase("i", "b"); err != nil || !reflect.DeepEqual(got, pending) {
			t.Errorf("b reads %+v, %v", got, err)
		}
		if got, err := tx.Purchases("i", store.PurchasePending, 0); err != nil || len(got) != 0 {
			t.Errorf("pending after b moved on: %+v, %v", got, err)
		}
		return nil
	})
}

// A damaged pointer is an error naming the bucket, never a panic.
func TestDamagedPurchasePointer(t *testing.T) {
	st := openWhitebox(t)
	update(t, st, func(tx *tx) error {
		b := tx.btx.Bucket(bucketPurchases)
		return errors.Join(b.Put([]byte("i\x00short"), []byte{purchasePointer, 1}),
			b.Put([]byte("i\x00dangling"), []byte{purchasePointer, 0, 0, 0, 0, 0, 0, 0, 9}),
			b.Put([]byte("i\x00empty"), []byte{}))
	})
	view(t, st, func(tx *tx) error {
		for _, id := range []string{"short", "dangling", "empty"} {
			if p, err := tx.Purchase("i", id); err == nil || errors.Is(err, store.ErrNotFound) || !reflect.DeepEqual(p, store.Purchase{}) {
				t.Errorf("%s: %+v, %v; want an error", id, p, err)
			}
		}
		if _, err := tx.Purchases("i", "", 0); err == nil {
			t.Error("listing over damaged pointers: no error")
		}
		return nil
	})
}

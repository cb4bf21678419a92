package boltstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/ledgercodec"
)

// Purchase ids come from the issuer's systems, in no useful order: a
// purchase kept under its id is put at a random place of the purchases
// bucket three times in its life (created, write sent, applied), and each
// put dirties a page that the commit writes whole. So a purchase's record
// lives in purchases.records under a sequence given when it is first put
// (records of purchases made about the same time share pages), and
// purchases keeps, under the id, only a pointer to it, put once.
// purchases.byStatus lists the purchases that are not APPLIED, the few
// that support staff look for; APPLIED ones, nearly all of them, are
// listed by walking purchases (see Purchases).
//
// A value of purchases is a pointer (purchasePointer, then the sequence,
// 8 bytes big-endian) or, in a file written before, the record itself
// (JSON or ledgercodec), which moves to purchases.records when next put.

// purchasePointer starts a pointer; no record starts with it (a JSON
// record starts with '{', a binary one with ledgercodec.PurchaseFormat).
const purchasePointer byte = 0xFF

// pointerLen is the length of a pointer.
const pointerLen = 1 + 8

func (t *tx) Purchase(issuerID, purchaseID string) (store.Purchase, error) {
	if err := t.usable("Purchase"); err != nil {
		return store.Purchase{}, err
	}
	if err := store.CheckKeys("issuer id", issuerID, "purchase id", purchaseID); err != nil {
		return store.Purchase{}, err
	}
	p, found, err := t.purchaseAt(t.btx.Bucket(bucketPurchases).Get(joinKey(false, issuerID, purchaseID)))
	if err == nil && !found {
		err = fmt.Errorf("boltstore: purchase %q of issuer %q: %w", purchaseID, issuerID, store.ErrNotFound)
	}
	return p, err
}

// purchaseAt decodes the purchase a value of purchases holds or points
// at; found is false for a nil value.
func (t *tx) purchaseAt(value []byte) (p store.Purchase, found bool, err error) {
	if value == nil {
		return store.Purchase{}, false, nil
	}
	data := value
	if len(value) > 0 && value[0] == purchasePointer {
		if len(value) != pointerLen {
			return store.Purchase{}, true, fmt.Errorf("boltstore: %s: a pointer of %d bytes", bucketPurchases, len(value))
		}
		if data = t.btx.Bucket(bucketPurchaseRecords).Get(value[1:]); data == nil {
			return store.Purchase{}, true, fmt.Errorf("boltstore: %s names record %d, which does not exist",
				bucketPurchases, binary.BigEndian.Uint64(value[1:]))
		}
	}
	p, err = decodeWith(bucketPurchases, data, ledgercodec.DecodePurchase)
	return p, true, err
}

func (t *tx) PutPurchase(p store.Purchase) error {
	if err := t.writable("PutPurchase"); err != nil {
		return err
	}
	if err := store.CheckKeys("issuer id", p.IssuerID, "purchase id", p.PurchaseID); err != nil {
		return err
	}
	key := joinKey(false, p.IssuerID, p.PurchaseID)
	value := t.btx.Bucket(bucketPurchases).Get(key)
	old, found, err := t.purchaseAt(value)
	if err != nil {
		return err
	}
	if err := t.movePurchaseStatus(old, found, p); err != nil {
		return err
	}
	record := ledgercodec.AppendPurchase(nil, p)
	if found && len(value) > 0 && value[0] == purchasePointer {
		// A copy: a slice of the file may move once the transaction grows
		// it.
		return t.put(bucketPurchaseRecords, slices.Clone(value[1:]), record)
	}
	records := t.btx.Bucket(bucketPurchaseRecords)
	seq, err := records.NextSequence()
	if err != nil {
		return fmt.Errorf("boltstore: %s: %w", bucketPurchaseRecords, err)
	}
	pointer := binary.BigEndian.AppendUint64(append(make([]byte, 0, pointerLen), purchasePointer), seq)
	if err := t.put(bucketPurchaseRecords, pointer[1:], record); err != nil {
		return err
	}
	return t.put(bucketPurchases, key, pointer)
}

// movePurchaseStatus keeps purchases.byStatus: p's entry in place of old's
// (found), for the statuses it lists.
func (t *tx) movePurchaseStatus(old store.Purchase, found bool, p store.Purchase) error {
	if found && old.Status == p.Status {
		return nil // a put dirties a page: an entry that stays is not put again
	}
	index := t.btx.Bucket(bucketPurchaseStatus)
	if found && listedByStatus(old.Status) {
		if err := index.Delete(purchaseStatusKey(old)); err != nil {
			return fmt.Errorf("boltstore: %s: delete entry of purchase %q: %w", bucketPurchaseStatus, p.PurchaseID, err)
		}
	}
	if !listedByStatus(p.Status) {
		return nil
	}
	if err := index.Put(purchaseStatusKey(p), []byte{}); err != nil {
		return fmt.Errorf("boltstore: %s: put entry of purchase %q: %w", bucketPurchaseStatus, p.PurchaseID, err)
	}
	return nil
}

// listedByStatus tells the statuses purchases.byStatus lists: all but
// APPLIED.
func listedByStatus(s store.PurchaseStatus) bool { return s != store.PurchaseApplied }

// purchaseStatusKey is p's entry in purchases.byStatus: issuer NUL status
// NUL purchase id.
func purchaseStatusKey(p store.Purchase) []byte {
	return joinKey(false, p.IssuerID, string(p.Status), p.PurchaseID)
}

// Purchases walks purchases.byStatus for a status it lists, else the
// issuer's purchases, by id, keeping those of the status asked (all when
// none is): APPLIED ones are nearly all, so the walk finds limit of them
// about as soon as an index would.
func (t *tx) Purchases(issuerID string, status store.PurchaseStatus, limit int) ([]store.Purchase, error) {
	if err := t.usable("Purchases"); err != nil {
		return nil, err
	}
	if err := store.CheckKey("issuer id", issuerID); err != nil {
		return nil, err
	}
	if err := store.CheckLimit(limit); err != nil {
		return nil, err
	}
	purchases := t.btx.Bucket(bucketPurchases)
	viaIndex := status != "" && listedByStatus(status)
	bucket, prefix := bucketPurchases, joinKey(true, issuerID)
	if viaIndex {
		bucket, prefix = bucketPurchaseStatus, joinKey(true, issuerID, string(status))
	}
	var list []store.Purchase
	c := t.btx.Bucket(bucket).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix) && (limit == 0 || len(list) < limit); k, v = c.Next() {
		if viaIndex {
			v = purchases.Get(joinKey(false, issuerID, string(k[len(prefix):])))
		}
		p, found, err := t.purchaseAt(v)
		if err == nil && !found {
			err = fmt.Errorf("boltstore: %s names purchase %q, which does not exist", bucket, k[len(prefix):])
		}
		if err != nil {
			return nil, err
		}
		if status == "" || p.Status == status {
			list = append(list, p)
		}
	}
	return list, nil
}

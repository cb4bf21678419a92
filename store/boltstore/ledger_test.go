package boltstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/tes-project/tes/internal/bincodec"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
	"github.com/tes-project/tes/store/internal/ledgercodec"
)

// rawFile runs fn on the bbolt file at path, as an earlier version (or a
// damaged disk) left it, with no store open.
func rawFile(t *testing.T, path string, fn func(btx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatalf("bolt.Update: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("bolt.Close: %v", err)
	}
}

// TestLedgerOfEarlierVersion: a file whose cards and purchases are JSON,
// written before purchases.byStatus existed, opens without a migration:
// every record reads, the index is filled, and a record becomes binary
// when it is next put (a purchase's, in purchases.records).
func TestLedgerOfEarlierVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tes.db")
	card := store.Card{IssuerID: "i", CardID: "c", Status: store.CardActive, ProductCode: 1,
		LastKnownBalance: new(int64(1200)), LastCounter: new(7), Uncertain: []string{"p2"}, UpdatedAt: t0}
	applied := store.Purchase{IssuerID: "i", PurchaseID: "p1", CardID: "c", Amount: 500, Kind: store.PurchaseTopUp,
		Status: store.PurchaseApplied, ExpectedCounter: 7, UpdatedAt: t0}
	uncertain := store.Purchase{IssuerID: "i", PurchaseID: "p2", CardID: "c", Amount: 100, Kind: store.PurchaseTopUp,
		Status: store.PurchaseUncertain, ExpectedCounter: 8, SessionID: "s", UpdatedAt: t0}
	rawFile(t, path, func(btx *bolt.Tx) error {
		records := map[string]map[string]any{
			"cards":     {"i\x00c": card},
			"purchases": {"i\x00p1": applied, "i\x00p2": uncertain},
			"sessions":  {},
		}
		for name, byKey := range records {
			b, err := btx.CreateBucket([]byte(name))
			if err != nil {
				return err
			}
			for key, v := range byKey {
				data, err := json.Marshal(v)
				if err != nil {
					return err
				}
				if err := b.Put([]byte(key), data); err != nil {
					return err
				}
			}
		}
		return nil
	})

	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	err = st.View(context.Background(), func(tx store.Tx) error {
		if got, err := tx.Card("i", "c"); err != nil || !reflect.DeepEqual(got, card) {
			t.Errorf("JSON card reads as %+v, %v; want %+v", got, err, card)
		}
		if got, err := tx.Purchase("i", "p1"); err != nil || !reflect.DeepEqual(got, applied) {
			t.Errorf("JSON purchase reads as %+v, %v; want %+v", got, err, applied)
		}
		if list, err := tx.Purchases("i", store.PurchaseUncertain, 0); err != nil || !reflect.DeepEqual(list, []store.Purchase{uncertain}) {
			t.Errorf("uncertain purchases of a JSON file: %+v, %v; want p2", list, err)
		}
		var walked []store.Card
		err := tx.EachCard("i", func(c store.Card) error { walked = append(walked, c); return nil })
		if err != nil || !reflect.DeepEqual(walked, []store.Card{card}) {
			t.Errorf("EachCard over JSON cards: %+v, %v", walked, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}

	card.LastKnownBalance, uncertain.Status = new(int64(1300)), store.PurchaseApplied
	err = st.Update(context.Background(), func(tx store.Tx) error {
		return errors.Join(tx.PutCard(card), tx.PutPurchase(uncertain))
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	rawFile(t, path, func(btx *bolt.Tx) error {
		for bucket, want := range map[string]map[string]byte{
			"cards":     {"i\x00c": ledgercodec.CardFormat},
			"purchases": {"i\x00p1": '{', "i\x00p2": 0xFF},
		} {
			for key, first := range want {
				if data := btx.Bucket([]byte(bucket)).Get([]byte(key)); len(data) == 0 || data[0] != first {
					t.Errorf("%s %q starts with %q, want %q", bucket, key, data[:min(1, len(data))], first)
				}
			}
		}
		// p2, put again, moved to purchases.records; purchases points at it.
		pointer := btx.Bucket([]byte("purchases")).Get([]byte("i\x00p2"))
		if record := btx.Bucket([]byte("purchases.records")).Get(pointer[1:]); len(record) == 0 || record[0] != ledgercodec.PurchaseFormat {
			t.Errorf("purchases.records holds %q at p2's pointer %x", record, pointer)
		}
		return nil
	})

	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	err = st.View(context.Background(), func(tx store.Tx) error {
		if got, err := tx.Card("i", "c"); err != nil || !reflect.DeepEqual(got, card) {
			t.Errorf("card put again reads as %+v, %v; want %+v", got, err, card)
		}
		if list, err := tx.Purchases("i", store.PurchaseApplied, 0); err != nil || !reflect.DeepEqual(list, []store.Purchase{applied, uncertain}) {
			t.Errorf("applied purchases, one JSON, one binary: %+v, %v", list, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
}

// TestCorruptLedgerRecord: a damaged card or purchase is an error naming
// its bucket, never a panic or a half-read record.
func TestCorruptLedgerRecord(t *testing.T) {
	st, path := openTemp(t)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	rawFile(t, path, func(btx *bolt.Tx) error {
		return errors.Join(
			btx.Bucket([]byte("cards")).Put([]byte("i\x00c"), []byte{ledgercodec.CardFormat, 200}),
			btx.Bucket([]byte("purchases")).Put([]byte("i\x00p"), []byte(`{"amount":"ten"}`)))
	})
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer st.Close()
	err = st.View(context.Background(), func(tx store.Tx) error {
		if c, err := tx.Card("i", "c"); !errors.Is(err, bincodec.ErrCorrupt) || !reflect.DeepEqual(c, store.Card{}) {
			t.Errorf("damaged card: %+v, %v; want a zero card and bincodec.ErrCorrupt", c, err)
		}
		if p, err := tx.Purchase("i", "p"); !errors.Is(err, bincodec.ErrCorrupt) || !reflect.DeepEqual(p, store.Purchase{}) {
			t.Errorf("damaged purchase: %+v, %v; want a zero purchase and bincodec.ErrCorrupt", p, err)
		}
		if err := tx.EachCard("i", func(store.Card) error { return nil }); !errors.Is(err, bincodec.ErrCorrupt) {
			t.Errorf("EachCard over a damaged card: %v, want bincodec.ErrCorrupt", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
}

package storetest

import (
	"errors"
	"reflect"
	"testing"

	"github.com/tes-project/tes/store"
)

// testEachCardAndAccount: the walks give every record of the issuer, none of
// another issuer (also one whose id extends it), in id order, and stop at
// fn's first error.
func testEachCardAndAccount(t *testing.T, st store.Store) {
	update(t, st, func(tx store.Tx) error {
		for _, k := range [][2]string{{"i", "c2"}, {"i", "c1"}, {"i2", "c0"}, {"j", "c3"}} {
			if err := tx.PutCard(store.Card{IssuerID: k[0], CardID: k[1], Status: store.CardActive, LastKnownBalance: ptr(int64(100))}); err != nil {
				return err
			}
		}
		for _, k := range [][3]string{{"i", "a2", "0000000000000002"}, {"i", "a1", "0000000000000001"}, {"i2", "a0", "0000000000000003"}} {
			if err := tx.PutAccount(store.Account{IssuerID: k[0], CardAccountID: k[1], IDm: k[2], Balance: 5, CreatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	stop := errors.New("stop")
	view(t, st, func(tx store.Tx) error {
		var cards, accounts []string
		if err := tx.EachCard("i", func(c store.Card) error {
			if c.LastKnownBalance == nil || *c.LastKnownBalance != 100 {
				t.Errorf("card %s reads back without its balance: %+v", c.CardID, c)
			}
			cards = append(cards, c.IssuerID+"/"+c.CardID)
			return nil
		}); err != nil {
			return err
		}
		if err := tx.EachAccount("i", func(a store.Account) error {
			accounts = append(accounts, a.IssuerID+"/"+a.CardAccountID)
			return nil
		}); err != nil {
			return err
		}
		if want := []string{"i/c1", "i/c2"}; !reflect.DeepEqual(cards, want) {
			t.Errorf("EachCard(i) = %q, want %q", cards, want)
		}
		if want := []string{"i/a1", "i/a2"}; !reflect.DeepEqual(accounts, want) {
			t.Errorf("EachAccount(i) = %q, want %q", accounts, want)
		}
		n := 0
		err := tx.EachCard("i", func(store.Card) error { n++; return stop })
		if !errors.Is(err, stop) || n != 1 {
			t.Errorf("EachCard stopped with %v after %d cards, want the fn's error after 1", err, n)
		}
		err = tx.EachAccount("none", func(store.Account) error { return stop })
		if err != nil {
			t.Errorf("EachAccount of an issuer without accounts: %v", err)
		}
		return nil
	})
}

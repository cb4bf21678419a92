package boltstore

import (
	"fmt"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/ledgercodec"
)

// Card identifiers stay out of error messages: they end up in logs, where
// they must be masked (STYLE: logs).

func (t *tx) Card(issuerID, cardID string) (store.Card, error) {
	if err := t.usable("Card"); err != nil {
		return store.Card{}, err
	}
	if err := store.CheckKeys("issuer id", issuerID, "card id", cardID); err != nil {
		return store.Card{}, err
	}
	return mustGet(t, bucketCards, joinKey(false, issuerID, cardID), ledgercodec.DecodeCard, "card of issuer "+issuerID)
}

func (t *tx) PutCard(c store.Card) error {
	if err := t.writable("PutCard"); err != nil {
		return err
	}
	if err := store.CheckKeys("issuer id", c.IssuerID, "card id", c.CardID); err != nil {
		return err
	}
	return t.put(bucketCards, joinKey(false, c.IssuerID, c.CardID), ledgercodec.AppendCard(nil, c))
}

func (t *tx) Account(issuerID, accountID string) (store.Account, error) {
	if err := t.usable("Account"); err != nil {
		return store.Account{}, err
	}
	if err := store.CheckKeys("issuer id", issuerID, "account id", accountID); err != nil {
		return store.Account{}, err
	}
	return mustGet(t, bucketAccounts, joinKey(false, issuerID, accountID), fromJSON[store.Account], "account of issuer "+issuerID)
}

// PutAccount stores a and points its IDm at it. When a moves to another
// IDm, the old IDm stops finding it (unless it already found another
// account).
func (t *tx) PutAccount(a store.Account) error {
	if err := t.writable("PutAccount"); err != nil {
		return err
	}
	if err := store.CheckKeys("issuer id", a.IssuerID, "account id", a.CardAccountID, "idm", a.IDm); err != nil {
		return err
	}
	key := joinKey(false, a.IssuerID, a.CardAccountID)
	old, found, err := get(t, bucketAccounts, key, fromJSON[store.Account])
	if err != nil {
		return err
	}
	if err := t.putJSON(bucketAccounts, key, a); err != nil {
		return err
	}
	byIDm := t.btx.Bucket(bucketAccountsByIDm)
	if found && old.IDm != a.IDm {
		oldKey := joinKey(false, a.IssuerID, old.IDm)
		if string(byIDm.Get(oldKey)) == a.CardAccountID {
			if err := byIDm.Delete(oldKey); err != nil {
				return fmt.Errorf("boltstore: drop old idm of account of issuer %q: %w", a.IssuerID, err)
			}
		}
	}
	if err := byIDm.Put(joinKey(false, a.IssuerID, a.IDm), []byte(a.CardAccountID)); err != nil {
		return fmt.Errorf("boltstore: index idm of account of issuer %q: %w", a.IssuerID, err)
	}
	return nil
}

func (t *tx) AccountByIDm(issuerID, idm string) (store.Account, error) {
	if err := t.usable("AccountByIDm"); err != nil {
		return store.Account{}, err
	}
	if err := store.CheckKeys("issuer id", issuerID, "idm", idm); err != nil {
		return store.Account{}, err
	}
	accountID := t.btx.Bucket(bucketAccountsByIDm).Get(joinKey(false, issuerID, idm))
	if accountID == nil {
		return store.Account{}, fmt.Errorf("boltstore: account by idm of issuer %q: %w", issuerID, store.ErrNotFound)
	}
	a, found, err := get(t, bucketAccounts, joinKey(false, issuerID, string(accountID)), fromJSON[store.Account])
	if err == nil && !found {
		err = fmt.Errorf("boltstore: %s names an account of issuer %q that does not exist", bucketAccountsByIDm, issuerID)
	}
	return a, err
}

func (t *tx) Blacklisted(issuerID, idm string) (bool, error) {
	if err := t.usable("Blacklisted"); err != nil {
		return false, err
	}
	if err := store.CheckKeys("issuer id", issuerID, "idm", idm); err != nil {
		return false, err
	}
	return t.btx.Bucket(bucketBlacklist).Get(joinKey(false, issuerID, idm)) != nil, nil
}

func (t *tx) SetBlacklisted(issuerID, idm string, on bool) error {
	if err := t.writable("SetBlacklisted"); err != nil {
		return err
	}
	if err := store.CheckKeys("issuer id", issuerID, "idm", idm); err != nil {
		return err
	}
	b, key := t.btx.Bucket(bucketBlacklist), joinKey(false, issuerID, idm)
	var err error
	if on {
		err = b.Put(key, []byte{})
	} else {
		err = b.Delete(key)
	}
	if err != nil {
		return fmt.Errorf("boltstore: set blacklist of issuer %q to %t: %w", issuerID, on, err)
	}
	return nil
}

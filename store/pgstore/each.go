package pgstore

import (
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tes-project/tes/store"
)

// EachCard and EachAccount stream the issuer's rows in id order on the
// primary key, one decoded record at a time; fn runs while the rows are
// open, so it must not use the transaction (store.Tx says so).

func (t *tx) EachCard(issuerID string, fn func(store.Card) error) error {
	if err := t.usable("EachCard"); err != nil {
		return err
	}
	if err := checkID("issuer id", issuerID); err != nil {
		return err
	}
	return eachBody(t, "EachCard", "SELECT body FROM cards WHERE issuer_id = $1 ORDER BY card_id", issuerID, fn)
}

func (t *tx) EachAccount(issuerID string, fn func(store.Account) error) error {
	if err := t.usable("EachAccount"); err != nil {
		return err
	}
	if err := checkID("issuer id", issuerID); err != nil {
		return err
	}
	return eachBody(t, "EachAccount", "SELECT body FROM accounts WHERE issuer_id = $1 ORDER BY account_id", issuerID, fn)
}

// eachBody runs sql and hands each row's JSON body, decoded into a fresh
// T, to fn; it stops at fn's first error and returns it.
func eachBody[T any](t *tx, op, sql, issuerID string, fn func(T) error) error {
	var fnErr error // fn's own error, returned as it is
	_, err := t.query(sql, []any{issuerID}, func(rows pgx.Rows) error {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return err
		}
		var rec T
		if err := json.Unmarshal(body, &rec); err != nil {
			fnErr = fmt.Errorf("pgstore: %s: decode: %w", op, err)
			return fnErr
		}
		if err := fn(rec); err != nil {
			fnErr = err
			return err
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("pgstore: %s: %w", op, t.note(err))
	}
	return nil
}

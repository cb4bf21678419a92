package pgstore

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/tes-project/tes/store"
)

// Ledger records are JSON in body (the bbolt backend keeps cards and
// purchases in store/internal/ledgercodec's binary form). Card identifiers
// stay out of error messages: they end up in logs, where they must be
// masked.

func encodeJSON(what string, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("pgstore: encode %s: %w", what, err)
	}
	return b, nil
}

func (t *tx) Card(issuerID, cardID string) (store.Card, error) {
	var c store.Card
	if err := t.usable("Card"); err != nil {
		return c, err
	}
	if err := checkIDs("issuer id", issuerID, "card id", cardID); err != nil {
		return c, err
	}
	found, err := t.getJSON("Card", "SELECT body FROM cards WHERE issuer_id = $1 AND card_id = $2"+t.forUpdate(),
		[]any{issuerID, cardID}, &c)
	if err == nil && !found {
		err = fmt.Errorf("pgstore: card of issuer %s: %w", issuerID, store.ErrNotFound)
	}
	return c, err
}

func (t *tx) PutCard(c store.Card) error {
	if err := t.writableFor("PutCard"); err != nil {
		return err
	}
	if err := checkIDs("issuer id", c.IssuerID, "card id", c.CardID); err != nil {
		return err
	}
	body, err := encodeJSON("card", c)
	if err != nil {
		return err
	}
	_, err = t.exec("PutCard",
		`INSERT INTO cards (issuer_id, card_id, body) VALUES ($1, $2, $3)
		 ON CONFLICT (issuer_id, card_id) DO UPDATE SET body = excluded.body`, c.IssuerID, c.CardID, body)
	return err
}

func (t *tx) Purchase(issuerID, purchaseID string) (store.Purchase, error) {
	var p store.Purchase
	if err := t.usable("Purchase"); err != nil {
		return p, err
	}
	if err := checkIDs("issuer id", issuerID, "purchase id", purchaseID); err != nil {
		return p, err
	}
	found, err := t.getJSON("Purchase", "SELECT body FROM purchases WHERE issuer_id = $1 AND purchase_id = $2"+t.forUpdate(),
		[]any{issuerID, purchaseID}, &p)
	if err == nil && !found {
		err = fmt.Errorf("pgstore: purchase %q of issuer %q: %w", purchaseID, issuerID, store.ErrNotFound)
	}
	return p, err
}

func (t *tx) PutPurchase(p store.Purchase) error {
	if err := t.writableFor("PutPurchase"); err != nil {
		return err
	}
	if err := checkIDs("issuer id", p.IssuerID, "purchase id", p.PurchaseID); err != nil {
		return err
	}
	if err := checkText("purchase status", string(p.Status)); err != nil {
		return err
	}
	body, err := encodeJSON("purchase", p)
	if err != nil {
		return err
	}
	_, err = t.exec("PutPurchase",
		`INSERT INTO purchases (issuer_id, purchase_id, status, body) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (issuer_id, purchase_id) DO UPDATE SET status = excluded.status, body = excluded.body`,
		p.IssuerID, p.PurchaseID, string(p.Status), body)
	return err
}

func (t *tx) Purchases(issuerID string, status store.PurchaseStatus, limit int) ([]store.Purchase, error) {
	if err := t.usable("Purchases"); err != nil {
		return nil, err
	}
	if err := checkID("issuer id", issuerID); err != nil {
		return nil, err
	}
	if err := store.CheckLimit(limit); err != nil {
		return nil, err
	}
	var bodies [][]byte
	var err error
	if status == "" {
		bodies, err = t.bodies("Purchases",
			"SELECT body FROM purchases WHERE issuer_id = $1 ORDER BY purchase_id LIMIT $2", issuerID, limitArg(limit))
	} else {
		if checkText("status", string(status)) != nil {
			return nil, nil
		}
		bodies, err = t.bodies("Purchases",
			"SELECT body FROM purchases WHERE issuer_id = $1 AND status = $2 ORDER BY purchase_id LIMIT $3",
			issuerID, string(status), limitArg(limit))
	}
	if err != nil {
		return nil, err
	}
	list := make([]store.Purchase, 0, len(bodies))
	for _, b := range bodies {
		var p store.Purchase
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("pgstore: Purchases: decode: %w", err)
		}
		list = append(list, p)
	}
	return list, nil
}

func (t *tx) Account(issuerID, accountID string) (store.Account, error) {
	var a store.Account
	if err := t.usable("Account"); err != nil {
		return a, err
	}
	if err := checkIDs("issuer id", issuerID, "account id", accountID); err != nil {
		return a, err
	}
	found, err := t.getJSON("Account", "SELECT body FROM accounts WHERE issuer_id = $1 AND account_id = $2"+t.forUpdate(),
		[]any{issuerID, accountID}, &a)
	if err == nil && !found {
		err = fmt.Errorf("pgstore: account of issuer %s: %w", issuerID, store.ErrNotFound)
	}
	return a, err
}

// PutAccount stores a and points its IDm at it. When a moves to another
// IDm, the old IDm stops finding it (unless it already found another
// account).
func (t *tx) PutAccount(a store.Account) error {
	if err := t.writableFor("PutAccount"); err != nil {
		return err
	}
	if err := checkIDs("issuer id", a.IssuerID, "account id", a.CardAccountID, "idm", a.IDm); err != nil {
		return err
	}
	body, err := encodeJSON("account", a)
	if err != nil {
		return err
	}
	var oldIDm string
	found, err := t.scanOne("PutAccount: read the stored account",
		"SELECT idm FROM accounts WHERE issuer_id = $1 AND account_id = $2"+t.forUpdate(), []any{a.IssuerID, a.CardAccountID}, &oldIDm)
	if err != nil {
		return err
	}
	if _, err := t.exec("PutAccount",
		`INSERT INTO accounts (issuer_id, account_id, idm, body) VALUES ($1, $2, $3, $4)
		 ON CONFLICT (issuer_id, account_id) DO UPDATE SET idm = excluded.idm, body = excluded.body`,
		a.IssuerID, a.CardAccountID, a.IDm, body); err != nil {
		return err
	}
	if found && oldIDm != a.IDm {
		if _, err := t.exec("PutAccount: drop the old idm",
			"DELETE FROM account_idms WHERE issuer_id = $1 AND idm = $2 AND account_id = $3",
			a.IssuerID, oldIDm, a.CardAccountID); err != nil {
			return err
		}
	}
	_, err = t.exec("PutAccount: index the idm",
		`INSERT INTO account_idms (issuer_id, idm, account_id) VALUES ($1, $2, $3)
		 ON CONFLICT (issuer_id, idm) DO UPDATE SET account_id = excluded.account_id`,
		a.IssuerID, a.IDm, a.CardAccountID)
	return err
}

func (t *tx) AccountByIDm(issuerID, idm string) (store.Account, error) {
	var a store.Account
	if err := t.usable("AccountByIDm"); err != nil {
		return a, err
	}
	if err := checkIDs("issuer id", issuerID, "idm", idm); err != nil {
		return a, err
	}
	found, err := t.getJSON("AccountByIDm",
		`SELECT a.body FROM account_idms x JOIN accounts a ON a.issuer_id = x.issuer_id AND a.account_id = x.account_id
		 WHERE x.issuer_id = $1 AND x.idm = $2`, []any{issuerID, idm}, &a)
	if err == nil && !found {
		err = fmt.Errorf("pgstore: account by idm of issuer %q: %w", issuerID, store.ErrNotFound)
	}
	return a, err
}

func (t *tx) Blacklisted(issuerID, idm string) (bool, error) {
	if err := t.usable("Blacklisted"); err != nil {
		return false, err
	}
	if err := checkIDs("issuer id", issuerID, "idm", idm); err != nil {
		return false, err
	}
	var one int
	return t.scanOne("Blacklisted", "SELECT 1 FROM blacklist WHERE issuer_id = $1 AND idm = $2", []any{issuerID, idm}, &one)
}

func (t *tx) SetBlacklisted(issuerID, idm string, on bool) error {
	if err := t.writableFor("SetBlacklisted"); err != nil {
		return err
	}
	if err := checkIDs("issuer id", issuerID, "idm", idm); err != nil {
		return err
	}
	sql := "INSERT INTO blacklist (issuer_id, idm) VALUES ($1, $2) ON CONFLICT DO NOTHING"
	if !on {
		sql = "DELETE FROM blacklist WHERE issuer_id = $1 AND idm = $2"
	}
	_, err := t.exec("SetBlacklisted", sql, issuerID, idm)
	return err
}

// ReaderModeAttempts counts the device's attempts from since on.
func (t *tx) ReaderModeAttempts(issuerID, deviceID string, since time.Time) (int, error) {
	if err := t.usable("ReaderModeAttempts"); err != nil {
		return 0, err
	}
	if err := checkIDs("issuer id", issuerID, "device id", deviceID); err != nil {
		return 0, err
	}
	var n int64
	_, err := t.scanOne("ReaderModeAttempts",
		`SELECT count(*) FROM reader_mode_attempts
		 WHERE issuer_id = $1 AND device_id = $2 AND (at, at_ns) >= ($3, $4)`,
		[]any{issuerID, deviceID, since, nanos(since)}, &n)
	return int(n), err
}

func (t *tx) AddReaderModeAttempt(issuerID, deviceID string, at time.Time) error {
	if err := t.writableFor("AddReaderModeAttempt"); err != nil {
		return err
	}
	if err := checkIDs("issuer id", issuerID, "device id", deviceID); err != nil {
		return err
	}
	_, err := t.exec("AddReaderModeAttempt",
		"INSERT INTO reader_mode_attempts (issuer_id, device_id, at, at_ns) VALUES ($1, $2, $3, $4)",
		issuerID, deviceID, at, nanos(at))
	return err
}

// PurgeReaderModeAttempts deletes the oldest attempts first, through the
// index by time.
func (t *tx) PurgeReaderModeAttempts(before time.Time, limit int) (int, error) {
	if err := t.writableFor("PurgeReaderModeAttempts"); err != nil {
		return 0, err
	}
	if err := store.CheckLimit(limit); err != nil {
		return 0, err
	}
	tag, err := t.exec("PurgeReaderModeAttempts",
		`DELETE FROM reader_mode_attempts WHERE id = ANY(ARRAY(
			SELECT id FROM reader_mode_attempts WHERE (at, at_ns) < ($1, $2) ORDER BY at, at_ns, id LIMIT $3))`,
		before, nanos(before), limitArg(limit))
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}

func (t *tx) ScriptVersion(issuerID, hash string) (store.ScriptVersion, error) {
	var v store.ScriptVersion
	if err := t.usable("ScriptVersion"); err != nil {
		return v, err
	}
	if err := checkIDs("issuer id", issuerID, "hash", hash); err != nil {
		return v, err
	}
	found, err := t.getJSON("ScriptVersion", "SELECT body FROM script_versions WHERE issuer_id = $1 AND hash = $2",
		[]any{issuerID, hash}, &v)
	if err == nil && !found {
		err = fmt.Errorf("pgstore: script version %q of issuer %q: %w", hash, issuerID, store.ErrNotFound)
	}
	return v, err
}

func (t *tx) PutScriptVersion(v store.ScriptVersion) error {
	if err := t.writableFor("PutScriptVersion"); err != nil {
		return err
	}
	if err := checkIDs("issuer id", v.IssuerID, "hash", v.Hash); err != nil {
		return err
	}
	body, err := encodeJSON("script version", v)
	if err != nil {
		return err
	}
	_, err = t.exec("PutScriptVersion",
		`INSERT INTO script_versions (issuer_id, hash, body) VALUES ($1, $2, $3)
		 ON CONFLICT (issuer_id, hash) DO UPDATE SET body = excluded.body`, v.IssuerID, v.Hash, body)
	return err
}

func (t *tx) DeleteScriptVersion(issuerID, hash string) error {
	if err := t.writableFor("DeleteScriptVersion"); err != nil {
		return err
	}
	if err := checkIDs("issuer id", issuerID, "hash", hash); err != nil {
		return err
	}
	_, err := t.exec("DeleteScriptVersion", "DELETE FROM script_versions WHERE issuer_id = $1 AND hash = $2", issuerID, hash)
	return err
}

// AppendAudit numbers e one past the greatest number in the log, under a
// transaction lock that appenders of every process take in turn, so the
// numbers follow the commit order.
func (t *tx) AppendAudit(e store.AuditEntry) error {
	if err := t.writableFor("AppendAudit"); err != nil {
		return err
	}
	if e.Action == "" || e.Actor == "" {
		return fmt.Errorf("pgstore: audit entry without action or actor: %w", store.ErrInvalid)
	}
	if err := checkText("issuer id", e.IssuerID); err != nil {
		return err
	}
	// One appender at a time, of every process: the next one reads the
	// greatest number after this transaction committed it.
	if _, err := t.exec("AppendAudit: take the audit lock", "SELECT pg_advisory_xact_lock($1)", lockKey("audit")); err != nil {
		return err
	}
	var seq int64
	if _, err := t.scanOne("AppendAudit: next number", "SELECT coalesce(max(seq), 0) + 1 FROM audit", nil, &seq); err != nil {
		return err
	}
	e.Seq = uint64(seq)
	body, err := encodeJSON("audit entry", e)
	if err != nil {
		return err
	}
	_, err = t.exec("AppendAudit", "INSERT INTO audit (seq, issuer_id, at, body) VALUES ($1, $2, $3, $4)",
		seq, e.IssuerID, e.At, body)
	return err
}

func (t *tx) AuditLog(q store.AuditQuery) ([]store.AuditEntry, string, error) {
	if err := t.usable("AuditLog"); err != nil {
		return nil, "", err
	}
	if err := store.CheckLimit(q.Limit); err != nil {
		return nil, "", err
	}
	if checkText("issuer id", q.IssuerID) != nil {
		return []store.AuditEntry{}, "", nil
	}
	var w where
	if q.IssuerID != "" {
		w.add("issuer_id = $", q.IssuerID)
	}
	if q.After != "" {
		cur, err := store.ParseCursor(q.After)
		if err != nil {
			return nil, "", err
		}
		seq, err := parseSeq(cur.ID)
		if err != nil {
			return nil, "", err
		}
		w.add("seq < $", seq)
	}
	sql := "SELECT body FROM audit"
	if len(w.conds) > 0 {
		sql += " WHERE " + joinAnd(w.conds)
	}
	sql += " ORDER BY seq DESC"
	if q.Limit > 0 {
		w.args = append(w.args, int64(q.Limit)+1)
		sql += fmt.Sprintf(" LIMIT $%d", len(w.args))
	}
	bodies, err := t.bodies("AuditLog", sql, w.args...)
	if err != nil {
		return nil, "", err
	}
	list := make([]store.AuditEntry, 0, len(bodies))
	for _, b := range bodies {
		var e store.AuditEntry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, "", fmt.Errorf("pgstore: AuditLog: decode: %w", err)
		}
		list = append(list, e)
	}
	if q.Limit > 0 && len(list) > q.Limit {
		list = list[:q.Limit]
		last := list[len(list)-1]
		return list, store.Cursor{At: last.At, ID: fmt.Sprint(last.Seq)}.Encode(), nil
	}
	return list, "", nil
}

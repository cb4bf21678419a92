package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tes-project/tes/store"
)

// tx is a store.Tx over one PostgreSQL transaction on one pooled
// connection. It belongs to the goroutine running the closure; every
// statement takes the context of the View or Update that made it.
//
// The transaction begins with its first statement: BEGIN and that
// statement travel in one round trip (a pgx batch), so a transaction costs
// one round trip more than its statements (the COMMIT), and a closure that
// runs none costs nothing.
type tx struct {
	ctx      context.Context
	conn     *pgx.Conn
	beginSQL string // BEGIN with the isolation level and access mode
	begun    bool   // BEGIN was sent: the transaction must be ended
	writable bool
	done     bool  // set when the closure returned; every method then fails
	failed   error // the first statement that failed: the transaction is aborted
	// devices holds the keys of the device locks this transaction took.
	devices map[int64]bool
}

// query runs one statement and calls each for every row it returns; the
// transaction's first statement goes with its BEGIN.
func (t *tx) query(sql string, args []any, each func(pgx.Rows) error) (pgconn.CommandTag, error) {
	var rows pgx.Rows
	var batch pgx.BatchResults
	var err error
	if t.begun {
		rows, err = t.conn.Query(t.ctx, sql, args...)
	} else {
		t.begun = true
		b := &pgx.Batch{}
		b.Queue(t.beginSQL)
		b.Queue(sql, args...)
		batch = t.conn.SendBatch(t.ctx, b)
		if _, err = batch.Exec(); err == nil {
			rows, err = batch.Query()
		}
	}
	if err == nil {
		for rows.Next() {
			if err = each(rows); err != nil {
				break
			}
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	var tag pgconn.CommandTag
	if rows != nil {
		tag = rows.CommandTag()
	}
	if batch != nil {
		if closeErr := batch.Close(); err == nil {
			err = closeErr
		}
	}
	return tag, err
}

// end commits (or rolls back) the transaction, if it began.
func (t *tx) end(commit bool) error {
	if !t.begun {
		return nil
	}
	if !commit {
		// A rollback that fails leaves a connection the pool discards
		// (it is not idle); the transaction's own error is the one to
		// report.
		_, _ = t.conn.Exec(context.WithoutCancel(t.ctx), "rollback")
		return nil
	}
	tag, err := t.conn.Exec(t.ctx, "commit")
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return errors.New("the server rolled the transaction back")
	}
	return nil
}

// forUpdate is the locking clause of a read by key: in an Update the row
// read stays locked until the commit, so a concurrent writer of the same
// record waits and then reads what this one wrote (no lost update); a
// View locks nothing.
func (t *tx) forUpdate() string {
	if t.writable {
		return " FOR UPDATE"
	}
	return ""
}

// lockDevice takes, in an Update, the transaction lock of the device: the
// writers of a device's sessions, in every process, take it before they
// read the device's newest session, so that of two transactions starting
// the device's operation the second reads what the first committed. A
// device lock is held until the transaction ends; taking it again is free.
func (t *tx) lockDevice(issuerID, deviceID string) error {
	if !t.writable {
		return nil
	}
	key := lockKey("device\x00" + issuerID + "\x00" + deviceID)
	if t.devices[key] {
		return nil
	}
	if _, err := t.exec("lock the device", "SELECT pg_advisory_xact_lock($1)", key); err != nil {
		return err
	}
	if t.devices == nil {
		t.devices = map[int64]bool{}
	}
	t.devices[key] = true
	return nil
}

var (
	_ store.Tx     = (*tx)(nil)
	_ store.Locker = (*tx)(nil)
)

// usable reports why the transaction cannot serve op, if it cannot.
func (t *tx) usable(op string) error {
	if t.done {
		return fmt.Errorf("pgstore: %s: %w", op, ErrTxDone)
	}
	if t.failed != nil {
		return fmt.Errorf("pgstore: %s: an earlier statement failed, the transaction is aborted: %w", op, t.failed)
	}
	return nil
}

// writableFor reports why the transaction cannot serve the write op, if
// it cannot.
func (t *tx) writableFor(op string) error {
	if err := t.usable(op); err != nil {
		return err
	}
	if !t.writable {
		return fmt.Errorf("pgstore: %s: %w", op, store.ErrReadOnly)
	}
	return nil
}

// note remembers the first database error of the transaction.
func (t *tx) note(err error) error {
	if err != nil && t.failed == nil && !errors.Is(err, pgx.ErrNoRows) {
		t.failed = err
	}
	return err
}

func (t *tx) exec(op, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.query(sql, args, func(pgx.Rows) error { return nil })
	if err != nil {
		return tag, fmt.Errorf("pgstore: %s: %w", op, t.note(err))
	}
	return tag, nil
}

// scanOne runs a query of one row into dest and reports whether there
// was a row.
func (t *tx) scanOne(op, sql string, args []any, dest ...any) (bool, error) {
	found := false
	_, err := t.query(sql, args, func(rows pgx.Rows) error {
		if found {
			return nil
		}
		found = true
		return rows.Scan(dest...)
	})
	if err != nil {
		return false, fmt.Errorf("pgstore: %s: %w", op, t.note(err))
	}
	return found, nil
}

// bodies runs a query whose rows are one bytea each and returns them.
func (t *tx) bodies(op, sql string, args ...any) ([][]byte, error) {
	var list [][]byte
	_, err := t.query(sql, args, func(rows pgx.Rows) error {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		list = append(list, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: %s: %w", op, t.note(err))
	}
	return list, nil
}

// getJSON decodes the body a query of one row returns into v and reports
// whether there was one.
func (t *tx) getJSON(op, sql string, args []any, v any) (bool, error) {
	var body []byte
	found, err := t.scanOne(op, sql, args, &body)
	if err != nil || !found {
		return found, err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return true, fmt.Errorf("pgstore: %s: decode: %w", op, err)
	}
	return true, nil
}

// TryLock takes the transaction-scoped advisory lock named name, without
// waiting (store.Locker).
func (t *tx) TryLock(name string) (bool, error) {
	if err := t.usable("TryLock"); err != nil {
		return false, err
	}
	var got bool
	if _, err := t.scanOne("TryLock", "SELECT pg_try_advisory_xact_lock($1)", []any{lockKey(name)}, &got); err != nil {
		return false, err
	}
	return got, nil
}

// lockKey is the advisory lock key of a lock name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tes/pgstore/lock\x00" + name))
	return int64(h.Sum64())
}

// checkID validates one key: the store's rules (store.CheckKey), and
// valid UTF-8, which a PostgreSQL text requires.
func checkID(field, id string) error {
	if err := store.CheckKey(field, id); err != nil {
		return err
	}
	return checkText(field, id)
}

// checkText validates a string a text column keeps: without NUL, valid
// UTF-8.
func checkText(field, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("pgstore: %s contains a NUL byte: %w", field, store.ErrInvalid)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("pgstore: %s is not valid UTF-8: %w", field, store.ErrInvalid)
	}
	return nil
}

// checkIDs validates field/id pairs in order and returns the first failure.
func checkIDs(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkID(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// limitArg is a LIMIT parameter: NULL (no limit) for 0.
func limitArg(limit int) any {
	if limit == 0 {
		return nil
	}
	return int64(limit)
}

// nanos is what a timestamptz drops of t: the nanoseconds below the
// microsecond, stored beside it so that (at, at_ns) orders as t does.
// pgx sends t truncated to the microsecond.
func nanos(t time.Time) int16 { return int16(t.Nanosecond() % 1000) }

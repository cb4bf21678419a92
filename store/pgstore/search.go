package pgstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tes-project/tes/store"
)

// SearchSessions builds one query of the fields q sets, newest first. The
// planner walks the narrowest index that fits (device, card, IDm, issuer,
// or every session by creation time) backwards and filters the rest, as
// the bbolt backend does; the admin API, its only caller, pages and limits
// it. It asks for one row past the limit to know whether a next page
// exists.
func (t *tx) SearchSessions(q store.SessionQuery) ([]store.Session, string, error) {
	if err := t.usable("SearchSessions"); err != nil {
		return nil, "", err
	}
	after, err := store.CheckSessionQuery(q)
	if err != nil {
		return nil, "", err
	}
	var w where
	for _, f := range []struct {
		column, value string
	}{
		{"issuer_id", q.IssuerID}, {"device_id", q.DeviceID}, {"card_id", q.CardID}, {"idm", q.IDm},
		{"purchase_id", q.PurchaseID}, {"operation", q.Operation}, {"state", string(q.State)},
	} {
		if f.value == "" {
			continue
		}
		if checkText(f.column, f.value) != nil {
			// No stored session has such a value (bbolt would find none).
			return []store.Session{}, "", nil
		}
		w.add(f.column+" = $", f.value)
	}
	if q.StatusCode != nil {
		w.add("status_code = $", int64(*q.StatusCode))
	}
	if !q.From.IsZero() {
		w.add2("(created_at, created_ns) >= ($, $)", q.From, nanos(q.From))
	}
	if !q.To.IsZero() {
		w.add2("(created_at, created_ns) < ($, $)", q.To, nanos(q.To))
	}
	if q.After != "" {
		w.args = append(w.args, after.At, nanos(after.At), after.ID)
		n := len(w.args)
		w.conds = append(w.conds, fmt.Sprintf("(created_at, created_ns, id) < ($%d, $%d, $%d)", n-2, n-1, n))
	}
	sql := "SELECT body FROM sessions"
	if len(w.conds) > 0 {
		sql += " WHERE " + joinAnd(w.conds)
	}
	sql += " ORDER BY created_at DESC, created_ns DESC, id DESC"
	if q.Limit > 0 {
		w.args = append(w.args, int64(q.Limit)+1)
		sql += " LIMIT $" + strconv.Itoa(len(w.args))
	}
	list, err := t.sessions("SearchSessions", sql, w.args...)
	if err != nil {
		return nil, "", err
	}
	if q.Limit > 0 && len(list) > q.Limit {
		list = list[:q.Limit]
		last := list[len(list)-1]
		return list, store.Cursor{At: last.CreatedAt, ID: last.ID}.Encode(), nil
	}
	return list, "", nil
}

// where collects the conditions of a query and their parameters.
type where struct {
	conds []string
	args  []any
}

// add appends cond, whose one "$" is the next parameter, with its value.
func (w *where) add(cond string, v any) {
	w.args = append(w.args, v)
	w.conds = append(w.conds, cond+strconv.Itoa(len(w.args)))
}

// add2 appends cond, whose two "$" are the next two parameters, with a
// time and its nanoseconds.
func (w *where) add2(cond string, at time.Time, ns int16) {
	w.args = append(w.args, at, ns)
	n := len(w.args)
	cond = strings.Replace(cond, "$", "$"+strconv.Itoa(n-1), 1)
	cond = strings.Replace(cond, ", $)", ", $"+strconv.Itoa(n)+")", 1)
	w.conds = append(w.conds, cond)
}

// parseSeq reads an audit cursor's id.
func parseSeq(id string) (int64, error) {
	seq, err := strconv.ParseInt(id, 10, 64)
	if err != nil || seq < 0 {
		return 0, fmt.Errorf("pgstore: audit cursor: %w", store.ErrInvalid)
	}
	return seq, nil
}

func joinAnd(conds []string) string { return strings.Join(conds, " AND ") }

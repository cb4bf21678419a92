package pgstore_test

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/sessioncodec"
	"github.com/tes-project/tes/store/pgstore/pgtest"
)

// A session body of format 2 (written before migration 0002) holds its
// trace. It reads, trace and all; the next PutSession moves that trace into
// session_trace, appends after it, and writes the body in the current
// format.
func TestLegacyTraceMovesOutOnWrite(t *testing.T) {
	legacy, err := os.ReadFile("../internal/sessioncodec/testdata/format2.bin")
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.Schema(t)
	st := open(t, url)
	defer st.Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// The fixture's session: s1 of device-1 of DEMO, revision 3, open.
	t0 := time.Date(2031, 4, 5, 6, 7, 8, 123456789, time.UTC)
	if _, err := conn.Exec(ctx, `INSERT INTO sessions (id, issuer_id, device_id, card_id, idm, purchase_id, operation,
		status_code, state, created_at, created_ns, expires_at, expires_ns, revision, body)
		VALUES ('s1', 'DEMO', 'device-1', '', '', '', 'ISSUE', 0, 'OPEN', $1, 789, $1, 789, 3, $2)`, t0, legacy); err != nil {
		t.Fatal(err)
	}

	var old store.Session
	var before []store.TraceEntry
	if err := st.View(ctx, func(tx store.Tx) error {
		if old, err = tx.Session("s1"); err != nil {
			return err
		}
		before, err = tx.SessionTrace("s1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if old.Trace != nil || old.TraceLen != 4 || len(before) != 4 {
		t.Fatalf("legacy session holds %d entries, counts %d, trace of %d; want none, 4, 4", len(old.Trace), old.TraceLen, len(before))
	}

	next := old
	next.Revision++
	added := store.TraceEntry{At: t0.Add(time.Minute), Step: "done", Message: "OK"}
	next.Trace = []store.TraceEntry{added}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.PutSession(next) }); err != nil {
		t.Fatal(err)
	}
	var after []store.TraceEntry
	var got store.Session
	if err := st.View(ctx, func(tx store.Tx) error {
		if got, err = tx.Session("s1"); err != nil {
			return err
		}
		after, err = tx.SessionTrace("s1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := append(before, added); got.TraceLen != 5 || !reflect.DeepEqual(after, want) {
		t.Errorf("after the write: counts %d, trace\n%+v\nwant 5 and\n%+v", got.TraceLen, after, want)
	}
	var format, rows int
	if err := conn.QueryRow(ctx, `SELECT get_byte(body, 0), (SELECT count(*) FROM session_trace WHERE session_id = 's1')
		FROM sessions WHERE id = 's1'`).Scan(&format, &rows); err != nil || format != int(sessioncodec.Format) || rows != 5 {
		t.Errorf("body format %d, %d trace rows, %v; want %d and 5", format, rows, err, sessioncodec.Format)
	}
}

// A session body of format 3 (written by the previous version) keeps its
// trace in session_trace already: the next PutSession appends after it and
// moves nothing, and entries of either form read.
func TestFormat3SessionTakesTheNextEntry(t *testing.T) {
	body, err := os.ReadFile("../internal/sessioncodec/testdata/format3.bin")
	if err != nil {
		t.Fatal(err)
	}
	entry, err := os.ReadFile("../internal/sessioncodec/testdata/entry3.bin")
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.Schema(t)
	st := open(t, url)
	defer st.Close()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// The fixture's session: s1 of device-1 of DEMO, revision 3, ended,
	// three trace entries.
	t0 := time.Date(2031, 4, 5, 6, 7, 8, 123456789, time.UTC)
	if _, err := conn.Exec(ctx, `INSERT INTO sessions (id, issuer_id, device_id, card_id, idm, purchase_id, operation,
		status_code, state, created_at, created_ns, expires_at, expires_ns, purge_at, purge_ns, revision, body, trace_len)
		VALUES ('s1', 'DEMO', 'device-1', 'card-0001', '012E4C7A11223344', 'purchase-42', 'ISSUE', 0, 'ENDED', $1, 789, $1, 789, $1, 789, 3, $2, 3)`,
		t0, body); err != nil {
		t.Fatal(err)
	}
	for seq := range 3 {
		if _, err := conn.Exec(ctx, `INSERT INTO session_trace (session_id, seq, entry) VALUES ('s1', $1, $2)`, seq, entry); err != nil {
			t.Fatal(err)
		}
	}
	var old store.Session
	if err := st.View(ctx, func(tx store.Tx) error { old, err = tx.Session("s1"); return err }); err != nil {
		t.Fatal(err)
	}
	next := old
	next.Revision++
	added := store.TraceEntry{At: t0.Add(time.Hour), Step: "after", Message: "OK"}
	next.Trace = []store.TraceEntry{added}
	if err := st.Update(ctx, func(tx store.Tx) error { return tx.PutSession(next) }); err != nil {
		t.Fatal(err)
	}
	var got store.Session
	var trace []store.TraceEntry
	if err := st.View(ctx, func(tx store.Tx) error {
		if got, err = tx.Session("s1"); err != nil {
			return err
		}
		trace, err = tx.SessionTrace("s1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got.TraceLen != 4 || len(trace) != 4 || !reflect.DeepEqual(trace[3], added) || trace[0].Step != "poll" {
		t.Errorf("after the write: counts %d, trace %+v; want 4, three of the fixture's and the new one", got.TraceLen, trace)
	}
	var format, rows int
	if err := conn.QueryRow(ctx, `SELECT get_byte(body, 0), (SELECT count(*) FROM session_trace WHERE session_id = 's1')
		FROM sessions WHERE id = 's1'`).Scan(&format, &rows); err != nil || format != int(sessioncodec.Format) || rows != 4 {
		t.Errorf("body format %d, %d trace rows, %v; want %d and 4", format, rows, err, sessioncodec.Format)
	}
}

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
	"github.com/tes-project/tes/store/pgstore"
	"github.com/tes-project/tes/store/pgstore/pgtest"
)

// fixtureT0 is the creation time of the sessioncodec fixtures' session s1.
var fixtureT0 = time.Date(2031, 4, 5, 6, 7, 8, 123456789, time.UTC)

// A session body of format 2 (written before migration 0002) holds its
// trace. It reads, trace and all; the next PutSession moves that trace into
// session_trace, appends after it, and writes the body in the current
// format.
func TestLegacyTraceMovesOutOnWrite(t *testing.T) {
	st, conn := storeAndConn(t)
	// The fixture's session: s1 of device-1 of DEMO, revision 3, open.
	if _, err := conn.Exec(context.Background(), `INSERT INTO sessions (id, issuer_id, device_id, card_id, idm, purchase_id, operation,
		status_code, state, created_at, created_ns, expires_at, expires_ns, revision, body)
		VALUES ('s1', 'DEMO', 'device-1', '', '', '', 'ISSUE', 0, 'OPEN', $1, 789, $1, 789, 3, $2)`,
		fixtureT0, fixture(t, "format2.bin")); err != nil {
		t.Fatal(err)
	}
	old, before := sessionAndTrace(t, st)
	if old.Trace != nil || old.TraceLen != 4 || len(before) != 4 {
		t.Fatalf("legacy session holds %d entries, counts %d, trace of %d; want none, 4, 4", len(old.Trace), old.TraceLen, len(before))
	}
	added := putNextEntry(t, st, old)
	got, after := sessionAndTrace(t, st)
	if want := append(before, added); got.TraceLen != 5 || !reflect.DeepEqual(after, want) {
		t.Errorf("after the write: counts %d, trace\n%+v\nwant 5 and\n%+v", got.TraceLen, after, want)
	}
	wantStored(t, conn, 5)
}

// A session body of format 3 (written by the previous version) keeps its
// trace in session_trace already: the next PutSession appends after it and
// moves nothing, and entries of either form read.
func TestFormat3SessionTakesTheNextEntry(t *testing.T) {
	st, conn := storeAndConn(t)
	ctx := context.Background()
	// The fixture's session: s1 of device-1 of DEMO, revision 3, ended,
	// three trace entries.
	if _, err := conn.Exec(ctx, `INSERT INTO sessions (id, issuer_id, device_id, card_id, idm, purchase_id, operation,
		status_code, state, created_at, created_ns, expires_at, expires_ns, purge_at, purge_ns, revision, body, trace_len)
		VALUES ('s1', 'DEMO', 'device-1', 'card-0001', '012E4C7A11223344', 'purchase-42', 'ISSUE', 0, 'ENDED', $1, 789, $1, 789, $1, 789, 3, $2, 3)`,
		fixtureT0, fixture(t, "format3.bin")); err != nil {
		t.Fatal(err)
	}
	entry := fixture(t, "entry3.bin")
	for seq := range 3 {
		if _, err := conn.Exec(ctx, `INSERT INTO session_trace (session_id, seq, entry) VALUES ('s1', $1, $2)`, seq, entry); err != nil {
			t.Fatal(err)
		}
	}
	old, _ := sessionAndTrace(t, st)
	added := putNextEntry(t, st, old)
	got, trace := sessionAndTrace(t, st)
	if got.TraceLen != 4 || len(trace) != 4 || !reflect.DeepEqual(trace[3], added) || trace[0].Step != "poll" {
		t.Errorf("after the write: counts %d, trace %+v; want 4, three of the fixture's and the new one", got.TraceLen, trace)
	}
	wantStored(t, conn, 4)
}

// storeAndConn opens a store on a fresh schema, and a connection of its own
// to the same schema for what the store's API cannot do.
func storeAndConn(t *testing.T) (*pgstore.Store, *pgx.Conn) {
	t.Helper()
	url := pgtest.Schema(t)
	st := open(t, url)
	t.Cleanup(func() { _ = st.Close() })
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return st, conn
}

// fixture is a file of sessioncodec's testdata, written by an earlier
// version.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("../internal/sessioncodec/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sessionAndTrace reads session s1 and its trace.
func sessionAndTrace(t *testing.T, st *pgstore.Store) (s store.Session, trace []store.TraceEntry) {
	t.Helper()
	err := st.View(context.Background(), func(tx store.Tx) error {
		var err error
		if s, err = tx.Session("s1"); err != nil {
			return err
		}
		trace, err = tx.SessionTrace("s1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, trace
}

// putNextEntry writes old at its next revision with one trace entry, and
// returns the entry.
func putNextEntry(t *testing.T, st *pgstore.Store, old store.Session) store.TraceEntry {
	t.Helper()
	next := old
	next.Revision++
	added := store.TraceEntry{At: fixtureT0.Add(time.Hour), Step: "after", Message: "OK"}
	next.Trace = []store.TraceEntry{added}
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSession(next) }); err != nil {
		t.Fatal(err)
	}
	return added
}

// wantStored checks that s1's body is of the current format and that it
// has rows trace rows.
func wantStored(t *testing.T, conn *pgx.Conn, rows int) {
	t.Helper()
	var format, got int
	if err := conn.QueryRow(context.Background(), `SELECT get_byte(body, 0),
		(SELECT count(*) FROM session_trace WHERE session_id = 's1') FROM sessions WHERE id = 's1'`).Scan(&format, &got); err != nil ||
		format != int(sessioncodec.Format) || got != rows {
		t.Errorf("body format %d, %d trace rows, %v; want %d and %d", format, got, err, sessioncodec.Format, rows)
	}
}

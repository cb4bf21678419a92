package pgstore

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/internal/sessioncodec"
)

// A session's trace entries are rows of session_trace, (session_id, seq),
// inserted as each call commits after the session's row (whose key they
// reference); sessions.trace_len counts them.

// insertTrace inserts entries as the trace of session id from seq first.
func (t *tx) insertTrace(id string, first int, entries []store.TraceEntry) error {
	for i, e := range entries {
		if _, err := t.exec("PutSession: append a trace entry",
			`INSERT INTO session_trace (session_id, seq, entry) VALUES ($1, $2, $3)`,
			id, int32(first+i), sessioncodec.EncodeEntry(nil, e)); err != nil {
			return err
		}
	}
	return nil
}

// moveLegacyTrace moves the trace a body of an earlier format holds into
// session_trace and returns its length, before the body is written again
// in the current format, which holds none.
func (t *tx) moveLegacyTrace(id string) (int, error) {
	var body []byte
	if _, err := t.scanOne("PutSession: read a body of an earlier format",
		"SELECT body FROM sessions WHERE id = $1", []any{id}, &body); err != nil {
		return 0, err
	}
	old, err := sessioncodec.Decode(body)
	if err != nil {
		return 0, fmt.Errorf("pgstore: decode session %q: %w", id, err)
	}
	return len(old.Trace), t.insertTrace(id, 0, old.Trace)
}

func (t *tx) SessionTrace(id string) ([]store.TraceEntry, error) {
	if err := t.usable("SessionTrace"); err != nil {
		return nil, err
	}
	if err := checkID("session id", id); err != nil {
		return nil, err
	}
	var body []byte
	var traceLen int32
	found, err := t.scanOne("SessionTrace", "SELECT body, trace_len FROM sessions WHERE id = $1", []any{id}, &body, &traceLen)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("pgstore: trace of session %q: %w", id, store.ErrNotFound)
	}
	if len(body) > 0 && body[0] != sessioncodec.Format {
		s, err := sessioncodec.Decode(body)
		if err != nil {
			return nil, fmt.Errorf("pgstore: decode session %q: %w", id, err)
		}
		return s.Trace, nil
	}
	trace := make([]store.TraceEntry, 0, traceLen)
	_, err = t.query("SELECT entry FROM session_trace WHERE session_id = $1 ORDER BY seq", []any{id},
		func(rows pgx.Rows) error {
			var raw []byte
			if err := rows.Scan(&raw); err != nil {
				return err
			}
			e, err := sessioncodec.DecodeEntry(raw)
			if err != nil {
				return fmt.Errorf("decode trace entry %d of session %q: %w", len(trace), id, err)
			}
			trace = append(trace, e)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("pgstore: SessionTrace: %w", t.note(err))
	}
	if len(trace) != int(traceLen) {
		return nil, fmt.Errorf("pgstore: session %q counts %d trace entries, session_trace holds %d", id, traceLen, len(trace))
	}
	return trace, nil
}

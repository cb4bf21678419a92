-- 0002: a session's trace entries are rows of their own, appended as each
-- call commits, so a call rewrites a small session body and never the trace
-- before it. trace_len counts them; a body written before this migration
-- (sessioncodec format 2) still holds its trace, which PutSession moves
-- here when it next writes the session.

CREATE TABLE session_trace (
    session_id text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq        integer NOT NULL,
    entry      bytea NOT NULL,
    PRIMARY KEY (session_id, seq)
);

ALTER TABLE sessions ADD COLUMN trace_len integer NOT NULL DEFAULT 0;

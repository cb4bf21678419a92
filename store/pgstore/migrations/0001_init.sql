-- 0001: the first schema. Ids are text COLLATE "C", so that they sort by
-- their bytes as bbolt's keys do. Times that queries compare or order by
-- are two columns: a timestamptz (microseconds, readable in psql) and the
-- nanoseconds it drops (0..999), compared as a row: (at, at_ns) < ($1, $2).
-- Records are kept whole in body (bytea): sessions in the binary form of
-- store/internal/sessioncodec, the others as JSON; the other columns are
-- copies of the fields the queries select on.

CREATE TABLE sessions (
    id          text COLLATE "C" PRIMARY KEY,
    issuer_id   text COLLATE "C" NOT NULL,
    device_id   text COLLATE "C" NOT NULL,
    card_id     text COLLATE "C" NOT NULL,
    idm         text COLLATE "C" NOT NULL,
    purchase_id text COLLATE "C" NOT NULL,
    operation   text COLLATE "C" NOT NULL,
    status_code integer NOT NULL,
    state       text NOT NULL CHECK (state IN ('OPEN', 'ENDED')),
    created_at  timestamptz NOT NULL,
    created_ns  smallint NOT NULL,
    expires_at  timestamptz NOT NULL,
    expires_ns  smallint NOT NULL,
    purge_at    timestamptz,
    purge_ns    smallint,
    revision    bigint NOT NULL,
    body        bytea NOT NULL,
    CHECK (state = 'OPEN' OR (purge_at IS NOT NULL AND purge_ns IS NOT NULL))
);
-- Listings, newest first (scanned backwards).
CREATE INDEX sessions_by_issuer ON sessions (issuer_id, created_at, created_ns, id);
CREATE INDEX sessions_by_device ON sessions (issuer_id, device_id, created_at, created_ns, id);
CREATE INDEX sessions_by_created ON sessions (created_at, created_ns, id);
CREATE INDEX sessions_by_card ON sessions (issuer_id, card_id, created_at, created_ns, id) WHERE card_id <> '';
CREATE INDEX sessions_by_idm ON sessions (idm, created_at, created_ns, id) WHERE idm <> '';
-- The sweeper's.
CREATE INDEX sessions_open_by_expiry ON sessions (expires_at, expires_ns, id) WHERE state = 'OPEN';
CREATE INDEX sessions_ended_by_purge ON sessions (purge_at, purge_ns, id) WHERE state = 'ENDED';

-- The device's newest session. Deleting the session drops the pointer.
CREATE TABLE device_sessions (
    issuer_id  text COLLATE "C" NOT NULL,
    device_id  text COLLATE "C" NOT NULL,
    session_id text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    PRIMARY KEY (issuer_id, device_id)
);
CREATE INDEX device_sessions_by_session ON device_sessions (session_id);

-- A card (kind 'card', a ledger card id) or a physical card (kind 'idm')
-- an open session works on. The primary key is what makes one open
-- operation per card hold across processes.
CREATE TABLE claims (
    issuer_id  text COLLATE "C" NOT NULL,
    kind       text COLLATE "C" NOT NULL CHECK (kind IN ('card', 'idm')),
    claim_id   text COLLATE "C" NOT NULL,
    session_id text COLLATE "C" NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    PRIMARY KEY (issuer_id, kind, claim_id)
);
CREATE INDEX claims_by_session ON claims (session_id);

CREATE TABLE cards (
    issuer_id text COLLATE "C" NOT NULL,
    card_id   text COLLATE "C" NOT NULL,
    body      bytea NOT NULL,
    PRIMARY KEY (issuer_id, card_id)
);

CREATE TABLE purchases (
    issuer_id   text COLLATE "C" NOT NULL,
    purchase_id text COLLATE "C" NOT NULL,
    status      text COLLATE "C" NOT NULL,
    body        bytea NOT NULL,
    PRIMARY KEY (issuer_id, purchase_id)
);
CREATE INDEX purchases_by_status ON purchases (issuer_id, status, purchase_id);

CREATE TABLE accounts (
    issuer_id  text COLLATE "C" NOT NULL,
    account_id text COLLATE "C" NOT NULL,
    idm        text COLLATE "C" NOT NULL,
    body       bytea NOT NULL,
    PRIMARY KEY (issuer_id, account_id)
);
-- The account last put with each IDm.
CREATE TABLE account_idms (
    issuer_id  text COLLATE "C" NOT NULL,
    idm        text COLLATE "C" NOT NULL,
    account_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (issuer_id, idm)
);

CREATE TABLE blacklist (
    issuer_id text COLLATE "C" NOT NULL,
    idm       text COLLATE "C" NOT NULL,
    PRIMARY KEY (issuer_id, idm)
);

CREATE TABLE reader_mode_attempts (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issuer_id text COLLATE "C" NOT NULL,
    device_id text COLLATE "C" NOT NULL,
    at        timestamptz NOT NULL,
    at_ns     smallint NOT NULL
);
CREATE INDEX reader_mode_attempts_by_device ON reader_mode_attempts (issuer_id, device_id, at, at_ns);
CREATE INDEX reader_mode_attempts_by_time ON reader_mode_attempts (at, at_ns, id);

CREATE TABLE script_versions (
    issuer_id text COLLATE "C" NOT NULL,
    hash      text COLLATE "C" NOT NULL,
    body      bytea NOT NULL,
    PRIMARY KEY (issuer_id, hash)
);

-- seq is max+1 in the appending transaction (serializable), so the log's
-- order is its commit order.
CREATE TABLE audit (
    seq       bigint PRIMARY KEY,
    issuer_id text COLLATE "C" NOT NULL,
    at        timestamptz NOT NULL,
    body      bytea NOT NULL
);
CREATE INDEX audit_by_issuer ON audit (issuer_id, seq);

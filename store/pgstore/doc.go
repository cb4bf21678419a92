// Package pgstore is the PostgreSQL backend of store.Store, through pgx v5
// and its pool: the store that any number of tes processes share (CONTRACT
// §6), passing the conformance suite store/storetest and its several-store
// cases (storetest.RunShared).
//
// # Basics
//
// Open parses a postgres:// URL, opens a pgxpool (every statement prepared
// once per connection and cached; every statement takes the context of its
// View or Update, so a cancelled request cancels its query) and applies the
// embedded migrations (migrations/NNNN_*.sql) under an advisory lock: of
// two processes starting at once, one migrates and the other waits, then
// finds nothing to do. tes migrate runs them alone (Options.NoMigrate then
// makes Open check instead of migrate).
//
// Each record is a row whose body keeps it whole — sessions in the binary
// form of store/internal/sessioncodec, the ledger as JSON, both bytea — and
// whose other columns copy the fields the queries select or order on.
// Times that are compared are a timestamptz and the nanoseconds it drops,
// compared as a row, so that they order to the nanosecond as the records
// keep them. Ids are text COLLATE "C": they order by their bytes, as
// bbolt's keys do. The tables and indexes are in migrations/0001_init.sql.
//
// # Transactions
//
// Update runs its closure in a SERIALIZABLE transaction. That is the level
// at which every closure behaves as if it ran alone, which is what the
// engine and the admin API were written against (bbolt runs one writer at
// a time): the engine's commit re-reads the device's newest session and
// goes ahead only if it is unchanged, a sweep expires what it listed, the
// admin API reads a card and writes it back; under READ COMMITTED two
// processes could each read "no session" and both start one, or one could
// overwrite the other's card. Serializable turns each such race into a
// serialization failure (40001) of one side; Update then runs the closure
// again (it is idempotent by the store's contract) after a jittered,
// doubling backoff, at most Options.MaxAttempts times, and the new run
// sees what the winner committed. Deadlocks (40P01) are retried the same
// way. View runs in a REPEATABLE READ, READ ONLY transaction: one snapshot
// for all its reads, and never a serialization failure.
//
// The rules that must hold across processes do not rest on the isolation
// level alone: the session compare-and-swap is the revision in the
// UPDATE's WHERE (no row updated is store.ErrConflict), and a card's claim
// is a row whose primary key is (issuer, kind, id) — a second open
// session's INSERT is a unique violation (23505), store.ErrClaimed.
//
// Update returns once COMMIT has returned, with synchronous_commit forced
// on for the store's connections: the commit's WAL is flushed (and, with
// synchronous replication configured on the server, replicated) first.
//
// # Caveats
//
//   - A statement that fails aborts the whole transaction, unlike bbolt:
//     every later call in the closure fails, and the closure should return
//     the error. Only database faults and a claim lost to a concurrent
//     transaction fail a statement; ErrNotFound, ErrConflict and
//     ErrInvalid do not.
//   - The connections run with enable_seqscan off. Every query is keyed
//     and has an index (index_test.go runs EXPLAIN of each); on small
//     tables the planner would still prefer a sequential scan, and in a
//     serializable transaction a sequential scan takes a predicate lock on
//     the whole table, failing unrelated transactions (the PostgreSQL
//     manual advises encouraging index scans for serializable workloads).
//   - Ids and the text fields stored in columns must be valid UTF-8
//     without NUL (ErrInvalid otherwise), a limit of PostgreSQL's text.
//   - Audit entries are numbered max+1 inside the appending transaction,
//     so numbers follow commit order; concurrent admin changes retry.
//   - Connection loss fails the transactions in flight (the engine answers
//     921; nothing is half-written, a transaction commits whole or not at
//     all) and the pool reconnects when the database is back. A COMMIT
//     whose answer is lost may have committed: the error says so only as
//     a connection error.
//   - Sweeps take a transaction-scoped advisory lock (Tx.TryLock,
//     store.Locker), so one process sweeps at a time.
//
// It is not a cache and holds no rules: what a session may do next is the
// engine's business. It does not create the database or the role: the URL
// names an existing database whose user may create tables in it.
package pgstore

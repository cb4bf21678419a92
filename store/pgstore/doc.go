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
// A session's trace entries are rows of session_trace (0002), inserted as
// each call commits; the body counts them and never holds them.
//
// # Transactions
//
// Update runs its closure in a READ COMMITTED transaction in which every
// read of a record by its key takes the row's lock (SELECT … FOR UPDATE)
// until the commit, and in which the writers of a device's sessions take
// the device's transaction lock (pg_advisory_xact_lock of issuer and
// device) before they read the device's newest session. So two closures
// that touch the same record run one after the other, in every process,
// and the second reads what the first committed, as under bbolt's single
// writer: the engine's commit re-reads the device's newest session and
// goes ahead only if it is unchanged, a sweep expires what it listed, the
// admin API reads a card and writes it back. Closures that touch different
// records do not wait for each other.
//
// Why not SERIALIZABLE, which gives the same guarantee with no locking
// code: PostgreSQL's serializable snapshot isolation tracks reads with
// predicate locks on index pages, and the tables that every request reads
// by a key that is often absent (claims, held only by open sessions; the
// device pointers) stay a page or two, so unrelated devices conflict: with
// 16 devices on two nodes, requests failed with 40001 on each of 12
// attempts. Locks make the same requests wait only for their own device,
// card or purchase. (Under plain READ COMMITTED without them, the
// several-store suite fails: two open sessions for one device, a purchase
// applied twice.)
//
// The rules that must hold across processes rest on the database, never on
// a process's memory: the session compare-and-swap is the revision in the
// UPDATE's WHERE (no row updated is store.ErrConflict); a card's claim is a
// row whose primary key is (issuer, kind, id), and a second open session's
// INSERT is a unique violation (23505), store.ErrClaimed; one open session
// per device is the device lock above. A deadlock (40P01) or a
// serialization failure (40001) makes Update run the closure again (it is
// idempotent by the store's contract) after a jittered, doubling backoff,
// at most Options.MaxAttempts times. View runs in a REPEATABLE READ, READ
// ONLY transaction: one snapshot for all its reads, no locks.
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
//   - Every query a request, a sweep or an admin change runs is keyed and
//     has an index; index_test.go runs EXPLAIN of each and fails on a plan
//     that reads a table whole. The indexes are listed in
//     docs/scaling.md.
//   - Ids and the text fields stored in columns must be valid UTF-8
//     without NUL (ErrInvalid otherwise), a limit of PostgreSQL's text.
//   - Audit entries are numbered max+1 under a transaction lock, so
//     numbers follow commit order; admin changes append one at a time.
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

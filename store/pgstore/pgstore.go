package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tes-project/tes/store"
)

// Errors of this backend, beyond those of package store.
var (
	// ErrTxDone: a Tx was used after its closure returned.
	ErrTxDone = errors.New("pgstore: transaction used outside its closure")

	// ErrContention: an Update lost to concurrent transactions (a
	// serialization failure or a deadlock) on every one of its attempts.
	ErrContention = errors.New("pgstore: serialization failures on every attempt")
)

// SQLSTATE codes the backend acts on.
const (
	codeSerializationFailure = "40001"
	codeDeadlock             = "40P01"
	codeUniqueViolation      = "23505"
)

// Defaults of Options.
const (
	DefaultMaxConns    = 16
	DefaultMaxAttempts = 12
	DefaultBackoff     = 2 * time.Millisecond
	DefaultMaxBackoff  = 100 * time.Millisecond
)

// Options tune Open. The zero value is ready to use.
type Options struct {
	// MaxConns bounds the pool (0: DefaultMaxConns, unless the URL sets
	// pool_max_conns).
	MaxConns int32
	// MaxAttempts bounds the runs of one Update's closure when its
	// transaction fails with a serialization failure or a deadlock (0:
	// DefaultMaxAttempts).
	MaxAttempts int
	// Backoff is the first wait before a retry, doubled each time up to
	// MaxBackoff; each wait is drawn uniformly below its bound (full
	// jitter). 0: the defaults.
	Backoff, MaxBackoff time.Duration
	// NoMigrate skips applying the migrations at Open (tes migrate ran
	// them); Open then fails when the schema is behind.
	NoMigrate bool
	// Logger receives open, migration and retry events (nil: discard).
	Logger *slog.Logger

	// tracer sees every statement (tests: export_test.go).
	tracer pgx.QueryTracer
}

// Store is a store.Store in one PostgreSQL database, shared by any number
// of processes. Safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	opts Options
	log  *slog.Logger
	// where names the database in errors and logs, without its password.
	where  string
	closed atomic.Bool // set once by Close; later calls fail with store.ErrClosed
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Pinger = (*Store)(nil)
)

// Open connects to the database at url (postgres://…), applies the
// migrations this binary holds (unless opts.NoMigrate), and returns the
// store. The pool's connections run every transaction with
// synchronous_commit on.
func Open(ctx context.Context, url string, opts Options) (*Store, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if opts.Backoff <= 0 {
		opts.Backoff = DefaultBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, fmt.Errorf("pgstore: parse the store URL %s: %w", Redact(url), errBadURL)
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	} else if !hasParam(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	if opts.tracer != nil {
		cfg.ConnConfig.Tracer = opts.tracer
	}
	params := cfg.ConnConfig.RuntimeParams
	// Durable before reply: a commit returns once its WAL is flushed
	// (the server's default, forced here so that a server configured
	// otherwise cannot weaken it).
	params["synchronous_commit"] = "on"
	if params["application_name"] == "" {
		params["application_name"] = "tes"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect to %s: %w", where, err)
	}
	s := &Store{pool: pool, opts: opts, log: opts.Logger, where: where}
	if opts.NoMigrate {
		err = s.checkSchema(ctx)
	} else {
		err = s.Migrate(ctx)
	}
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.log.Info("store opened", "store", "postgres", "database", where, "maxConns", cfg.MaxConns)
	return s, nil
}

// errBadURL stands in for pgx's parse error, which may quote the password.
var errBadURL = errors.New("not a valid PostgreSQL connection URL")

// Close closes the pool, waiting for connections in use to be returned.
// Later calls, Close included, fail with store.ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return fmt.Errorf("pgstore: close %s: %w", s.where, store.ErrClosed)
	}
	s.pool.Close()
	s.log.Info("store closed", "store", "postgres", "database", s.where)
	return nil
}

// Ping checks that the database answers, through one connection of the
// pool. Readiness probes call it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: ping %s: %w", s.where, err)
	}
	return nil
}

// View runs fn in a read-only, repeatable-read transaction: one snapshot
// for all its reads, never a serialization failure. Safe for concurrent
// use.
func (s *Store) View(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	_, err := s.run(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, false, fn)
	return err
}

// Update runs fn in a read-committed transaction whose reads by key lock
// what they read (see doc.go) and commits when fn returns nil; it returns
// once the commit is durable. When the transaction fails with a
// serialization failure or a deadlock, fn runs again in a new transaction
// after a jittered backoff, at most Options.MaxAttempts times in all. Safe
// for concurrent use.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	bound := s.opts.Backoff
	for attempt := 1; ; attempt++ {
		retry, err := s.run(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, true, fn)
		if !retry {
			return err
		}
		if attempt >= s.opts.MaxAttempts {
			return fmt.Errorf("pgstore: %d attempts: %w: %w", attempt, ErrContention, err)
		}
		s.log.Debug("store: retrying a transaction", "attempt", attempt, "error", err.Error())
		wait := time.Duration(rand.Int64N(int64(bound) + 1))
		bound = min(2*bound, s.opts.MaxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("pgstore: waiting to retry: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// ready refuses to start a transaction on a closed store or a done context.
func (s *Store) ready(ctx context.Context) error {
	if s.closed.Load() {
		return fmt.Errorf("pgstore: %s: %w", s.where, store.ErrClosed)
	}
	return ctx.Err()
}

// run runs fn in one transaction and reports whether it failed in a way a
// new attempt may fix.
func (s *Store) run(ctx context.Context, opts pgx.TxOptions, writable bool, fn func(store.Tx) error) (retry bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		if s.closed.Load() {
			return false, fmt.Errorf("pgstore: %s: %w", s.where, store.ErrClosed)
		}
		return false, fmt.Errorf("pgstore: connect: %w", err)
	}
	// A connection left inside a transaction (a failed rollback) is not
	// idle: the pool closes it instead of reusing it.
	defer conn.Release()
	t := &tx{ctx: ctx, conn: conn.Conn(), beginSQL: beginSQL(opts), writable: writable}
	defer func() { t.done = true }()
	if err = fn(t); err != nil {
		_ = t.end(false)
		// The closure may have turned a failed statement's error into its
		// own: the statement's tells whether to retry.
		return retryable(t.failed) || retryable(err), err
	}
	if t.failed != nil {
		// A statement failed and the closure went on: the transaction is
		// aborted and cannot commit.
		_ = t.end(false)
		return retryable(t.failed), fmt.Errorf("pgstore: the closure ignored a failed statement: %w", t.failed)
	}
	if err = t.end(true); err != nil {
		return retryable(err), fmt.Errorf("pgstore: commit: %w", err)
	}
	return false, nil
}

// beginSQL is the BEGIN statement of a transaction with opts.
func beginSQL(opts pgx.TxOptions) string {
	sql := "begin isolation level " + string(opts.IsoLevel)
	if opts.AccessMode != "" {
		sql += " " + string(opts.AccessMode)
	}
	return sql
}

// retryable reports whether err is a serialization failure or a deadlock:
// the transaction lost to a concurrent one and may succeed when run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == codeSerializationFailure || pgErr.Code == codeDeadlock
}

// isUniqueViolation reports whether err is a unique violation (23505).
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeUniqueViolation
}

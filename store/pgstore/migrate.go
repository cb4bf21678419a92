package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationFiles are the schema's versions: NNNN_what.sql, applied in
// order, each once, each in its own transaction. A file is never edited
// once released; a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrSchemaBehind: Options.NoMigrate, and the database lacks migrations
// this binary needs (run tes migrate).
var ErrSchemaBehind = errors.New("pgstore: the database schema is behind this binary")

// Migration is one version of the schema.
type Migration struct {
	Version int
	Name    string // the file name
	SQL     string
}

// Migrations lists the migrations embedded in the binary, in order.
func Migrations() ([]Migration, error) {
	return readMigrations(migrationFiles, "migrations")
}

// readMigrations reads NNNN_*.sql files of dir in fsys, in version order;
// two files of one version, or a name without a version, are an error.
func readMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read migrations: %w", err)
	}
	var list []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("pgstore: migration %s: the name must start with a positive version and '_'", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("pgstore: migrations %s and %s have the same version %d", other, name, v)
		}
		seen[v] = name
		sql, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("pgstore: read migration %s: %w", name, err)
		}
		list = append(list, Migration{Version: v, Name: name, SQL: string(sql)})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Version < list[j].Version })
	return list, nil
}

// migrateLockKey is the advisory lock that serializes migrators: a second
// process starting at the same time waits for the first to finish, then
// finds nothing left to do. It is per database; the schema's name is
// mixed in so that tests migrating schemas of one database in parallel do
// not wait for each other.
func migrateLockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("tes/pgstore/migrate\x00" + schema))
	return int64(h.Sum64())
}

// Migrate applies the embedded migrations the database lacks. Open calls
// it unless Options.NoMigrate; tes migrate calls it alone.
func (s *Store) Migrate(ctx context.Context) error {
	list, err := Migrations()
	if err != nil {
		return err
	}
	applied, err := migrate(ctx, s.pool, list)
	for _, m := range applied {
		s.log.Info("store migrated", "database", s.where, "version", m.Version, "migration", m.Name)
	}
	return err
}

// migrate applies the migrations of list that the database lacks, under
// the advisory lock held on one connection, and returns those it applied.
func migrate(ctx context.Context, pool *pgxpool.Pool, list []Migration) ([]Migration, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: migrate: connect: %w", err)
	}
	defer conn.Release()
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("pgstore: migrate: current schema: %w", err)
	}
	key := migrateLockKey(schema)
	// A session lock on this connection: held across the migrations'
	// transactions, waited for by any other migrator.
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return nil, fmt.Errorf("pgstore: migrate: take the migration lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key); err != nil {
			// The lock goes with the connection; make sure it does.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return nil, fmt.Errorf("pgstore: migrate: create schema_migrations: %w", err)
	}
	done, err := appliedVersions(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	var applied []Migration
	for _, m := range list {
		if done[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn.Conn(), func(t pgx.Tx) error {
			if _, err := t.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := t.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("pgstore: migration %s: %w", m.Name, err)
		}
		applied = append(applied, m)
	}
	return applied, nil
}

func appliedVersions(ctx context.Context, conn *pgx.Conn) (map[int]bool, error) {
	rows, err := conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("pgstore: read schema_migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("pgstore: read schema_migrations: %w", err)
	}
	done := make(map[int]bool, len(versions))
	for _, v := range versions {
		done[v] = true
	}
	return done, nil
}

// checkSchema fails with ErrSchemaBehind when a migration this binary
// holds is not applied.
func (s *Store) checkSchema(ctx context.Context) error {
	list, err := Migrations()
	if err != nil {
		return err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: connect to %s: %w", s.where, err)
	}
	defer conn.Release()
	done, err := appliedVersions(ctx, conn.Conn())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSchemaBehind, err)
	}
	for _, m := range list {
		if !done[m.Version] {
			return fmt.Errorf("%w: migration %s is not applied (run tes migrate)", ErrSchemaBehind, m.Name)
		}
	}
	return nil
}

// SchemaVersions lists the migrations applied to the database, in order.
func (s *Store) SchemaVersions(ctx context.Context) ([]int, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("pgstore: read schema_migrations: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return nil, fmt.Errorf("pgstore: read schema_migrations: %w", err)
	}
	return versions, nil
}

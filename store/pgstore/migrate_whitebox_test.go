package pgstore

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tes-project/tes/store/pgstore/pgtest"
)

func TestReadMigrations(t *testing.T) {
	file := func(sql string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(sql)} }
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr string
	}{
		{"in version order", fstest.MapFS{
			"m/0010_c.sql": file("c"), "m/0002_b.sql": file("b"), "m/0001_a.sql": file("a"), "m/README": file("x"),
		}, []int{1, 2, 10}, ""},
		{"same version twice", fstest.MapFS{"m/0001_a.sql": file("a"), "m/001_b.sql": file("b")}, nil, "same version"},
		{"no version", fstest.MapFS{"m/init.sql": file("a")}, nil, "positive version"},
		{"version 0", fstest.MapFS{"m/0000_a.sql": file("a")}, nil, "positive version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := readMigrations(tt.files, "m")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range list {
				got = append(got, m.Version)
			}
			if !equalInts(got, tt.want) {
				t.Errorf("versions %v, want %v", got, tt.want)
			}
		})
	}
	if list, err := Migrations(); err != nil || len(list) == 0 || list[0].Version != 1 {
		t.Errorf("embedded migrations: %v, %v", list, err)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func newPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestMigrateConcurrently starts several migrators on one empty schema at
// once, as nodes starting together do: each migration is applied once,
// every migrator succeeds, and together they applied each exactly once.
func TestMigrateConcurrently(t *testing.T) {
	url := pgtest.Schema(t)
	list := []Migration{
		{Version: 1, Name: "0001_a.sql", SQL: "CREATE TABLE a (x int); INSERT INTO a VALUES (1);"},
		{Version: 2, Name: "0002_b.sql", SQL: "CREATE TABLE b (y int); SELECT pg_sleep(0.05);"},
	}
	const migrators = 4
	applied := make([][]Migration, migrators)
	errs := make([]error, migrators)
	var wg sync.WaitGroup
	for i := range migrators {
		pool := newPool(t, url)
		wg.Go(func() { applied[i], errs[i] = migrate(context.Background(), pool, list) })
	}
	wg.Wait()
	total := 0
	for i := range migrators {
		if errs[i] != nil {
			t.Errorf("migrator %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	if total != len(list) {
		t.Errorf("%d migrations applied in all, want %d", total, len(list))
	}
	var rows int
	if err := newPool(t, url).QueryRow(context.Background(), "SELECT count(*) FROM a").Scan(&rows); err != nil || rows != 1 {
		t.Errorf("table a has %d rows (%v), want 1: a migration ran twice", rows, err)
	}
}

// TestMigrateFailureKeepsEarlier: a failing migration rolls back alone and
// is tried again by the next start; the ones before it stay applied.
func TestMigrateFailureKeepsEarlier(t *testing.T) {
	url := pgtest.Schema(t)
	pool := newPool(t, url)
	good := Migration{Version: 1, Name: "0001_a.sql", SQL: "CREATE TABLE a (x int);"}
	bad := Migration{Version: 2, Name: "0002_bad.sql", SQL: "CREATE TABLE b (y int); SELECT nonsense;"}
	applied, err := migrate(context.Background(), pool, []Migration{good, bad})
	if err == nil || !strings.Contains(err.Error(), "0002_bad.sql") || len(applied) != 1 {
		t.Fatalf("applied %v, err %v; want 0001 applied and 0002 failing", applied, err)
	}
	fixed := Migration{Version: 2, Name: "0002_b.sql", SQL: "CREATE TABLE b (y int);"}
	applied, err = migrate(context.Background(), pool, []Migration{good, fixed})
	if err != nil || len(applied) != 1 || applied[0].Version != 2 {
		t.Fatalf("second run applied %v, %v; want only 0002", applied, err)
	}
}

package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable that holds the URL of the
// PostgreSQL server the tests use.
const EnvURL = "TES_TEST_POSTGRES"

// how is what a skipped test says.
const how = EnvURL + " is not set: these tests need PostgreSQL. " +
	"Start a private cluster with `. .ci/postgres.sh start` (it sets " + EnvURL + "; .ci/run does the same), " +
	"or set " + EnvURL + "=postgres://USER@HOST:PORT/DB?sslmode=disable to a server where USER may create schemas and databases"

// URL is the server's URL. Without one the test is skipped, or fails
// when CI=true: CI must run every test.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(how)
		}
		t.Skip(how)
	}
	return u
}

// setupTimeout bounds creating and dropping a schema or a database.
const setupTimeout = time.Minute

// Schema creates an empty schema with a random name in the server's
// database, drops it (and everything in it) when the test ends, and
// returns a URL whose connections work in it (search_path). Cheap: use it
// for every test that needs an empty store.
func Schema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	name := "t_" + randomName()
	exec(t, base, `CREATE SCHEMA "`+name+`"`)
	t.Cleanup(func() { exec(t, base, `DROP SCHEMA "`+name+`" CASCADE`) })
	return withParam(t, base, "search_path", name)
}

// Database creates an empty database with a random name, drops it when
// the test ends (closing what is still connected), and returns its URL.
// For tests that need a database of their own: several processes, the
// planner's statistics, a schema in "public".
func Database(t testing.TB) string {
	t.Helper()
	base := URL(t)
	name := "tes_test_" + randomName()
	exec(t, base, `CREATE DATABASE "`+name+`"`)
	t.Cleanup(func() { exec(t, base, `DROP DATABASE "`+name+`" WITH (FORCE)`) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func withParam(t testing.TB, base, key, value string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// exec runs one statement on its own connection to base.
func exec(t testing.TB, base, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, fmt.Errorf("%w", err))
	}
}

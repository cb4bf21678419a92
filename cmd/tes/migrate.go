package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/store/pgstore"
)

const migrateAbout = `Applies the PostgreSQL schema migrations built into this binary to the
database of --store (TES_STORE), and nothing else: no server starts. tes serve
applies them too when it starts; run tes migrate first to upgrade the schema
before the nodes, or from a role allowed to change it. Two migrators at once
take turns (an advisory lock). The embedded bbolt store has no migrations.`

// runMigrate is tes migrate.
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var storeURL string
	fs := flag.NewFlagSet("tes migrate", flag.ContinueOnError)
	fs.StringVar(&storeURL, "store", "", "postgres://USER:PASSWORD@HOST:PORT/DB of the database to migrate")
	if code, ok := parseSubcommand(fs, migrateAbout, args, stdout, stderr); !ok {
		return code
	}
	if err := applyEnv(fs, os.Getenv); err != nil {
		fmt.Fprintf(stderr, "tes migrate: %v\n", err)
		return exitUsage
	}
	if !node.IsPostgresURL(storeURL) {
		fmt.Fprintln(stderr, "tes migrate: --store (or TES_STORE) must be a postgres:// URL")
		return exitUsage
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	st, err := pgstore.Open(ctx, storeURL, pgstore.Options{Logger: log, MaxConns: 2})
	if err != nil {
		fmt.Fprintf(stderr, "tes migrate: %v\n", err)
		return exitFail
	}
	defer st.Close()
	versions, err := st.SchemaVersions(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "tes migrate: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "%s: schema at version %d (%d migrations applied)\n", pgstore.Redact(storeURL), versions[len(versions)-1], len(versions))
	return exitOK
}

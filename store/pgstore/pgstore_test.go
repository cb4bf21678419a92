package pgstore_test

import (
	"context"
	"testing"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/pgstore"
	"github.com/tes-project/tes/store/pgstore/pgtest"
	"github.com/tes-project/tes/store/storetest"
)

// open opens a store on url with small pools: many tests share the
// server's connections.
func open(t *testing.T, url string) *pgstore.Store {
	t.Helper()
	st, err := pgstore.Open(context.Background(), url, pgstore.Options{MaxConns: 4})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st
}

func TestConformance(t *testing.T) {
	pgtest.URL(t)
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, pgtest.Schema(t)) })
}

// TestShared runs the several-process cases with two pools on one
// database, as two tes processes would have.
func TestShared(t *testing.T) {
	pgtest.URL(t)
	t.Parallel()
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		url := pgtest.Schema(t)
		return open(t, url), open(t, url)
	})
}

package pgstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

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

// TestTryLockAcrossStores: the sweep lock of one store's transaction is
// refused to another's until the first transaction ends.
func TestTryLockAcrossStores(t *testing.T) {
	url := pgtest.Schema(t)
	a, b := open(t, url), open(t, url)
	defer a.Close()
	defer b.Close()
	tryLock := func(st store.Store) bool {
		t.Helper()
		var got bool
		if err := st.Update(context.Background(), func(tx store.Tx) error {
			var err error
			got, err = tx.(store.Locker).TryLock("engine.sweep")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- a.Update(context.Background(), func(tx store.Tx) error {
			got, err := tx.(store.Locker).TryLock("engine.sweep")
			if err != nil || !got {
				return fmt.Errorf("first TryLock: %t, %v", got, err)
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	if tryLock(b) {
		t.Error("b took the lock a holds")
	}
	if tryLock(a) {
		t.Error("another transaction of a took the lock a's first holds")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !tryLock(b) {
		t.Error("b could not take the lock after a's transaction ended")
	}
}

// TestRecoversFromLostConnections: the server drops every connection of
// the store (a restart, a failover); the transactions that meet a dead
// connection fail whole, and the store serves again without reopening.
func TestRecoversFromLostConnections(t *testing.T) {
	url := pgtest.Schema(t) + "&application_name=tes-lost-" + t.Name()
	st := open(t, url)
	defer st.Close()
	ctx := context.Background()
	put := func(i int) error {
		return st.Update(ctx, func(tx store.Tx) error {
			return tx.PutCard(store.Card{IssuerID: "i", CardID: fmt.Sprintf("c%d", i), Status: store.CardActive})
		})
	}
	if err := put(0); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
		"tes-lost-"+t.Name()); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for i := 1; i <= 10; i++ {
		if err := put(i); err != nil {
			failed++
			continue
		}
	}
	if failed == 10 {
		t.Fatal("the store never served again")
	}
	if err := st.Ping(ctx); err != nil {
		t.Errorf("Ping after the connections came back: %v", err)
	}
	// What failed wrote nothing: every card is there or not, whole.
	if err := st.View(ctx, func(tx store.Tx) error {
		list := 0
		for i := 0; i <= 10; i++ {
			if _, err := tx.Card("i", fmt.Sprintf("c%d", i)); err == nil {
				list++
			}
		}
		if list != 11-failed {
			t.Errorf("%d cards stored, want %d (11 puts, %d failed)", list, 11-failed, failed)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of 10 updates failed on dead connections", failed)
}

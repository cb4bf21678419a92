package boltstore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
	"github.com/tes-project/tes/store/storetest"
)

// openTemp opens a new store in t.TempDir. Closing is the caller's (the
// suite closes its stores itself).
func openTemp(t *testing.T) (*boltstore.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "tes.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return st, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		st, _ := openTemp(t)
		return st
	})
}

// TestShared: one process opens a bbolt file, so the several-process cases
// run on the same Store twice; they hold because one writer commits at a
// time.
func TestShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) (store.Store, store.Store) {
		st, _ := openTemp(t)
		return st, st
	})
}

func TestConformanceOtherModes(t *testing.T) {
	for name, opts := range map[string]boltstore.Options{
		"CommitAlone":       {CommitAlone: true},
		"GroupCommitLinger": {GroupCommit: time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				st, err := boltstore.Open(filepath.Join(t.TempDir(), "tes.db"), opts)
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return st
			})
		})
	}
}

var t0 = time.Date(2031, 4, 5, 6, 7, 8, 123456789, time.UTC)

func TestReopenKeepsData(t *testing.T) {
	st, path := openTemp(t)
	want := storetest.TypicalSession("s", "i", "d", t0)
	want.Revision = 1
	card := store.Card{IssuerID: "i", CardID: "c", Status: store.CardActive, LastCounter: new(int)}
	err := st.Update(context.Background(), func(tx store.Tx) error {
		return errors.Join(tx.PutSession(want), tx.PutCard(card), tx.SetBlacklisted("i", "m", true), tx.AddReaderModeAttempt("i", "d", t0))
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	err = st.View(context.Background(), func(tx store.Tx) error {
		got, err := tx.DeviceSession("i", "d")
		if err != nil {
			return err
		}
		if got.ID != want.ID || got.Revision != 1 || got.TraceLen != 3 {
			t.Errorf("session after reopen: %+v", got)
		}
		trace, err := tx.SessionTrace(want.ID)
		if err != nil || len(trace) != 3 || !trace[2].At.Equal(want.Trace[2].At) {
			t.Errorf("trace after reopen: %+v, %v", trace, err)
		}
		expiring, err := tx.OpenSessionsExpiredBefore(want.ExpiresAt.Add(time.Nanosecond), 0)
		if err != nil || len(expiring) != 1 {
			t.Errorf("expiry index after reopen: %d sessions, %v; want 1", len(expiring), err)
		}
		c, err := tx.Card("i", "c")
		if err != nil || c.LastCounter == nil || *c.LastCounter != 0 {
			t.Errorf("card after reopen: %+v, %v", c, err)
		}
		on, err := tx.Blacklisted("i", "m")
		if err != nil || !on {
			t.Errorf("blacklist after reopen: %t, %v", on, err)
		}
		n, err := tx.ReaderModeAttempts("i", "d", t0)
		if err != nil || n != 1 {
			t.Errorf("reader-mode attempts after reopen: %d, %v", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
}

func TestSecondOpenFailsAfterTimeout(t *testing.T) {
	st, path := openTemp(t)
	defer st.Close()
	const timeout = 50 * time.Millisecond
	second, err := boltstore.Open(path, boltstore.Options{Timeout: timeout})
	if err == nil {
		second.Close()
		t.Fatal("second Open of a file in use succeeded")
	}
	if !errors.Is(err, boltstore.ErrLocked) {
		t.Errorf("second Open: %v, want ErrLocked", err)
	}
}

func TestOpenBadPath(t *testing.T) {
	_, err := boltstore.Open(filepath.Join(t.TempDir(), "missing-dir", "tes.db"), boltstore.Options{})
	if err == nil {
		t.Fatal("Open in a missing directory succeeded")
	}
}

func TestTxOutsideItsClosure(t *testing.T) {
	st, _ := openTemp(t)
	defer st.Close()
	var kept store.Tx
	if err := st.View(context.Background(), func(tx store.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatalf("View: %v", err)
	}
	if _, err := kept.Session("s"); !errors.Is(err, boltstore.ErrTxDone) {
		t.Errorf("Session on a finished Tx: %v, want ErrTxDone", err)
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error { kept = tx; return nil }); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := kept.PutCard(store.Card{IssuerID: "i", CardID: "c"}); !errors.Is(err, boltstore.ErrTxDone) {
		t.Errorf("PutCard on a finished Tx: %v, want ErrTxDone", err)
	}
}

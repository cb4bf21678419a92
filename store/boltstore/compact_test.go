package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
	"github.com/tes-project/tes/store/storetest"
)

// TestCompact fills a store, purges most of it, compacts the file and
// finds it smaller with every remaining record readable; a store held open
// is refused.
func TestCompact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tes.db")
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	for batch := range 20 {
		err := st.Update(context.Background(), func(tx store.Tx) error {
			for i := range 50 {
				id := fmt.Sprintf("s-%02d-%02d", batch, i)
				s := storetest.TypicalSession(id, "DEMO", "d-"+id, t0)
				s.Revision, s.State, s.EndedAt, s.PurgeAt = 1, store.SessionEnded, t0, t0.Add(time.Duration(batch)*time.Hour)
				if err := tx.PutSession(s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err = st.Update(context.Background(), func(tx store.Tx) error {
		_, err := tx.PurgeEnded(t0.Add(19*time.Hour), 0) // all but the last batch
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := boltstore.Compact(path, 50*time.Millisecond); !errors.Is(err, boltstore.ErrLocked) {
		t.Fatalf("Compact of an open store: %v, want ErrLocked", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := boltstore.Compact(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got.After >= got.Before {
		t.Errorf("compacted %d → %d bytes; want smaller", got.Before, got.After)
	}
	st, err = boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.View(context.Background(), func(tx store.Tx) error {
		list, _, err := tx.SearchSessions(store.SessionQuery{IssuerID: "DEMO"})
		if err == nil && len(list) != 50 {
			t.Errorf("%d sessions after compaction, want the 50 not purged", len(list))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

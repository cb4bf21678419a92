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

// TestDeviceSessionHead: the head a commit re-checks names the same session
// and revision as DeviceSession, through updates and a newer session.
func TestDeviceSessionHead(t *testing.T) {
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "tes.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	head := func() (string, uint64, error) {
		var id string
		var rev uint64
		err := st.View(context.Background(), func(tx store.Tx) error {
			var err error
			id, rev, err = tx.(store.HeadReader).DeviceSessionHead("i", "d")
			return err
		})
		return id, rev, err
	}
	if _, _, err := head(); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("head of a device without sessions: %v, want ErrNotFound", err)
	}
	put := func(s store.Session) {
		t.Helper()
		if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSession(s) }); err != nil {
			t.Fatal(err)
		}
	}
	s := storetest.OpenSession("s1", "i", "d", t0)
	put(s)
	s.Revision = 2
	put(s)
	put(storetest.OpenSession("s0", "i", "d", t0.Add(-time.Hour))) // older: not the newest
	if id, rev, err := head(); err != nil || id != "s1" || rev != 2 {
		t.Fatalf("head = %s@%d, %v; want s1@2", id, rev, err)
	}
	put(storetest.OpenSession("s2", "i", "d", t0.Add(time.Hour)))
	if id, rev, err := head(); err != nil || id != "s2" || rev != 1 {
		t.Fatalf("head = %s@%d, %v; want s2@1", id, rev, err)
	}
	err = st.View(context.Background(), func(tx store.Tx) error {
		_, _, err := tx.(store.HeadReader).DeviceSessionHead("i", "")
		return err
	})
	if !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("head with an empty device id: %v, want ErrInvalid", err)
	}
}

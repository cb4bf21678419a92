package boltstore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tes-project/tes/store"
)

// openWhitebox opens a store on a new file, closed when the test ends.
func openWhitebox(t *testing.T) *Store {
	t.Helper()
	st, err := Open(filepath.Join(t.TempDir(), "tes.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// update runs fn in a write transaction of st and fails the test on its
// error.
func update(t *testing.T, st *Store, fn func(*tx) error) {
	t.Helper()
	if err := st.Update(context.Background(), func(stx store.Tx) error { return fn(stx.(*tx)) }); err != nil {
		t.Fatal(err)
	}
}

// view runs fn in a read transaction of st and fails the test on its
// error.
func view(t *testing.T, st *Store, fn func(*tx) error) {
	t.Helper()
	if err := st.View(context.Background(), func(stx store.Tx) error { return fn(stx.(*tx)) }); err != nil {
		t.Fatal(err)
	}
}

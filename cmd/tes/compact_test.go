package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
)

// TestCompactCommand: tes compact refuses a store a server holds and
// rewrites one nobody holds, keeping its records.
func TestCompactCommand(t *testing.T) {
	dir := t.TempDir()
	st, err := boltstore.Open(filepath.Join(dir, storeFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutCard(store.Card{IssuerID: "DEMO", CardID: "C-KEPT", Status: store.CardActive})
	}); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"compact", "--data", dir, "--timeout", "100ms"}, &stdout, &stderr); code != exitFail ||
		!strings.Contains(stderr.String(), "stop the server first") {
		t.Errorf("compact of an open store: exit %d %q", code, stderr.String())
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if code := run([]string{"compact", "--data", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("compact: exit %d %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "compacted ") {
		t.Errorf("compact printed %q", stdout.String())
	}
	if !hasCard(t, filepath.Join(dir, storeFile), "C-KEPT") {
		t.Error("the compacted store lacks the card")
	}
}

package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
)

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != exitOK {
			t.Fatalf("tes %v: exit %d %s", args, code, errOut.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[0], "tes ") || !strings.HasPrefix(lines[1], "commit ") || !strings.HasPrefix(lines[2], "go") {
			t.Errorf("tes %v printed %q", args, out.String())
		}
	}
}

// hasCard reports whether the store file at path holds the card.
func hasCard(t *testing.T, path, cardID string) bool {
	t.Helper()
	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer st.Close()
	err = st.View(context.Background(), func(tx store.Tx) error {
		_, err := tx.Card("DEMO", cardID)
		return err
	})
	return err == nil
}

func TestBackup(t *testing.T) {
	dir := t.TempDir()
	st, err := boltstore.Open(filepath.Join(dir, storeFile), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	put := func(st store.Store, cardID string) {
		t.Helper()
		if err := st.Update(context.Background(), func(tx store.Tx) error {
			return tx.PutCard(store.Card{IssuerID: "DEMO", CardID: cardID, Status: store.CardActive})
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(st, "C-OFFLINE")

	out := filepath.Join(t.TempDir(), "locked.db")
	var stdout, stderr bytes.Buffer
	code := run([]string{"backup", "--data", dir, "--out", out, "--timeout", "100ms"}, &stdout, &stderr)
	if code != exitFail || !strings.Contains(stderr.String(), "--admin-url") {
		t.Errorf("backup of an open store: exit %d %q", code, stderr.String())
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	out = filepath.Join(t.TempDir(), "offline.db")
	if code := run([]string{"backup", "--data", dir, "--out", out}, &stdout, &stderr); code != exitOK {
		t.Fatalf("offline backup: exit %d %s", code, stderr.String())
	}
	if !hasCard(t, out, "C-OFFLINE") {
		t.Error("the offline copy lacks the card")
	}

	srv, err := node.Start(context.Background(), node.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	put(srv.Store, "C-ONLINE")
	out = filepath.Join(t.TempDir(), "online.db")
	if code := run([]string{"backup", "--admin-url", srv.AdminURL, "--out", out}, &stdout, &stderr); code != exitOK {
		t.Fatalf("backup from the server: exit %d %s", code, stderr.String())
	}
	if !hasCard(t, out, "C-ONLINE") || !hasCard(t, out, "C-OFFLINE") {
		t.Error("the copy from the server lacks a card")
	}
	for _, args := range [][]string{{"backup"}, {"backup", "--out", out}, {"backup", "--out", out, "--data", dir, "--admin-url", srv.AdminURL}} {
		if code := run(args, &stdout, &stderr); code != exitUsage {
			t.Errorf("tes %v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

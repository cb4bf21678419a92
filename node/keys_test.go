package node_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/sam"
	"github.com/tes-project/tes/store/boltstore"
)

// keyFile is a minimal key file of issuer id.
func keyFile(id string) string {
	return `{"issuerId": "` + id + `", "nodeKeys": [{"node": "1008", "version": "0001", "aes": "000102030405060708090A0B0C0D0E0F"}],
 "individualKeys": {"default": "00000000000000000000000000000000", "cards": {}}}`
}

func issuersOf(t *testing.T, n *node.Node) []string {
	t.Helper()
	s, ok := n.SAM.(*sam.Software)
	if !ok {
		t.Fatalf("SAM is %T", n.SAM)
	}
	return s.Issuers()
}

// TestSealKeyKeptInDataDir: without --seal-key the embedded store's node
// creates DATA/seal.key (mode 600) once and reads the same key on every
// later start, so that sealed sessions survive a restart.
func TestSealKeyKeptInDataDir(t *testing.T) {
	data := t.TempDir()
	var keys []string
	for range 2 {
		n, err := node.Start(context.Background(), node.Config{DataDir: data})
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Close(); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(data, node.SealKeyFile)
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o600 {
			t.Errorf("seal key mode %04o, want 0600", perm)
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(strings.TrimSpace(string(raw))) != 64 {
			t.Errorf("seal key file holds %d bytes, want 64 hex digits", len(raw))
		}
		keys = append(keys, string(raw))
	}
	if keys[0] != keys[1] {
		t.Error("the second start drew another seal key")
	}
}

func TestKeyStoreConfig(t *testing.T) {
	good := t.TempDir()
	if err := os.WriteFile(filepath.Join(good, "ACME.json"), []byte(keyFile("ACME")), 0o600); err != nil {
		t.Fatal(err)
	}
	open := t.TempDir()
	if err := os.WriteFile(filepath.Join(open, "ACME.json"), []byte(keyFile("ACME")), 0o644); err != nil {
		t.Fatal(err)
	}
	sealFile := filepath.Join(t.TempDir(), "seal")
	if err := os.WriteFile(sealFile, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	shared := func(t *testing.T) *boltstore.Store {
		st, err := boltstore.Open(filepath.Join(t.TempDir(), "shared.db"), boltstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	tests := []struct {
		name    string
		cfg     func(t *testing.T) node.Config
		want    error
		text    string
		issuers []string
	}{
		{"no key store: the test keys", func(t *testing.T) node.Config { return node.Config{DataDir: t.TempDir()} }, nil, "", []string{"DEMOAES"}},
		{"a key store", func(t *testing.T) node.Config { return node.Config{DataDir: t.TempDir(), KeyDir: good} }, nil, "", []string{"ACME"}},
		{"a key file others may read", func(t *testing.T) node.Config { return node.Config{DataDir: t.TempDir(), KeyDir: open} }, sam.ErrKeyStore, "chmod 600", nil},
		{"a missing key store", func(t *testing.T) node.Config { return node.Config{DataDir: t.TempDir(), KeyDir: "/nonexistent/keys"} }, sam.ErrKeyStore, "/nonexistent/keys", nil},
		{"shared store and keys without a seal key", func(t *testing.T) node.Config { return node.Config{Store: shared(t), KeyDir: good} }, node.ErrConfig, "--seal-key", nil},
		{"shared store and keys with a seal key", func(t *testing.T) node.Config {
			return node.Config{Store: shared(t), KeyDir: good, SealKeyFile: sealFile}
		}, nil, "", []string{"ACME"}},
		{"shared store and the test keys", func(t *testing.T) node.Config { return node.Config{Store: shared(t)} }, nil, "", []string{"DEMOAES"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := node.Start(context.Background(), tt.cfg(t))
			if !errors.Is(err, tt.want) || (err != nil && !strings.Contains(err.Error(), tt.text)) {
				t.Fatalf("Start: %v, want %v naming %q", err, tt.want, tt.text)
			}
			if err != nil {
				return
			}
			defer n.Close()
			if got := issuersOf(t, n); !slices.Equal(got, tt.issuers) {
				t.Errorf("keys of %v, want %v", got, tt.issuers)
			}
		})
	}
}

// TestKeysReloadWithIssuers: the key store is read again when the issuers
// reload; a broken key file keeps the previous keys serving.
func TestKeysReloadWithIssuers(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ACME.json"), []byte(keyFile("ACME")), 0o600); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), KeyDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := os.WriteFile(filepath.Join(dir, "BETA.json"), []byte(keyFile("BETA")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := issuersOf(t, n); !slices.Equal(got, []string{"ACME", "BETA"}) {
		t.Fatalf("keys after the reload: %v", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "GAMMA.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := issuersOf(t, n); !slices.Equal(got, []string{"ACME", "BETA"}) {
		t.Errorf("keys after a refused reload: %v, want the previous ones", got)
	}
}

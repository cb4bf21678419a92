package node

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/tes-project/tes/sam"
)

// SealKeyFile is the sealing key the node keeps in Config.DataDir when no
// Config.SealKeyFile is given (embedded store only).
const SealKeyFile = "seal.key"

// openSAM builds the software SAM: the key store of cfg.KeyDir (the built-in
// DEMOAES test keys when it is empty) and the sealing key of the session
// states (see sealKey).
func openSAM(cfg Config, log *slog.Logger) (*sam.Software, error) {
	key, err := sealKey(cfg, log)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	s, err := SoftwareSAM(cfg.KeyDir, key)
	if err != nil {
		return nil, err
	}
	if cfg.KeyDir == "" {
		log.Warn("no key store: the built-in DEMOAES TEST KEYS serve (published, for demonstrations only)", "issuers", s.Issuers())
	} else {
		log.Info("key store loaded", "dir", cfg.KeyDir, "issuers", s.Issuers())
	}
	return s, nil
}

// SoftwareSAM is the software SAM over the key store of keyDir: one
// <issuerId>.json per issuer (docs/keys.md), or, when keyDir is empty, the
// built-in DEMOAES TEST KEYS only (which serve DEMOAES and no other issuer).
// sealKey seals the session states; nil: a random key of this process.
// The node (tes serve, sim, bench) and tes test build their SAM with it,
// so that both choose the key store alike.
func SoftwareSAM(keyDir string, sealKey []byte) (*sam.Software, error) {
	s, err := sam.NewSoftware(sam.Config{KeyDir: keyDir, TestKeys: keyDir == "", SealKey: sealKey})
	if err != nil {
		return nil, fmt.Errorf("node: key store: %w", err)
	}
	return s, nil
}

// sealKey is the key that seals the SAM's session states, which the store
// keeps with the sessions. It must outlive the process, or a restart could
// not resume an authenticated session (CONTRACT.md §1.5), and it must stay
// out of the store, or the store would hold what opens its own states:
//
//   - Config.SealKeyFile, when given (a file of 64 hex digits, mode 600);
//   - else, with the embedded store, DataDir/seal.key, created (mode 600)
//     with a random key on the first start and read on every later one;
//   - else (a shared store) with the built-in test keys only, a random key
//     of this process, with a warning: sessions then do not survive a
//     restart, nor move between nodes;
//   - else (a shared store and a real key store) it is an error: every
//     node must open the states the others sealed, so they need one key.
func sealKey(cfg Config, log *slog.Logger) ([]byte, error) {
	switch {
	case cfg.SealKeyFile != "":
		k, err := sam.LoadSealKeyFile(cfg.SealKeyFile)
		if err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		return k, nil
	case cfg.Store == nil && cfg.StoreURL == "" && cfg.DataDir != "":
		return dataSealKey(filepath.Join(cfg.DataDir, SealKeyFile), log)
	case cfg.KeyDir == "":
		log.Warn("no seal key: authenticated sessions will not survive a restart of this process (give --seal-key)")
		return nil, nil
	}
	return nil, fmt.Errorf("%w: a shared store with a key store needs a seal key file (--seal-key), the same on every node", ErrConfig)
}

// dataSealKey reads path, or creates it with a fresh random key when it does
// not exist. The file is created exclusively, so that two processes starting
// on one data directory agree on one key.
func dataSealKey(path string, log *slog.Logger) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("node: create data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		k, err := sam.LoadSealKeyFile(path)
		if err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
		return k, nil
	case err != nil:
		return nil, fmt.Errorf("node: create the seal key: %w", err)
	}
	k := make([]byte, sam.SealKeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, errors.Join(fmt.Errorf("node: seal key: %w", err), f.Close(), os.Remove(path))
	}
	text := make([]byte, hex.EncodedLen(len(k)), hex.EncodedLen(len(k))+1)
	hex.Encode(text, k)
	_, werr := f.Write(append(text, '\n'))
	clear(text)
	if err := errors.Join(werr, f.Sync(), f.Close()); err != nil {
		clear(k)
		return nil, errors.Join(fmt.Errorf("node: write the seal key: %w", err), os.Remove(path))
	}
	log.Info("created a seal key for the session states", "file", path)
	return k, nil
}

package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
	"github.com/tes-project/tes/store/pgstore"
)

// StoreFile is the bbolt file inside Config.DataDir.
const StoreFile = "tes.db"

// IsPostgresURL reports whether url names a PostgreSQL store.
func IsPostgresURL(url string) bool {
	return strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
}

// OpenStore opens the store cfg names: bbolt in cfg.DataDir when
// cfg.StoreURL is empty, PostgreSQL (migrated to this binary's schema)
// for a postgres:// URL.
func OpenStore(ctx context.Context, cfg Config) (store.Store, error) {
	switch {
	case cfg.StoreURL == "":
		if cfg.DataDir == "" {
			return nil, fmt.Errorf("%w: a data directory (or a store URL) is required", ErrConfig)
		}
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("node: create data directory: %w", err)
		}
		st, err := boltstore.Open(filepath.Join(cfg.DataDir, StoreFile), boltstore.Options{GroupCommit: cfg.GroupCommit, Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("node: open store: %w", err)
		}
		return st, nil
	case IsPostgresURL(cfg.StoreURL):
		st, err := pgstore.Open(ctx, cfg.StoreURL, pgstore.Options{Logger: cfg.Logger})
		if err != nil {
			return nil, fmt.Errorf("node: open store %s: %w", pgstore.Redact(cfg.StoreURL), err)
		}
		return st, nil
	default:
		return nil, fmt.Errorf("%w: store URL %s: want empty (bbolt in the data directory) or postgres://…",
			ErrConfig, pgstore.Redact(cfg.StoreURL))
	}
}

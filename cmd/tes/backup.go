package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store/boltstore"
)

const backupAbout = `Copies the embedded store (the bbolt file) to --out, consistently.
With --admin-url it asks the running server for the copy (GET
/admin/v1/backup, with --admin-token or TES_ADMIN_TOKEN when the server has
one): safe while it serves. With --data it reads the file in DIR itself,
which works only while no server has it open (bbolt locks the file; the
command waits --timeout and then says so). The copy is written to
--out.tmp, synced, checked to open as a store, and renamed to --out.`

// backupConfig is tes backup's command line.
type backupConfig struct {
	data, out, adminURL, adminToken string
	timeout                         time.Duration
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg backupConfig
	fs := flag.NewFlagSet("tes backup", flag.ContinueOnError)
	fs.StringVar(&cfg.data, "data", "", "directory of the embedded store (the server's --data), read without a server")
	fs.StringVar(&cfg.adminURL, "admin-url", "", "admin address of a running server, e.g. http://127.0.0.1:8081")
	fs.StringVar(&cfg.adminToken, "admin-token", "", "the server's admin token, if it has one (default $TES_ADMIN_TOKEN)")
	fs.StringVar(&cfg.out, "out", "", "file to write the copy to (required)")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "with --data: how long to wait for the file lock; with --admin-url: for the whole copy, 0 for no limit")
	if code, ok := parseSubcommand(fs, backupAbout, args, stdout, stderr); !ok {
		return code
	}
	// Only the token comes from the environment: TES_DATA, set for the
	// server, would otherwise clash with --admin-url.
	if cfg.adminToken == "" {
		cfg.adminToken = os.Getenv(envName("admin-token"))
	}
	if cfg.out == "" || (cfg.data == "") == (cfg.adminURL == "") {
		fmt.Fprintln(stderr, "tes backup: --out and exactly one of --data and --admin-url are required")
		return exitUsage
	}
	n, err := backup(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tes backup: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", cfg.out, n)
	return exitOK
}

// backup writes the copy to cfg.out through a temporary file.
func backup(ctx context.Context, cfg backupConfig) (n int64, err error) {
	tmp := cfg.out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if cfg.data != "" {
		n, err = boltstore.BackupFile(filepath.Join(cfg.data, storeFile), f, cfg.timeout)
		if errors.Is(err, boltstore.ErrLocked) {
			return n, fmt.Errorf("%w; a server has the store open: use --admin-url to copy it from the server", err)
		}
	} else {
		n, err = fetchBackup(ctx, cfg, f)
	}
	if err != nil {
		return n, err
	}
	if err := f.Sync(); err != nil {
		return n, fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return n, fmt.Errorf("close %s: %w", tmp, err)
	}
	// The copy must read back whole as a bbolt file: a cut transfer or a
	// wrong file fails here, before it replaces anything.
	if _, err := boltstore.BackupFile(tmp, io.Discard, time.Second); err != nil {
		return n, fmt.Errorf("the copy does not read back as a store: %w", err)
	}
	if err := os.Rename(tmp, cfg.out); err != nil {
		return n, fmt.Errorf("rename %s: %w", tmp, err)
	}
	return n, nil
}

// fetchBackup streams GET /admin/v1/backup into w and checks its length.
func fetchBackup(ctx context.Context, cfg backupConfig, w io.Writer) (int64, error) {
	if cfg.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
	}
	url := strings.TrimSuffix(cfg.adminURL, "/") + server.AdminBasePath + "/backup"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, fmt.Errorf("--admin-url: %w", err)
	}
	if cfg.adminToken != "" {
		req.Header.Set("Authorization", "Bearer "+cfg.adminToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: after %d bytes: %w", url, n, err)
	}
	if want, perr := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64); perr == nil && want != n {
		return n, fmt.Errorf("GET %s: got %d of %d bytes", url, n, want)
	}
	return n, nil
}

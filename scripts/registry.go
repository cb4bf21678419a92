package scripts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// maxPinned is how many versions that no longer serve are kept in memory
// for sessions pinned to them.
const maxPinned = 16

// Config says where issuers come from.
type Config struct {
	// Dir is the issuers root on disk; each subfolder is one issuer.
	Dir string
	// Embedded is used when Dir is empty or does not exist.
	Embedded fs.FS
	// Store keeps the sources of every version that served, so Pinned
	// can rebuild it after a restart. May be nil (tests).
	Store  store.Store
	Clock  clock.Clock
	Logger *slog.Logger
}

// Registry holds the issuers' loaded versions. It implements flow.Registry
// and flow.Catalog. Safe for concurrent use.
type Registry struct {
	fsys   fs.FS
	store  store.Store
	clock  clock.Clock
	logger *slog.Logger

	// reloadMu serialises reloads so that two never build the same issuer
	// at once; readers never take it.
	reloadMu sync.Mutex

	// mu guards issuers and pinned; held only to read or swap pointers.
	mu      sync.RWMutex
	issuers map[string]*issuerSlot
	pinned  map[string]*version // "issuer/hash" → version, recently used
	order   []string            // pinned keys, oldest first
}

// issuerSlot is what the registry knows of one issuer folder.
type issuerSlot struct {
	current  *version // nil when no version ever loaded
	loadedAt time.Time
	err      string
}

var (
	_ flow.Registry = (*Registry)(nil)
	_ flow.Catalog  = (*Registry)(nil)
)

// Open loads every issuer under cfg.Dir (or cfg.Embedded). An issuer that
// does not load is listed in Statuses with its problem; Open fails only when
// the root cannot be read or a loaded version cannot be stored.
func Open(ctx context.Context, cfg Config) (*Registry, error) {
	fsys, err := issuersFS(cfg.Dir, cfg.Embedded)
	if err != nil {
		return nil, err
	}
	r := &Registry{
		fsys:    fsys,
		store:   cfg.Store,
		clock:   cfg.Clock,
		logger:  cfg.Logger,
		issuers: map[string]*issuerSlot{},
		pinned:  map[string]*version{},
	}
	if r.clock == nil {
		r.clock = clock.System{}
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func issuersFS(dir string, embedded fs.FS) (fs.FS, error) {
	if dir != "" {
		if info, err := os.Stat(dir); err == nil && info.IsDir() {
			return os.DirFS(dir), nil
		}
	}
	if embedded == nil {
		return nil, fmt.Errorf("%w: %q is not a directory and nothing is embedded", ErrNoIssuers, dir)
	}
	return embedded, nil
}

func issuerNames(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoIssuers, err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && e.Name()[0] != '.' {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// Current returns the serving version of an issuer.
func (r *Registry) Current(issuerID string) (flow.Issuer, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	slot := r.issuers[issuerID]
	if slot == nil || slot.current == nil {
		return nil, false
	}
	return slot.current, true
}

// Pinned returns the version hash of an issuer: the serving one, one kept
// in memory, or one rebuilt from the store's sources.
func (r *Registry) Pinned(ctx context.Context, issuerID, hash string) (flow.Issuer, error) {
	key := issuerID + "/" + hash
	r.mu.RLock()
	if slot := r.issuers[issuerID]; slot != nil && slot.current != nil && slot.current.c.hash == hash {
		r.mu.RUnlock()
		return slot.current, nil
	}
	v := r.pinned[key]
	r.mu.RUnlock()
	if v != nil {
		return v, nil
	}
	if r.store == nil {
		return nil, fmt.Errorf("%w: %s", flow.ErrVersionGone, key)
	}
	var sv store.ScriptVersion
	err := r.store.View(ctx, func(tx store.Tx) error {
		var err error
		sv, err = tx.ScriptVersion(issuerID, hash)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", flow.ErrVersionGone, key)
	}
	if err != nil {
		return nil, fmt.Errorf("scripts: load version %s: %w", key, err)
	}
	c, ps := compileIssuer(issuerID, sv.Files, r.logger)
	if ps != nil {
		return nil, fmt.Errorf("%w: %s: %w", flow.ErrVersionGone, key, &LoadError{Issuer: issuerID, Problems: ps})
	}
	if c.hash != hash {
		return nil, fmt.Errorf("%w: %s: stored sources hash to %s", flow.ErrVersionGone, key, c.hash)
	}
	v = newVersion(c, r.logger)
	r.mu.Lock()
	r.keepPinned(key, v)
	r.mu.Unlock()
	return v, nil
}

// keepPinned remembers v, forgetting the oldest beyond maxPinned. r.mu held.
func (r *Registry) keepPinned(key string, v *version) {
	if _, ok := r.pinned[key]; !ok {
		r.order = append(r.order, key)
	}
	r.pinned[key] = v
	for len(r.order) > maxPinned {
		delete(r.pinned, r.order[0])
		r.order = r.order[1:]
	}
}

// Statuses lists every issuer folder seen, sorted by id.
func (r *Registry) Statuses() []flow.IssuerStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]flow.IssuerStatus, 0, len(r.issuers))
	for id, slot := range r.issuers {
		s := flow.IssuerStatus{IssuerID: id, LoadedAt: slot.loadedAt, Error: slot.err}
		if slot.current != nil {
			s.Version = slot.current.c.hash
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IssuerID < out[j].IssuerID })
	return out
}

// Reload reloads every issuer folder; see ReloadIssuer. It fails only when
// the root cannot be read or the store cannot keep a version.
func (r *Registry) Reload(ctx context.Context) error {
	names, err := issuerNames(r.fsys)
	if err != nil {
		return err
	}
	var errs []error
	for _, name := range names {
		if err := r.ReloadIssuer(ctx, name); err != nil && !errors.Is(err, ErrLoad) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ReloadIssuer reads one issuer folder and, when its content hash changed
// and it loads whole, stores its sources and swaps it in. A folder that does
// not load keeps the previous version serving and records the first
// problem in Statuses; the error (matching ErrLoad) lists them all. This is
// the one function behind start-up, the admin reload and a file watcher.
func (r *Registry) ReloadIssuer(ctx context.Context, name string) error {
	r.reloadMu.Lock()
	defer r.reloadMu.Unlock()
	files, hash, err := readIssuer(r.fsys, name)
	if err != nil {
		r.recordFailure(name, name+": "+err.Error())
		return fmt.Errorf("%w: %w", ErrLoad, err)
	}
	r.mu.RLock()
	slot := r.issuers[name]
	r.mu.RUnlock()
	if slot != nil && slot.current != nil && slot.current.c.hash == hash {
		r.mu.Lock()
		slot.err = ""
		r.mu.Unlock()
		return nil
	}
	c, ps := compileIssuer(name, files, r.logger)
	if ps != nil {
		loadErr := &LoadError{Issuer: name, Problems: ps}
		r.recordFailure(name, ps[0].String())
		r.logger.Warn("issuer does not load", "issuer", name, "problems", len(ps), "first", ps[0].String())
		return loadErr
	}
	if r.store != nil {
		sv := store.ScriptVersion{IssuerID: name, Hash: hash, Files: files, StoredAt: r.clock.Now()}
		if err := r.store.Update(ctx, func(tx store.Tx) error { return tx.PutScriptVersion(sv) }); err != nil {
			return fmt.Errorf("scripts: store version %s/%s: %w", name, hash, err)
		}
	}
	v := newVersion(c, r.logger)
	r.mu.Lock()
	if slot != nil && slot.current != nil {
		r.keepPinned(name+"/"+slot.current.c.hash, slot.current)
	}
	r.issuers[name] = &issuerSlot{current: v, loadedAt: r.clock.Now()}
	r.mu.Unlock()
	r.logger.Info("issuer loaded", "issuer", name, "version", hash)
	return nil
}

func (r *Registry) recordFailure(name, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	slot := r.issuers[name]
	if slot == nil {
		r.issuers[name] = &issuerSlot{err: msg}
		return
	}
	next := *slot
	next.err = msg
	r.issuers[name] = &next
}

// Check loads every issuer under dir exactly as the server would, without
// serving anything, and returns every problem found (none: all load).
func Check(dir string) []Problem {
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		return []Problem{{File: dir, Message: "not a directory"}}
	}
	fsys := os.DirFS(dir)
	names, err := issuerNames(fsys)
	if err != nil {
		return []Problem{{File: dir, Message: err.Error()}}
	}
	logger := slog.New(slog.DiscardHandler)
	var out []Problem
	for _, name := range names {
		files, _, err := readIssuer(fsys, name)
		if err != nil {
			out = append(out, Problem{File: name, Message: err.Error()})
			continue
		}
		_, ps := compileIssuer(name, files, logger)
		out = append(out, ps...)
	}
	return out
}

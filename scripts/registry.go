package scripts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/sam"
	"github.com/tes-project/tes/store"
)

// defaultDebounce is how long the watcher waits after an issuer folder's
// last file event before it reloads the folder.
const defaultDebounce = 150 * time.Millisecond

// Config says where issuers come from.
type Config struct {
	// Dir is the issuers root on disk; each subfolder is one issuer.
	Dir string
	// Embedded is used when Dir is empty or does not exist; Watch then has
	// nothing to watch.
	Embedded fs.FS
	// Store keeps the sources of every version that served, so that Pinned
	// can rebuild it after a restart, and remembers which version served
	// last, so that a folder that does not load at start-up serves it. May
	// be nil (tests): then a version dropped from memory is gone.
	Store  store.Store
	Clock  clock.Clock
	Logger *slog.Logger
	// Debounce is how long Watch waits after an issuer folder's last file
	// event before reloading it; a folder written without pause reloads at
	// the latest 4×Debounce after its first event. Default 150ms.
	Debounce time.Duration
	// OnReload, when set, is told the outcome of every reload of an issuer
	// folder, whatever started it: ReloadLoaded, ReloadUnchanged,
	// ReloadFailed or ReloadRemoved (a metric counts them). Calls are
	// serialised; it must return quickly and must not call back into the
	// Registry's reload methods.
	OnReload func(issuerID, result string)
	// SAM authenticates to cards and seals secure commands for the flows'
	// sam module (and opens the answers). Nil: a flow that calls sam.*
	// fails at run time naming the missing key store. The scripts never
	// see a key: they hold the SAM's sealed state in the session.
	SAM sam.SAM
	// Keys, when set, is reloaded before every reload of the issuers (the
	// admin API, SIGHUP, the watcher), so that keys change with the flows
	// that use them; a failure keeps the previous keys and is logged and
	// reported to OnReload as issuer KeysReloadID.
	Keys KeyReloader
}

// KeyReloader is a key store that can be read again (sam.Software).
type KeyReloader interface {
	Reload() error
}

// KeysReloadID is the issuer id under which OnReload hears of key store
// reloads.
const KeysReloadID = "(keys)"

// Registry holds the issuers' loaded versions. It implements flow.Registry
// and flow.Catalog. Safe for concurrent use.
type Registry struct {
	fsys     fs.FS
	root     string // the issuers root on disk; empty when embedded
	store    store.Store
	clock    clock.Clock
	logger   *slog.Logger
	debounce time.Duration
	onReload func(issuerID, result string)
	sam      sam.SAM
	keys     KeyReloader

	// applyMu serialises applies (start-up, Reload, ReloadIssuer, Watch):
	// one issuer is never built twice at once, and a slot is replaced only
	// under it. Readers never take it.
	applyMu sync.Mutex

	// mu guards issuers and kept; held only to read or swap pointers. A
	// slot is never changed once published, only replaced.
	mu      sync.RWMutex
	issuers map[string]*issuerSlot
	kept    keptVersions

	// errMu guards runtimeErrs; held only to count or copy, never while
	// mu is wanted (Statuses takes mu first, then errMu).
	errMu       sync.Mutex
	runtimeErrs map[string]runtimeErrors
}

// runtimeErrors is what the registry knows of one issuer's failed steps.
type runtimeErrors struct {
	count     int
	last      string
	at        time.Time
	operation string
}

// maxErrorMessage bounds the text of a run-time error kept for the admin
// API (and the Lua message of a step error): error(s) with a huge s must
// not fill a status, a log line or a session trace.
const maxErrorMessage = 512

// issuerSlot is what the registry knows of one issuer folder.
type issuerSlot struct {
	current  *version // nil when no version serves
	loadedAt time.Time
	// err is the last reload's failure as "file:line: message"; empty when
	// the last reload succeeded.
	err string
	// failedHash and failure are the content that last failed and why, so
	// that events that leave it as it is (an editor's swap file) neither
	// rebuild it nor log it again. failedHash is empty when the failure was
	// not the content's (the folder could not be read, the store failed).
	failedHash string
	failure    error
}

var (
	_ flow.Registry = (*Registry)(nil)
	_ flow.Catalog  = (*Registry)(nil)
)

// Open loads every issuer under cfg.Dir (or cfg.Embedded). An issuer whose
// folder does not load serves the version that served last, when the store
// has one, and is listed in Statuses with its problem either way. Open fails
// only when the root cannot be read or a loaded version cannot be stored.
func Open(ctx context.Context, cfg Config) (*Registry, error) {
	fsys, root, err := issuersFS(cfg.Dir, cfg.Embedded)
	if err != nil {
		return nil, err
	}
	r := &Registry{
		fsys:     fsys,
		root:     root,
		store:    cfg.Store,
		clock:    cfg.Clock,
		logger:   cfg.Logger,
		debounce: cfg.Debounce,
		onReload: cfg.OnReload,
		sam:      cfg.SAM,
		keys:     cfg.Keys,
		issuers:  map[string]*issuerSlot{},

		runtimeErrs: map[string]runtimeErrors{},
	}
	if r.clock == nil {
		r.clock = clock.System{}
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.debounce <= 0 {
		r.debounce = defaultDebounce
	}
	if err := r.Reload(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// issuersFS picks the issuers' file system: dir when it is a folder, else
// the embedded one. root is dir made absolute, empty for the embedded one.
func issuersFS(dir string, embedded fs.FS) (fsys fs.FS, root string, err error) {
	if dir != "" {
		if info, err := os.Stat(dir); err == nil && info.IsDir() {
			abs, err := filepath.Abs(dir)
			if err != nil {
				return nil, "", fmt.Errorf("%w: %v", ErrNoIssuers, err)
			}
			return os.DirFS(abs), abs, nil
		}
	}
	if embedded == nil {
		return nil, "", fmt.Errorf("%w: %q is not a directory and nothing is embedded", ErrNoIssuers, dir)
	}
	return embedded, "", nil
}

// Current returns the serving version of an issuer: the one new operations
// start on. Safe for concurrent use; never waits for a reload.
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
// in memory, or one rebuilt from the store's sources. It serves the
// versions of a removed issuer too, so that its running operations finish.
// Safe for concurrent use; never waits for a reload.
func (r *Registry) Pinned(ctx context.Context, issuerID, hash string) (flow.Issuer, error) {
	key := keptKey(issuerID, hash)
	r.mu.RLock()
	if slot := r.issuers[issuerID]; slot != nil && slot.current != nil && slot.current.c.hash == hash {
		r.mu.RUnlock()
		return slot.current, nil
	}
	v := r.kept.get(key)
	r.mu.RUnlock()
	if v != nil {
		return v, nil
	}
	v, err := r.storedVersion(ctx, issuerID, hash)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.kept.put(key, v)
	r.mu.Unlock()
	return v, nil
}

// Statuses lists every issuer folder seen, sorted by id: the serving
// version, when it was swapped in, and the last reload's error. Safe for
// concurrent use.
func (r *Registry) Statuses() []flow.IssuerStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]flow.IssuerStatus, 0, len(r.issuers))
	r.errMu.Lock()
	defer r.errMu.Unlock()
	for id, slot := range r.issuers {
		s := flow.IssuerStatus{IssuerID: id, LoadedAt: slot.loadedAt, Error: slot.err}
		if slot.current != nil {
			s.Version = slot.current.c.hash
		}
		if e, ok := r.runtimeErrs[id]; ok {
			s.RuntimeErrors, s.LastRuntimeError, s.LastRuntimeErrorAt, s.LastRuntimeErrorOperation = e.count, e.last, e.at, e.operation
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].IssuerID < out[j].IssuerID })
	return out
}

// RecordRuntimeError counts a step of issuerID's operation that failed at
// run time at the given time, and keeps its message as the issuer's last
// (in Statuses). Steps of the registry's versions record their own
// failures (ErrScript) as they return them, except when the context the
// engine passed to Step was already done: a failure the engine caused
// (its time or memory limit cancelled the step) is the engine's to record,
// once, with this method. A nil err records nothing. Safe for concurrent
// use.
func (r *Registry) RecordRuntimeError(issuerID, operation string, at time.Time, err error) {
	if err == nil {
		return
	}
	msg := truncate(strings.TrimPrefix(err.Error(), ErrScript.Error()+": "), maxErrorMessage)
	r.errMu.Lock()
	defer r.errMu.Unlock()
	e := r.runtimeErrs[issuerID]
	e.count++
	if !at.Before(e.at) {
		e.last, e.at, e.operation = msg, at, operation
	}
	r.runtimeErrs[issuerID] = e
}

// versionErrors is how a version of issuerID reports its failed steps.
func (r *Registry) versionErrors(issuerID string) func(operation string, err error) {
	return func(operation string, err error) {
		r.RecordRuntimeError(issuerID, operation, r.clock.Now(), err)
	}
}

// truncate cuts s to at most n bytes, on a UTF-8 boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Reload brings every issuer in line with its folder, as a file watcher
// would: changed folders that load are swapped in, broken ones keep their
// previous version, new folders appear and removed ones disappear. It is
// the manual reload (admin API, SIGHUP) for file systems whose events do
// not arrive. It fails only when the root cannot be read or the store
// cannot keep a version; per-issuer problems are in Statuses. Safe for
// concurrent use; reloads run one at a time.
func (r *Registry) Reload(ctx context.Context) error {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	r.reloadKeys()
	return r.applyAll(ctx)
}

// ReloadIssuer brings one issuer in line with its folder; see apply. The
// error matches ErrLoad when the folder does not load (also when it is
// unchanged since it failed), ErrNoIssuer when there is neither a folder nor
// a loaded issuer of that name. Safe for concurrent use.
func (r *Registry) ReloadIssuer(ctx context.Context, name string) error {
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	r.reloadKeys()
	_, err := r.apply(ctx, name)
	return err
}

// Check loads every issuer under dir exactly as a reload would, without
// serving anything, and returns every problem found (none: all load).
func Check(dir string) []Problem {
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		return []Problem{{File: dir, Message: "not a directory"}}
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return []Problem{{File: dir, Message: err.Error()}}
	}
	fsys := os.DirFS(root)
	names, err := issuerNames(fsys)
	if err != nil {
		return []Problem{{File: dir, Message: err.Error()}}
	}
	logger := slog.New(slog.DiscardHandler)
	var out []Problem
	for _, name := range names {
		files, _, err := readStable(fsys, root, name)
		if err != nil {
			out = append(out, Problem{File: name, Message: err.Error()})
			continue
		}
		_, ps := compileIssuer(name, files, logger)
		out = append(out, ps...)
	}
	return out
}

// storedVersion rebuilds a version from the sources in the store.
func (r *Registry) storedVersion(ctx context.Context, issuerID, hash string) (*version, error) {
	key := keptKey(issuerID, hash)
	if r.store == nil {
		return nil, fmt.Errorf("%w: %s", flow.ErrVersionGone, key)
	}
	var sv store.ScriptVersion
	err := r.store.View(ctx, func(tx store.Tx) error {
		var err error
		sv, err = tx.ScriptVersion(issuerID, hash)
		return err
	})
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
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
	return newVersion(c, r.logger, r.versionErrors(issuerID), r.sam), nil
}

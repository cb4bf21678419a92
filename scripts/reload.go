package scripts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/tes-project/tes/store"
)

// The outcomes of one issuer's reload, as Config.OnReload is told them.
const (
	// ReloadLoaded: a new version was swapped in and serves new operations.
	ReloadLoaded = "loaded"
	// ReloadUnchanged: the folder's content is the serving version, or the
	// content that already failed; nothing was rebuilt or logged.
	ReloadUnchanged = "unchanged"
	// ReloadFailed: the folder did not load (or could not be read or
	// stored); the previous version, if any, keeps serving.
	ReloadFailed = "failed"
	// ReloadRemoved: the folder is gone; the issuer serves no new
	// operations, while sessions pinned to its versions still get them.
	ReloadRemoved = "removed"
)

// servingKey is the store key, in place of a content hash, of the record
// that names an issuer's last serving version (Files["hash"]), so that a
// folder that does not load at start-up serves it.
const servingKey = "serving"

// applyAll applies every issuer folder on disk and every issuer loaded
// before (whose folder may be gone). r.applyMu held.
func (r *Registry) applyAll(ctx context.Context) error {
	names, err := issuerNames(r.fsys)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, name := range names {
		seen[name] = true
	}
	r.mu.RLock()
	for name := range r.issuers {
		if !seen[name] {
			names = append(names, name)
		}
	}
	r.mu.RUnlock()
	var errs []error
	for _, name := range names {
		if _, err := r.apply(ctx, name); err != nil && !errors.Is(err, ErrLoad) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// apply brings one issuer in line with its folder: the one function behind
// Open, Reload, ReloadIssuer and Watch. It reads the whole folder, skips it
// when its content hash is the serving one (or the one that last failed),
// compiles and checks it off to the side, stores its sources, and only then
// swaps it in. Anything short of that keeps the previous version serving.
// A folder that is gone removes the issuer. Every outcome is logged once and
// reported to OnReload. r.applyMu held.
func (r *Registry) apply(ctx context.Context, name string) (string, error) {
	r.mu.RLock()
	slot := r.issuers[name]
	r.mu.RUnlock()
	if !validIssuerName(name) || !isDir(r.fsys, name) {
		if slot == nil {
			return "", fmt.Errorf("%w: %q", ErrNoIssuer, name)
		}
		r.remove(name, slot)
		return ReloadRemoved, nil
	}
	files, hash, err := readStable(r.fsys, r.root, name)
	if errors.Is(err, errFolderRefused) {
		return r.fail(ctx, name, slot, "", fmt.Errorf("%w: %w", ErrLoad, err), err.Error())
	}
	if err != nil {
		return r.fail(ctx, name, slot, "", fmt.Errorf("%w: %w", ErrLoad, err), name+": "+err.Error())
	}
	if slot != nil && slot.current != nil && slot.current.c.hash == hash {
		if slot.err != "" {
			next := *slot
			next.err, next.failedHash, next.failure = "", "", nil
			r.publish(name, &next)
			r.logger.Info("issuer folder is back to its serving version", "issuer", name, "version", hash)
		}
		r.report(name, ReloadUnchanged)
		return ReloadUnchanged, nil
	}
	if slot != nil && slot.failedHash == hash {
		r.report(name, ReloadUnchanged)
		return ReloadUnchanged, slot.failure
	}
	r.mu.RLock()
	v := r.kept.get(keptKey(name, hash))
	r.mu.RUnlock()
	if v == nil {
		c, ps := compileIssuer(name, files, r.logger)
		if ps != nil {
			return r.fail(ctx, name, slot, hash, &LoadError{Issuer: name, Problems: ps}, ps[0].String())
		}
		v = newVersion(c, r.logger, r.versionErrors(name), r.sam)
	}
	if err := r.storeVersion(ctx, name, hash, files); err != nil {
		return r.fail(ctx, name, slot, "", err, "store: "+err.Error())
	}
	r.swap(name, slot, v)
	return ReloadLoaded, nil
}

// validIssuerName tells whether name can be an issuer folder: one path
// element, not ignored.
func validIssuerName(name string) bool {
	return fs.ValidPath(name) && name != "." && !strings.Contains(name, "/") && !ignored(name)
}

// swap makes v the serving version; the one it replaces stays in memory
// for the sessions pinned to it.
func (r *Registry) swap(name string, slot *issuerSlot, v *version) {
	previous := ""
	r.mu.Lock()
	if slot != nil && slot.current != nil {
		previous = slot.current.c.hash
		r.kept.put(keptKey(name, previous), slot.current)
	}
	r.kept.drop(keptKey(name, v.c.hash))
	r.issuers[name] = &issuerSlot{current: v, loadedAt: r.clock.Now()}
	r.mu.Unlock()
	r.logger.Info("issuer loaded", "issuer", name, "version", v.c.hash, "previous", previous)
	r.report(name, ReloadLoaded)
}

// remove forgets an issuer whose folder is gone. Its serving version stays
// in memory (and in the store) for the sessions pinned to it.
func (r *Registry) remove(name string, slot *issuerSlot) {
	version := ""
	r.mu.Lock()
	if slot.current != nil {
		version = slot.current.c.hash
		r.kept.put(keptKey(name, version), slot.current)
	}
	delete(r.issuers, name)
	r.mu.Unlock()
	r.logger.Info("issuer removed: no new operations; running ones finish on their version", "issuer", name, "version", version)
	r.report(name, ReloadRemoved)
}

// fail records a reload that did not swap. An issuer with nothing serving
// (start-up, or a folder back after its removal) serves the last version
// the store says served, when there is one. A failure with the message of
// the one before (a refused folder that is still refused) is not logged
// again.
func (r *Registry) fail(ctx context.Context, name string, slot *issuerSlot, hash string, err error, msg string) (string, error) {
	var next issuerSlot
	repeated := false
	if slot != nil {
		next = *slot
		repeated = slot.err == msg
	}
	next.err, next.failedHash, next.failure = msg, hash, err
	fallback := false
	if next.current == nil {
		if v := r.lastServed(ctx, name); v != nil {
			next.current, next.loadedAt, fallback = v, r.clock.Now(), true
		}
	}
	r.publish(name, &next)
	serving := ""
	if next.current != nil {
		serving = next.current.c.hash
	}
	var loadErr *LoadError
	problems := 1
	if errors.As(err, &loadErr) {
		problems = len(loadErr.Problems)
	}
	if !repeated || fallback {
		r.logger.Warn("issuer reload refused; the previous version keeps serving", "issuer", name,
			"error", msg, "problems", problems, "serving", serving, "fromStore", fallback)
	}
	r.report(name, ReloadFailed)
	return ReloadFailed, err
}

// reloadKeys reads the key store again, when the registry has one, before
// the issuers that use it are reloaded. A failure keeps the previous keys
// serving; it is logged (the error names files and fields, never a key) and
// reported to OnReload under KeysReloadID. r.applyMu held.
func (r *Registry) reloadKeys() {
	if r.keys == nil {
		return
	}
	if err := r.keys.Reload(); err != nil {
		r.logger.Error("key store reload refused; the previous keys keep serving", "error", err.Error())
		r.report(KeysReloadID, ReloadFailed)
		return
	}
	r.report(KeysReloadID, ReloadLoaded)
}

func (r *Registry) publish(name string, slot *issuerSlot) {
	r.mu.Lock()
	r.issuers[name] = slot
	r.mu.Unlock()
}

func (r *Registry) report(name, result string) {
	if r.onReload != nil {
		r.onReload(name, result)
	}
}

// storeVersion keeps a version's sources and names it the issuer's serving
// version, in one transaction, before it serves.
func (r *Registry) storeVersion(ctx context.Context, name, hash string, files map[string][]byte) error {
	if r.store == nil {
		return nil
	}
	now := r.clock.Now()
	sv := store.ScriptVersion{IssuerID: name, Hash: hash, Files: files, StoredAt: now}
	pointer := store.ScriptVersion{IssuerID: name, Hash: servingKey, Files: map[string][]byte{"hash": []byte(hash)}, StoredAt: now}
	err := r.store.Update(ctx, func(tx store.Tx) error {
		if err := tx.PutScriptVersion(sv); err != nil {
			return err
		}
		return tx.PutScriptVersion(pointer)
	})
	if err != nil {
		return fmt.Errorf("scripts: store version %s: %w", keptKey(name, hash), err)
	}
	return nil
}

// lastServed rebuilds the issuer's last serving version from the store;
// nil when there is none or it cannot be had (logged).
func (r *Registry) lastServed(ctx context.Context, name string) *version {
	if r.store == nil {
		return nil
	}
	var pointer store.ScriptVersion
	err := r.store.View(ctx, func(tx store.Tx) error {
		var err error
		pointer, err = tx.ScriptVersion(name, servingKey)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		r.logger.Error("issuer's last serving version unreadable", "issuer", name, "error", err.Error())
		return nil
	}
	hash := string(pointer.Files["hash"])
	r.mu.RLock()
	v := r.kept.get(keptKey(name, hash))
	r.mu.RUnlock()
	if v != nil {
		return v
	}
	v, err = r.storedVersion(ctx, name, hash)
	if err != nil {
		r.logger.Error("issuer's last serving version does not load", "issuer", name, "version", hash, "error", err.Error())
		return nil
	}
	return v
}

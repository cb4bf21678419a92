package scripts

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// everyIssuer is the debouncer's name for "reload every issuer": an event
// on the root that names no issuer folder (a Kubernetes ..data swap of the
// whole root, an overflowed event queue).
const everyIssuer = ""

// Watch reloads issuer folders as their files change, until ctx ends. It
// watches the issuers root (new folders appear, removed ones disappear) and
// every folder inside each issuer (fsnotify does not recurse); an event in
// an issuer's tree schedules a reload of that issuer once its events have
// been quiet for Config.Debounce, and the reload applies the folder only if
// its content hash changed. Chmod events are ignored. Editors that save by
// renaming a temporary file over the original and Kubernetes ..data symlink
// swaps are seen as events in the issuer folder, which is what is watched.
//
// Watch reloads everything once its watches are set, so a change made
// between Open and Watch is not missed. It returns nil when ctx ends or when
// the issuers are embedded (nothing can change), and an error when the
// watcher cannot start (e.g. the inotify limit): the manual Reload still
// works then. Run it once per Registry, in its own goroutine.
func (r *Registry) Watch(ctx context.Context) error {
	if r.root == "" {
		r.logger.Info("issuers are embedded: nothing to watch")
		return nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("scripts: watch %s: %w", r.root, err)
	}
	defer w.Close()
	if err := w.Add(r.root); err != nil {
		return fmt.Errorf("scripts: watch %s: %w", r.root, err)
	}
	names, err := issuerNames(r.fsys)
	if err != nil {
		return err
	}
	for _, name := range names {
		r.watchIssuer(w, name)
	}
	if err := r.Reload(ctx); err != nil {
		r.logger.Error("reload failed", "error", err.Error())
	}
	r.logger.Info("watching issuer folders", "root", r.root, "debounce", r.debounce)

	d := newDebouncer(r.debounce)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if name, ok := r.issuerOf(ev); ok {
				d.add(name, time.Now())
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			r.logger.Warn("issuer folder watch error; reloading every issuer", "error", err.Error())
			d.add(everyIssuer, time.Now())
		case <-timer.C:
			r.reloadDue(ctx, w, d.due(time.Now()))
		}
		if at, ok := d.next(); ok {
			timer.Reset(time.Until(at))
		}
	}
}

// issuerOf names the issuer whose folder an event is in; everyIssuer for a
// hidden entry of the root (a ..data swap of the whole root).
func (r *Registry) issuerOf(ev fsnotify.Event) (string, bool) {
	if ev.Op == fsnotify.Chmod {
		return "", false
	}
	rel, err := filepath.Rel(r.root, ev.Name)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	first, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
	if ignored(first) {
		return everyIssuer, true
	}
	return first, true
}

// reloadDue reloads the issuers whose events settled, after watching any
// folder they gained.
func (r *Registry) reloadDue(ctx context.Context, w *fsnotify.Watcher, names []string) {
	if len(names) == 0 {
		return
	}
	if names[0] == everyIssuer {
		onDisk, err := issuerNames(r.fsys)
		if err != nil {
			r.logger.Error("reload failed", "error", err.Error())
			return
		}
		names = append(onDisk, r.loadedNames()...)
	}
	r.applyMu.Lock()
	defer r.applyMu.Unlock()
	r.reloadKeys()
	done := map[string]bool{}
	for _, name := range names {
		if done[name] || name == everyIssuer {
			continue
		}
		done[name] = true
		if isDir(r.fsys, name) {
			r.watchIssuer(w, name)
		}
		if _, err := r.apply(ctx, name); err != nil && !errors.Is(err, ErrLoad) && !errors.Is(err, ErrNoIssuer) {
			r.logger.Error("reload failed", "issuer", name, "error", err.Error())
		}
	}
}

// loadedNames lists the issuers in the registry.
func (r *Registry) loadedNames() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.issuers))
	for name := range r.issuers {
		names = append(names, name)
	}
	return names
}

// watchIssuer watches an issuer folder and every folder below it that a
// load would read (symlinks followed), with the load's containment rules:
// it stops where the load refuses the folder (a symlink out of the root, a
// loop, a limit), which the load reports; the root's watch still sees the
// folder fixed. Adding a watched folder again renews its watch, which
// follows a symlink to its new target. A folder that cannot be watched is
// logged once per walk: the manual reload still sees it.
func (r *Registry) watchIssuer(w *fsnotify.Watcher, name string) {
	warned := false
	err := walkIssuer(r.fsys, r.root, name, func(dir string) {
		if err := w.Add(filepath.Join(r.root, filepath.FromSlash(dir))); err != nil && !warned {
			warned = true
			r.logger.Warn("cannot watch an issuer folder; use the manual reload", "folder", dir, "error", err.Error())
		}
	}, nil)
	if err != nil {
		r.logger.Debug("issuer folder watched up to where it is refused", "issuer", name, "error", err.Error())
	}
}

// debouncer turns bursts of file events into one reload per issuer: an
// issuer is due once its events have been quiet for quiet, and at the
// latest maxWait after the first event of a burst, so that a folder written
// without pause still reloads. Owned by the watch loop; not safe for
// concurrent use.
type debouncer struct {
	quiet, maxWait time.Duration
	bursts         map[string]burst
}

type burst struct{ first, last time.Time }

func newDebouncer(quiet time.Duration) *debouncer {
	return &debouncer{quiet: quiet, maxWait: 4 * quiet, bursts: map[string]burst{}}
}

// add records an event of issuer name at time at.
func (d *debouncer) add(name string, at time.Time) {
	b, ok := d.bursts[name]
	if !ok {
		b.first = at
	}
	b.last = at
	d.bursts[name] = b
}

func (b burst) dueAt(quiet, maxWait time.Duration) time.Time {
	due, latest := b.last.Add(quiet), b.first.Add(maxWait)
	if latest.Before(due) {
		return latest
	}
	return due
}

// next is when the earliest burst is due; false when none is pending.
func (d *debouncer) next() (time.Time, bool) {
	var at time.Time
	for _, b := range d.bursts {
		if due := b.dueAt(d.quiet, d.maxWait); at.IsZero() || due.Before(at) {
			at = due
		}
	}
	return at, !at.IsZero()
}

// due takes the issuers whose bursts are due at now, sorted (everyIssuer,
// the empty name, first).
func (d *debouncer) due(now time.Time) []string {
	var names []string
	for name, b := range d.bursts {
		if !now.Before(b.dueAt(d.quiet, d.maxWait)) {
			names = append(names, name)
			delete(d.bursts, name)
		}
	}
	sort.Strings(names)
	return names
}

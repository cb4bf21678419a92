package scripts

import "sync/atomic"

// maxKept is how many versions that no longer serve new operations stay in
// memory for the sessions pinned to them.
const maxKept = 16

// keptVersions holds versions that no longer serve new operations but that
// sessions may still be pinned to: the ones a reload or a removal replaced,
// and the ones Pinned rebuilt from the store. At most maxKept stay; the one
// used least recently is dropped first. Dropping costs time, not
// correctness: Pinned rebuilds a dropped version from the store's sources
// (without a store it is gone, flow.ErrVersionGone).
//
// Registry.mu guards the map: get under the read lock (it marks its entry
// with atomics), put and drop under the write lock.
type keptVersions struct {
	uses    atomic.Uint64 // ticks once per get or put; entries remember theirs
	entries map[string]*keptEntry
}

type keptEntry struct {
	v       *version
	lastUse atomic.Uint64
}

// keptKey names a version across issuers.
func keptKey(issuerID, hash string) string { return issuerID + "/" + hash }

func (k *keptVersions) get(key string) *version {
	e := k.entries[key]
	if e == nil {
		return nil
	}
	e.lastUse.Store(k.uses.Add(1))
	return e.v
}

func (k *keptVersions) put(key string, v *version) {
	if k.entries == nil {
		k.entries = map[string]*keptEntry{}
	}
	e := &keptEntry{v: v}
	e.lastUse.Store(k.uses.Add(1))
	k.entries[key] = e
	for len(k.entries) > maxKept {
		oldest, oldestUse := "", uint64(0)
		for key, e := range k.entries {
			if use := e.lastUse.Load(); oldest == "" || use < oldestUse {
				oldest, oldestUse = key, use
			}
		}
		delete(k.entries, oldest)
	}
}

func (k *keptVersions) drop(key string) { delete(k.entries, key) }

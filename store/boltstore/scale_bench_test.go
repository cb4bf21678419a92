package boltstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
	"github.com/tes-project/tes/store/storetest"
)

// BenchmarkRequestWithEnded measures a request's store work, the engine's
// read of the device's newest session and the commit that checks it and
// advances the session by a call (one more trace entry, a later expiry;
// fsynced), in a file that already holds that many ended sessions of other
// devices, each a typical session of three trace entries. It reports the
// bytes written to disk per request, the file's bytes per stored session,
// and after a
// retention purge of every ended session, the file's size (bbolt never
// shrinks a file) and, when the bbolt command is on PATH, its compacted
// size.
func BenchmarkRequestWithEnded(b *testing.B) {
	for _, ended := range []int{0, 10_000, 1_000_000} {
		b.Run(fmt.Sprintf("ended=%d", ended), func(b *testing.B) {
			ctx := context.Background()
			path := filepath.Join(b.TempDir(), "tes.db")
			st, err := boltstore.Open(path, boltstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			purgeAt := loadEnded(b, st, ended)
			loaded := fileSize(b, path)

			live := startLive(b, st)
			written := diskWrites(b)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				live.call(b)
			}
			b.StopTimer()
			if w := diskWrites(b); w >= 0 && written >= 0 {
				b.ReportMetric(float64(w-written)/float64(b.N), "disk-B/op")
			}
			if ended == 0 {
				return
			}
			// Reported after the loop: ResetTimer drops earlier metrics.
			b.ReportMetric(float64(loaded)/float64(ended), "file-bytes/session")
			before := fileSize(b, path)
			for {
				var n int
				err := st.Update(ctx, func(tx store.Tx) error {
					var err error
					n, err = tx.PurgeEnded(purgeAt.Add(time.Second), endedPerTx)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					break
				}
			}
			b.ReportMetric(float64(before)/(1<<20), "MiB-before-purge")
			b.ReportMetric(float64(fileSize(b, path))/(1<<20), "MiB-after-purge")
			if bbolt, err := exec.LookPath("bbolt"); err == nil {
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				compacted := path + ".compact"
				if out, err := exec.Command(bbolt, "compact", "-o", compacted, path).CombinedOutput(); err != nil {
					b.Fatalf("bbolt compact: %v\n%s", err, out)
				}
				b.ReportMetric(float64(fileSize(b, compacted))/(1<<20), "MiB-compacted")
			}
		})
	}
}

// BenchmarkRequestEndedPair is BenchmarkRequestWithEnded's request in two
// files at once, one holding 10 thousand ended sessions and one a million,
// the requests alternating between them: on a machine whose speed drifts
// from minute to minute, that compares the two in the same seconds, which
// two runs of BenchmarkRequestWithEnded minutes apart do not. It reports
// each file's time per request and, as "ratio", the million's over the ten
// thousand's.
func BenchmarkRequestEndedPair(b *testing.B) {
	sizes := [2]int{10_000, 1_000_000}
	var lives [2]*liveSession
	for i, ended := range sizes {
		st, err := boltstore.Open(filepath.Join(b.TempDir(), "tes.db"), boltstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		loadEnded(b, st, ended)
		lives[i] = startLive(b, st)
	}
	var spent [2]time.Duration
	first := 0 // which file goes first, swapped each time: neither always follows the other
	b.ResetTimer()
	for b.Loop() {
		for _, i := range [2]int{first, 1 - first} {
			started := time.Now()
			lives[i].call(b)
			spent[i] += time.Since(started)
		}
		first = 1 - first
	}
	b.StopTimer()
	for i, ended := range sizes {
		b.ReportMetric(float64(spent[i].Nanoseconds())/float64(b.N), fmt.Sprintf("ns/request-ended=%d", ended))
	}
	b.ReportMetric(float64(spent[1])/float64(spent[0]), "ratio")
}

// endedPerTx is how many sessions one transaction loads or purges.
const endedPerTx = 20_000

// loadEnded puts ended typical sessions of as many devices into st and
// returns when they may be purged.
func loadEnded(b *testing.B, st *boltstore.Store, ended int) time.Time {
	b.Helper()
	purgeAt := t0.Add(7 * 24 * time.Hour)
	for first := 0; first < ended; first += endedPerTx {
		err := st.Update(context.Background(), func(tx store.Tx) error {
			for i := first; i < min(first+endedPerTx, ended); i++ {
				s := storetest.TypicalSession(fmt.Sprintf("%032x", i), "DEMO", fmt.Sprintf("device-%d", i), t0.Add(time.Duration(i)*time.Millisecond))
				s.State, s.EndReason, s.EndedAt, s.PurgeAt = store.SessionEnded, store.EndCompleted, s.LastCallAt, purgeAt
				s.InFlight, s.Batch = nil, nil
				s.Revision = 1
				if err := tx.PutSession(s); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return purgeAt
}

// liveSession is an open session a benchmark advances by a call at a time.
type liveSession struct {
	st    *boltstore.Store
	entry []store.TraceEntry // what each call adds
}

func startLive(b *testing.B, st *boltstore.Store) *liveSession {
	b.Helper()
	s := storetest.TypicalSession("live", "DEMO", "live-device", t0.Add(time.Hour))
	s.Revision = 1
	if err := st.Update(context.Background(), func(tx store.Tx) error { return tx.PutSession(s) }); err != nil {
		b.Fatal(err)
	}
	return &liveSession{st: st, entry: s.Trace[len(s.Trace)-1:]}
}

// call is a request's store work: the engine's read of the device's newest
// session, then the commit that checks it and advances the session by a
// call, one more trace entry and a later expiry.
func (l *liveSession) call(b *testing.B) {
	ctx := context.Background()
	var cur store.Session
	err := l.st.View(ctx, func(tx store.Tx) error {
		var err error
		cur, err = tx.DeviceSession("DEMO", "live-device")
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	next := cur
	next.Revision++
	next.LastCallAt = next.LastCallAt.Add(time.Second)
	next.ExpiresAt = next.LastCallAt.Add(time.Minute)
	next.Trace = l.entry
	err = l.st.Update(ctx, func(tx store.Tx) error {
		if again, err := tx.DeviceSession("DEMO", "live-device"); err != nil || again.Revision != cur.Revision {
			return fmt.Errorf("device session moved: %v", err)
		}
		return tx.PutSession(next)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// diskWrites is the bytes this process has had written to storage
// (/proc/self/io write_bytes), -1 where the system does not say.
func diskWrites(b *testing.B) int64 {
	b.Helper()
	data, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatalf("/proc/self/io: %v", err)
			}
			return n
		}
	}
	return -1
}

func fileSize(b *testing.B, path string) int64 {
	b.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

func TestSweep(t *testing.T) {
	h := newHarness(t, readFlow())
	device := func(id string) engine.Request { r := startRequest(); r.DeviceID, r.CardID = id, "CARD-"+id; return r }

	finished := h.handle(device("D-FINISHED"))
	h.handle(answer(device("D-FINISHED"), finished))
	stale := h.handle(device("D-STALE"))
	h.clock.Advance(30 * time.Second)
	fresh := h.handle(device("D-FRESH"))
	h.clock.Advance(31 * time.Second) // D-STALE is past its TTL, D-FRESH is not

	swept, err := h.engine.Sweep(context.Background())
	if err != nil || swept != (engine.Swept{Expired: 1}) {
		t.Fatalf("first sweep: %+v, %v; want 1 expired", swept, err)
	}
	s := h.mustSession(stale.SessionID)
	if s.State != store.SessionEnded || s.EndReason != store.EndExpired ||
		!s.PurgeAt.Equal(epoch.Add(61*time.Second+7*24*time.Hour)) {
		t.Fatalf("stale session %s/%s purge %s", s.State, s.EndReason, s.PurgeAt)
	}
	if s := h.mustSession(fresh.SessionID); s.State != store.SessionOpen {
		t.Fatalf("fresh session %s, want open", s.State)
	}
	// The swept session answers 322 to its late responses.
	wantStatus(t, h.handle(answer(device("D-STALE"), stale)), flow.StatusTTLExpired)

	h.clock.Advance(7*24*time.Hour + time.Minute)
	swept, err = h.engine.Sweep(context.Background())
	if err != nil || swept != (engine.Swept{Expired: 1, Purged: 2}) {
		t.Fatalf("second sweep: %+v, %v; want 1 expired (fresh), 2 purged (finished, stale)", swept, err)
	}
	if n := h.sessionCount(); n != 1 {
		t.Fatalf("%d sessions left, want the one expired just now", n)
	}
}

func TestSweepInBatches(t *testing.T) {
	h := newHarness(t, readFlow())
	const n = 300 // more than one sweep batch
	h.put(func(tx store.Tx) error {
		for i := range n {
			s := store.Session{
				ID:       fmt.Sprintf("s%03d", i),
				IssuerID: issuerID,
				DeviceID: fmt.Sprintf("D%03d", i),
				Revision: 1, State: store.SessionOpen, CreatedAt: epoch, ExpiresAt: epoch.Add(time.Second),
			}
			if err := tx.PutSession(s); err != nil {
				return err
			}
		}
		return nil
	})
	h.clock.Advance(time.Minute)
	swept, err := h.engine.Sweep(context.Background())
	if err != nil || swept.Expired != n {
		t.Fatalf("swept %+v, %v; want %d expired", swept, err, n)
	}
}

func TestSweepDropsReaderModeAttemptsPastRetention(t *testing.T) {
	h := newHarness(t, readFlow())
	h.put(func(tx store.Tx) error {
		for _, at := range []time.Time{epoch, epoch.Add(time.Hour), epoch.Add(7 * 24 * time.Hour)} {
			if err := tx.AddReaderModeAttempt(issuerID, "D-READER", at); err != nil {
				return err
			}
		}
		return nil
	})
	h.clock.Advance(7*24*time.Hour + 30*time.Minute)
	swept, err := h.engine.Sweep(context.Background())
	if err != nil || swept != (engine.Swept{Attempts: 1}) {
		t.Fatalf("sweep: %+v, %v; want the one attempt older than the 7-day retention", swept, err)
	}
	var left int
	h.put(func(tx store.Tx) error {
		var err error
		left, err = tx.ReaderModeAttempts(issuerID, "D-READER", time.Time{})
		return err
	})
	if left != 2 {
		t.Fatalf("%d attempts left, want 2", left)
	}
}

func TestRunSweeperStopsWithContext(t *testing.T) {
	h := newHarness(t, readFlow())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		h.engine.RunSweeper(ctx, time.Millisecond)
		close(done)
	}()
	cancel()
	<-done
}

// lockingStore is a store that several processes share, as far as the
// sweep lock goes: its transactions implement store.Locker, and the lock
// is held elsewhere while held is set.
type lockingStore struct {
	store.Store
	held *atomic.Bool
	took *atomic.Int64 // locks taken
}

type lockingTx struct {
	store.Tx
	s lockingStore
}

func (s lockingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error { return fn(lockingTx{tx, s}) })
}

func (t lockingTx) TryLock(name string) (bool, error) {
	if name == "" {
		return false, errors.New("lock without a name")
	}
	if t.s.held.Load() {
		return false, nil
	}
	t.s.took.Add(1)
	return true, nil
}

// TestSweepTakesTheStoreLock: on a shared store, a sweep runs only when it
// gets the lock, and skips its turn, changing nothing, when another
// process holds it.
func TestSweepTakesTheStoreLock(t *testing.T) {
	tests := []struct {
		name     string
		held     bool
		want     engine.Swept
		wantOpen bool
	}{
		{"lock held elsewhere", true, engine.Swept{Skipped: true}, true},
		{"lock free", false, engine.Swept{Expired: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var held atomic.Bool
			var took atomic.Int64
			held.Store(tt.held)
			h := newHarness(t, readFlow(), func(cfg *engine.Config) {
				cfg.Store = lockingStore{cfg.Store, &held, &took}
			})
			r := startRequest()
			stale := h.handle(r)
			h.clock.Advance(2 * time.Minute)
			swept, err := h.engine.Sweep(context.Background())
			if err != nil || swept != tt.want {
				t.Fatalf("Sweep: %+v, %v; want %+v", swept, err, tt.want)
			}
			if open := h.mustSession(stale.SessionID).State == store.SessionOpen; open != tt.wantOpen {
				t.Errorf("session open %t after the sweep, want %t", open, tt.wantOpen)
			}
			if !tt.held && took.Load() == 0 {
				t.Error("the sweep did not take the lock")
			}
		})
	}
}

package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

func TestSweep(t *testing.T) {
	h := newHarness(t, readFlow())
	device := func(id string) engine.Request { r := startRequest(); r.DeviceID = id; return r }

	finished := h.handle(device("D-FINISHED"))
	h.handle(answer(device("D-FINISHED"), finished))
	stale := h.handle(device("D-STALE"))
	h.clock.Advance(30 * time.Second)
	fresh := h.handle(device("D-FRESH"))
	h.clock.Advance(31 * time.Second) // D-STALE is past its TTL, D-FRESH is not

	expired, purged, err := h.engine.Sweep(context.Background())
	if err != nil || expired != 1 || purged != 0 {
		t.Fatalf("first sweep: %d expired, %d purged, %v; want 1, 0", expired, purged, err)
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
	expired, purged, err = h.engine.Sweep(context.Background())
	if err != nil || expired != 1 || purged != 2 {
		t.Fatalf("second sweep: %d expired, %d purged, %v; want 1 (fresh), 2 (finished, stale)", expired, purged, err)
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
	expired, _, err := h.engine.Sweep(context.Background())
	if err != nil || expired != n {
		t.Fatalf("swept %d, %v; want %d", expired, err, n)
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

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

package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/tes-project/tes/store"
)

// sweepBatch bounds the sessions one sweep transaction touches, so that the
// single bbolt writer is never held long.
const sweepBatch = 256

// Sweep closes open sessions whose TTL passed (EXPIRED; a write in flight
// leaves its purchase UNCERTAIN) and purges ended sessions past their
// retention, in bounded transactions. Safe to run beside Handle: a request
// that read a session Sweep then closed loses its compare-and-swap and reads
// it again.
func (e *Engine) Sweep(ctx context.Context) (expired, purged int, err error) {
	now := e.clock.Now()
	for {
		var n int
		err := e.store.Update(ctx, func(tx store.Tx) error {
			n = 0
			open, err := tx.OpenSessionsExpiredBefore(now, sweepBatch)
			if err != nil {
				return fmt.Errorf("listing expired sessions: %w", err)
			}
			for _, s := range open {
				if err := tx.PutSession(e.expire(s, now, "expired: closed by the sweeper")); err != nil {
					return fmt.Errorf("closing session %s: %w", s.ID, err)
				}
				n++
			}
			return nil
		})
		if err != nil {
			return expired, purged, err
		}
		expired += n
		if n < sweepBatch {
			break
		}
	}
	for {
		var n int
		err := e.store.Update(ctx, func(tx store.Tx) error {
			var err error
			n, err = tx.PurgeEnded(now, sweepBatch)
			if err != nil {
				return fmt.Errorf("purging ended sessions: %w", err)
			}
			return nil
		})
		if err != nil {
			return expired, purged, err
		}
		purged += n
		if n < sweepBatch {
			return expired, purged, nil
		}
	}
}

// RunSweeper runs Sweep every interval until ctx ends. A failed sweep is
// logged and tried again at the next tick.
func (e *Engine) RunSweeper(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		expired, purged, err := e.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.ErrorContext(ctx, "engine: sweep failed", "error", err.Error(), "expired", expired, "purged", purged)
		case expired+purged > 0:
			e.log.InfoContext(ctx, "engine: swept sessions", "expired", expired, "purged", purged)
		}
	}
}

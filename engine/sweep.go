package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/tes-project/tes/store"
)

// sweepBatch bounds the records one sweep transaction touches, so that the
// single bbolt writer is never held long, nor PostgreSQL's rows locked.
const sweepBatch = 256

// sweepLock is the store lock (store.Locker) a sweep transaction takes, so
// that of several processes sharing a store one sweeps at a time.
const sweepLock = "engine.sweep"

// Swept counts what one Sweep did.
type Swept struct {
	Expired  int // open sessions closed as EXPIRED
	Purged   int // ended sessions deleted after their retention
	Attempts int // reader-mode attempts deleted after the retention
	// Skipped is set when another process held the sweep lock: this
	// sweep stopped at once and left the work to it.
	Skipped bool
}

// Sweep closes open sessions whose TTL passed (EXPIRED; a write in flight
// leaves its purchase UNCERTAIN), purges ended sessions past their
// retention, and deletes reader-mode attempts older than the retention (a
// reader-mode window longer than the retention would count too few), in
// bounded transactions. Safe to run beside Handle: a request that read a
// session Sweep then closed loses its compare-and-swap and reads it again.
// On a store that several processes share (store.Locker), each batch
// first takes the sweep lock; when another process holds it, Sweep stops
// and reports Skipped.
func (e *Engine) Sweep(ctx context.Context) (Swept, error) {
	now := e.clock.Now()
	var swept Swept
	var err error
	swept.Expired, swept.Skipped, err = e.inBatches(ctx, func(tx store.Tx) (int, error) {
		open, err := tx.OpenSessionsExpiredBefore(now, sweepBatch)
		if err != nil {
			return 0, fmt.Errorf("listing expired sessions: %w", err)
		}
		for _, s := range open {
			if err := tx.PutSession(e.expire(s, now, "expired: closed by the sweeper")); err != nil {
				return 0, fmt.Errorf("closing session %s: %w", s.ID, err)
			}
		}
		return len(open), nil
	})
	if err != nil || swept.Skipped {
		return swept, err
	}
	swept.Purged, swept.Skipped, err = e.inBatches(ctx, func(tx store.Tx) (int, error) {
		n, err := tx.PurgeEnded(now, sweepBatch)
		if err != nil {
			return 0, fmt.Errorf("purging ended sessions: %w", err)
		}
		return n, nil
	})
	if err != nil || swept.Skipped {
		return swept, err
	}
	swept.Attempts, swept.Skipped, err = e.inBatches(ctx, func(tx store.Tx) (int, error) {
		n, err := tx.PurgeReaderModeAttempts(now.Add(-e.retention), sweepBatch)
		if err != nil {
			return 0, fmt.Errorf("purging reader-mode attempts: %w", err)
		}
		return n, nil
	})
	return swept, err
}

// inBatches runs step in its own transaction until it handles fewer than a
// batch, and returns the total it handled. Each transaction first takes
// the sweep lock when the store has one; skipped reports that another
// process held it.
func (e *Engine) inBatches(ctx context.Context, step func(store.Tx) (int, error)) (total int, skipped bool, err error) {
	for {
		var n int
		err := e.store.Update(ctx, func(tx store.Tx) error {
			n, skipped = 0, false // the closure may run more than once
			if l, ok := tx.(store.Locker); ok {
				got, err := l.TryLock(sweepLock)
				if err != nil {
					return fmt.Errorf("taking the sweep lock: %w", err)
				}
				if !got {
					skipped = true
					return nil
				}
			}
			var err error
			n, err = step(tx)
			return err
		})
		if err != nil || skipped {
			return total, skipped, err
		}
		total += n
		if n < sweepBatch {
			return total, false, nil
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
		swept, err := e.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			e.log.ErrorContext(ctx, "engine: sweep failed", "error", err.Error(),
				"expired", swept.Expired, "purged", swept.Purged, "attempts", swept.Attempts)
		case swept.Skipped:
			e.log.DebugContext(ctx, "engine: another process is sweeping; skipped",
				"expired", swept.Expired, "purged", swept.Purged, "attempts", swept.Attempts)
		case swept != Swept{}:
			e.log.InfoContext(ctx, "engine: swept",
				"expired", swept.Expired, "purged", swept.Purged, "attempts", swept.Attempts)
		}
	}
}

package engine_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
)

// TestStepsWaitForATurn: with one step at a time, steps of different
// devices never overlap, and the wait for a turn does not count against a
// step's time limit: the last of four 100 ms steps waits 300 ms, more than
// its 250 ms limit, and still succeeds.
func TestStepsWaitForATurn(t *testing.T) {
	var running, most atomic.Int32
	step := func(ctx context.Context, in flow.Input) (flow.Result, error) {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		select {
		case <-time.After(100 * time.Millisecond): // the step's own work
		case <-ctx.Done():
			return flow.Result{}, ctx.Err()
		}
		return flow.Result{Status: flow.StatusOK, Step: "only"}, nil
	}
	h := newHarness(t, step, func(c *engine.Config) { c.MaxConcurrentSteps = 1 })
	h.issuer.Config.StepTimeout = 250 * time.Millisecond

	const devices = 4
	codes := make([]int, devices)
	var wg sync.WaitGroup
	for i := range devices {
		wg.Go(func() {
			req := startRequest()
			req.DeviceID = fmt.Sprintf("D-%d", i)
			req.CardID = fmt.Sprintf("C-%d", i)
			codes[i] = h.handle(req).StatusCode
		})
	}
	wg.Wait()
	for i, code := range codes {
		if code != flow.StatusOK {
			t.Errorf("device %d: status %d, want %d", i, code, flow.StatusOK)
		}
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d steps ran at once, want 1", m)
	}
}

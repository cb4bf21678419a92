package engine

import (
	"context"
	"fmt"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// heapMetric is the bytes held by heap objects, live or not yet swept.
const heapMetric = "/memory/classes/heap/objects:bytes"

// memoryLinger is how many idle polls the guard waits for a step before
// it stops polling: under load steps come and go many times a poll, and
// starting the poller for each would cost more than the step's own
// bookkeeping.
const memoryLinger = 50

// memoryGrace is how long the guard waits for stopped steps to return
// before it judges the heap again: a step stopped inside a Go builtin that
// never looks at its context must not switch the guard off.
const memoryGrace = 200 * time.Millisecond

// memoryPoll is how often the guard reads the heap while steps run.
// Reading it costs about a microsecond; a script doubling a string needs
// several milliseconds per doubling once it is big enough to matter.
const memoryPoll = 2 * time.Millisecond

// memoryGuard stops steps when the heap passes what the server may hold:
// its own use when the engine started, plus a reserve for requests in
// flight, plus the budget all running steps share (CONTRACT.md §1.7).
// gopher-lua cannot account for what one script allocates, so the guard
// watches the whole heap while any step runs and, when it is over, stops
// every running step: it cannot tell which one allocates, and stopping
// them one at a time let the others grow the heap past twice the limit in
// a test of four growing tables. Once the stopped steps have given their
// Lua states up it collects and returns the memory to the system. A step
// it stops ends with ErrStepMemory.
type memoryGuard struct {
	limit uint64

	mu        sync.Mutex // guards the fields below
	running   []*guardedStep
	stopping  int       // steps stopped that have not returned yet
	stoppedAt time.Time // when the guard last stopped steps
	collect   bool      // stopped steps returned: collect before judging again
	polling   bool
	idle      int // polls in a row with no step running
}

type guardedStep struct {
	stop    context.CancelCauseFunc
	stopped bool
}

func newMemoryGuard(budget, reserve uint64) *memoryGuard {
	return &memoryGuard{limit: heapBytes() + reserve + budget}
}

func heapBytes() uint64 {
	sample := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}

// watch guards one step until the returned function is called.
func (g *memoryGuard) watch(stop context.CancelCauseFunc) (done func()) {
	step := &guardedStep{stop: stop}
	g.mu.Lock()
	g.running = append(g.running, step)
	if !g.polling {
		g.polling = true
		go g.poll()
	}
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		if step.stopped {
			g.stopping--
			g.collect = true
			return
		}
		for i, s := range g.running {
			if s == step {
				g.running = append(g.running[:i], g.running[i+1:]...)
				break
			}
		}
	}
}

// poll runs while steps run, and ends when none does.
func (g *memoryGuard) poll() {
	tick := time.NewTicker(memoryPoll)
	defer tick.Stop()
	for range tick.C {
		if !g.check() {
			return
		}
	}
}

// check stops every running step when the heap is over the limit, and
// reports whether any step still runs or is stopping. While a stopped step
// has not returned its garbage is still reachable: check collects once
// they all have, and does not judge the heap again before that or before
// memoryGrace passed.
func (g *memoryGuard) check() bool {
	g.mu.Lock()
	waiting := g.stopping > 0 && time.Since(g.stoppedAt) < memoryGrace
	collect := g.collect && !waiting
	if collect {
		g.collect = false
	}
	g.mu.Unlock()
	if collect {
		debug.FreeOSMemory() // a collection that also gives the pages back
	}
	if heap := heapBytes(); !waiting && heap > g.limit {
		g.mu.Lock()
		for _, step := range g.running {
			step.stopped = true
			step.stop(fmt.Errorf("%w: the heap reached %d MiB, over the %d MiB that steps share with the server's own use",
				ErrStepMemory, heap>>20, g.limit>>20))
		}
		g.stopping += len(g.running)
		g.stoppedAt = time.Now()
		g.running = g.running[:0]
		g.mu.Unlock()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.running) > 0 || g.stopping > 0 || g.collect {
		g.idle = 0
		return true
	}
	g.idle++
	if g.idle < memoryLinger {
		return true
	}
	g.polling, g.idle = false, 0
	return false
}

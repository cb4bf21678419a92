package engine

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tes-project/tes/flow"
)

// runnerIdleTimeout is how long a runner waits for a step before it exits.
// Starting a runner again costs a few microseconds of stack growth; keeping
// one costs its stack. Seconds make the first negligible under any load
// worth the name and let the runners of an engine no longer used (there is
// no Engine.Close; tests make hundreds) go soon after its last step.
const runnerIdleTimeout = 5 * time.Second

// stepRunners runs steps on goroutines kept from one step to the next. A
// new goroutine starts with a small stack and copies it, doubling, until it
// is as deep as a Lua step with its guards needs, every time; a kept runner
// grew its stack once.
//
// A runner is idle from the moment its step has returned until it is given
// another, so a step the engine abandoned (its request answered 921 while
// the step runs on) holds its runner, and run starts a new one rather than
// queue behind it. At most maxIdle runners wait for a step; one that comes
// back to a full pool exits, as does one idle for idleTimeout.
type stepRunners struct {
	maxIdle     int
	idleTimeout time.Duration

	mu   sync.Mutex    // guards idle
	idle []*stepRunner // most recently used last: it is given the next step, so the others age out
}

// stepRunner is one kept goroutine; work hands it its next step.
type stepRunner struct {
	work chan stepWork // capacity 1: run never waits for the runner to take it
}

// stepWork is a step to run and where its outcome goes.
type stepWork struct {
	step func() (flow.Result, error)
	done chan<- stepDone // buffered: the runner never waits for a caller that left
}

// stepDone is a step's outcome.
type stepDone struct {
	res flow.Result
	err error
}

func newStepRunners(maxIdle int, idleTimeout time.Duration) *stepRunners {
	return &stepRunners{maxIdle: maxIdle, idleTimeout: idleTimeout}
}

// run starts step on an idle runner, or on a new one when none is idle,
// and returns without waiting for it: step's outcome is sent on done,
// which must have room for it; a panic in step is sent as ErrStepPanic.
// Safe for concurrent use.
func (p *stepRunners) run(step func() (flow.Result, error), done chan<- stepDone) {
	w := stepWork{step: step, done: done}
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		r := p.idle[n-1]
		p.idle = slices.Delete(p.idle, n-1, n)
		p.mu.Unlock()
		r.work <- w
		return
	}
	p.mu.Unlock()
	go p.serve(&stepRunner{work: make(chan stepWork, 1)}, w)
}

// serve is a runner's life: it runs w, then every step it is given, until
// the pool is full when it comes back or no step came for idleTimeout.
func (p *stepRunners) serve(r *stepRunner, w stepWork) {
	idle := time.NewTimer(p.idleTimeout)
	defer idle.Stop()
	for {
		d := w.recovered()
		// Back in the pool before the caller learns the outcome, so that
		// the step the caller's slot lets in next finds this runner.
		kept := p.park(r)
		w.done <- d
		if !kept {
			return
		}
		idle.Reset(p.idleTimeout)
		select {
		case w = <-r.work:
		case <-idle.C:
			if p.retire(r) {
				return
			}
			// run took this runner as the timer fired: its step is coming.
			w = <-r.work
		}
	}
}

// park puts r back among the idle runners, unless maxIdle already wait.
func (p *stepRunners) park(r *stepRunner) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= p.maxIdle {
		return false
	}
	p.idle = append(p.idle, r)
	return true
}

// retire takes r out of the idle runners, and reports whether it was
// still there, so that it may exit.
func (p *stepRunners) retire(r *stepRunner) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, idle := range p.idle {
		if idle == r {
			p.idle = slices.Delete(p.idle, i, i+1)
			return true
		}
	}
	return false
}

// recovered runs the step and turns a panic into ErrStepPanic: the runner
// lives on, and a panic would otherwise end the process.
func (w stepWork) recovered() (d stepDone) {
	defer func() {
		if r := recover(); r != nil {
			d = stepDone{err: fmt.Errorf("%w: %v", ErrStepPanic, r)}
		}
	}()
	d.res, d.err = w.step()
	return d
}

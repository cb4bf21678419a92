package engine

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/flow/flowtest"
	"github.com/tes-project/tes/store/boltstore"
)

// goroutineID is the calling goroutine's id, from the header of its stack
// ("goroutine 7 [running]:"): what a step can see of the runner it is on.
func goroutineID() int {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _ := strconv.Atoi(string(bytes.Fields(buf)[1]))
	return id
}

// liveGoroutines is the ids of every goroutine of the process.
func liveGoroutines() []int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var ids []int
	for line := range bytes.Lines(buf) {
		if rest, ok := bytes.CutPrefix(line, []byte("goroutine ")); ok {
			id, _ := strconv.Atoi(string(bytes.Fields(rest)[0]))
			ids = append(ids, id)
		}
	}
	return ids
}

// idleRunners is how many runners wait for a step.
func (p *stepRunners) idleRunners() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// reportingStep is a step that sends its goroutine's id on ran, then waits
// for hold to close (a nil hold does not wait).
func reportingStep(ran chan<- int, hold <-chan struct{}) func() (flow.Result, error) {
	return func() (flow.Result, error) {
		ran <- goroutineID()
		if hold != nil {
			<-hold
		}
		return flow.Result{Status: flow.StatusOK}, nil
	}
}

// newTestRunners is a pool whose runners must all have exited once the
// test (inside a synctest bubble) let them idle for idleTimeout.
func newTestRunners(t *testing.T, maxIdle int, idleTimeout time.Duration) *stepRunners {
	p := newStepRunners(maxIdle, idleTimeout)
	t.Cleanup(func() {
		time.Sleep(idleTimeout)
		synctest.Wait()
		if n := p.idleRunners(); n != 0 {
			t.Errorf("%d runners idle past the idle timeout; want none", n)
		}
	})
	return p
}

// runOne runs step on p and waits for its outcome.
func runOne(p *stepRunners, step func() (flow.Result, error)) stepDone {
	done := make(chan stepDone, 1)
	p.run(step, done)
	return <-done
}

func TestStepRunnersServeConsecutiveStepsOnOneRunner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestRunners(t, 1, time.Minute)
		ran := make(chan int, 3)
		runOne(p, reportingStep(ran, nil))
		d := runOne(p, func() (flow.Result, error) {
			ran <- goroutineID()
			panic("boom")
		})
		if !errors.Is(d.err, ErrStepPanic) {
			t.Fatalf("a panicking step's outcome: %v; want ErrStepPanic", d.err)
		}
		runOne(p, reportingStep(ran, nil))
		first, panicked, last := <-ran, <-ran, <-ran
		if first == goroutineID() || panicked != first || last != first {
			t.Fatalf("steps ran on goroutines %d, %d, %d (the test's is %d); want one runner for all",
				first, panicked, last, goroutineID())
		}
	})
}

// TestStepRunnersDoNotWaitForAStuckStep: a step that does not return holds
// its runner; the steps after it run on another, and the stuck runner
// comes back only once its step returned (here to a full pool: it exits).
func TestStepRunnersDoNotWaitForAStuckStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestRunners(t, 1, time.Minute)
		ran := make(chan int, 1)
		release := make(chan struct{})
		stuckDone := make(chan stepDone, 1)
		p.run(reportingStep(ran, release), stuckDone)
		stuck := <-ran

		runOne(p, reportingStep(ran, nil))
		other := <-ran
		runOne(p, reportingStep(ran, nil))
		if next := <-ran; other == stuck || next != other {
			t.Fatalf("the stuck step is on %d, the next two ran on %d and %d; want both on one other runner",
				stuck, other, next)
		}

		close(release)
		if d := <-stuckDone; d.err != nil {
			t.Fatalf("the released step: %v", d.err)
		}
		synctest.Wait()
		if n, live := p.idleRunners(), liveGoroutines(); n != 1 || slices.Contains(live, stuck) || !slices.Contains(live, other) {
			t.Fatalf("%d idle runners, the stuck one alive: %t, the other: %t; want only the other kept",
				n, slices.Contains(live, stuck), slices.Contains(live, other))
		}
	})
}

func TestStepRunnersKeepAtMostMaxIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const maxIdle, running = 2, 5
		p := newTestRunners(t, maxIdle, time.Minute)
		ran := make(chan int, running)
		release := make(chan struct{})
		done := make(chan stepDone, running)
		for range running {
			p.run(reportingStep(ran, release), done)
		}
		var runners []int
		for range running {
			runners = append(runners, <-ran)
		}
		close(release)
		for range running {
			<-done
		}
		synctest.Wait()
		live := liveGoroutines()
		alive := slices.DeleteFunc(runners, func(id int) bool { return !slices.Contains(live, id) })
		if n := p.idleRunners(); n != maxIdle || len(alive) != maxIdle {
			t.Fatalf("%d idle runners, %d of the %d alive; want %d of each", n, len(alive), running, maxIdle)
		}
	})
}

// TestStepRunnersExitWhenIdle: the runners of an engine no longer used go
// after runnerIdleTimeout (time here is synctest's: nothing sleeps).
func TestStepRunnersExitWhenIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newTestRunners(t, 1, runnerIdleTimeout)
		ran := make(chan int, 1)
		runOne(p, reportingStep(ran, nil))
		runner := <-ran

		time.Sleep(runnerIdleTimeout - time.Nanosecond)
		synctest.Wait()
		if n := p.idleRunners(); n != 1 || !slices.Contains(liveGoroutines(), runner) {
			t.Fatalf("%d idle runners just before the timeout; want the runner kept", n)
		}
		time.Sleep(time.Nanosecond)
		synctest.Wait()
		if n := p.idleRunners(); n != 0 || slices.Contains(liveGoroutines(), runner) {
			t.Fatalf("%d idle runners after the timeout; want the runner gone", n)
		}
	})
}

// TestRunStepOnTheEnginesRunners: runStep runs steps on the engine's kept
// runners, turns a panic into ErrStepPanic, and does not wait for a step
// it abandoned.
func TestRunStepOnTheEnginesRunners(t *testing.T) {
	st, err := boltstore.Open(t.TempDir()+"/tes.db", boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ran := make(chan int, 1)
	release := make(chan struct{})
	iss := flowtest.NewIssuer("DEMO", "v1", func(_ context.Context, in flow.Input) (flow.Result, error) {
		ran <- goroutineID()
		switch in.Operation {
		case "PANIC":
			panic("boom")
		case "STUCK":
			<-release // ignores its context
		}
		return flow.Result{Status: flow.StatusOK}, nil
	})
	e, err := New(Config{Store: st, Flows: flowtest.NewRegistry(iss), MaxConcurrentSteps: 1})
	if err != nil {
		t.Fatal(err)
	}
	step := func(ctx context.Context, operation string) (int, error) {
		_, err := e.runStep(ctx, iss, flow.Input{Operation: operation, Request: flow.Request{IssuerID: "DEMO"}})
		return <-ran, err
	}

	first, err := step(context.Background(), "READ")
	if err != nil || first == goroutineID() {
		t.Fatalf("a step: %v, on goroutine %d, the test's; want it on a runner", err, first)
	}
	panicked, err := step(context.Background(), "PANIC")
	if !errors.Is(err, ErrStepPanic) {
		t.Fatalf("a panicking step: %v; want ErrStepPanic", err)
	}
	if panicked != first {
		t.Fatalf("steps ran on goroutines %d and %d; want one runner for both", first, panicked)
	}

	ctx, cancel := context.WithCancel(context.Background())
	abandoned := make(chan error, 1)
	go func() {
		_, err := e.runStep(ctx, iss, flow.Input{Operation: "STUCK", Request: flow.Request{IssuerID: "DEMO"}})
		abandoned <- err
	}()
	stuck := <-ran
	cancel()
	if err := <-abandoned; !errors.Is(err, context.Canceled) {
		t.Fatalf("the abandoned step: %v; want context.Canceled", err)
	}
	next, err := step(context.Background(), "READ")
	if err != nil || next == stuck {
		t.Fatalf("the step after the stuck one: %v, on goroutine %d (the stuck one's is %d); want it run on another",
			err, next, stuck)
	}
	close(release)
}

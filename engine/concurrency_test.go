package engine_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

const goroutines = 32

// concurrently runs req(i) on goroutines at once and returns the replies.
func concurrently(h *harness, req func(i int) engine.Request) []engine.Reply {
	replies := make([]engine.Reply, goroutines)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range goroutines {
		done.Go(func() {
			start.Wait()
			replies[i] = h.engine.Handle(context.Background(), req(i))
		})
	}
	start.Done()
	done.Wait()
	return replies
}

func TestConcurrentIdenticalContinues(t *testing.T) {
	h := newHarness(t, scripted(
		flow.Result{Commands: [][]byte{frame(1)}},
		flow.Result{Commands: [][]byte{frame(2)}},
		flow.Result{Status: flow.StatusOK},
	))
	first := h.handle(startRequest())
	cont := answer(startRequest(), first)

	replies := concurrently(h, func(int) engine.Request { return cont })
	if h.issuer.Calls() != 2 {
		t.Fatalf("%d steps ran, want the start and one continue", h.issuer.Calls())
	}
	for i, r := range replies {
		if !reflect.DeepEqual(r, replies[0]) {
			t.Fatalf("reply %d = %+v, reply 0 = %+v", i, r, replies[0])
		}
	}
	if len(replies[0].Commands) != 1 || replies[0].Commands[0].ID != "2.1" {
		t.Fatalf("reply %+v, want command 2.1", replies[0])
	}
	if s, _ := h.deviceSession(); s.Revision != 2 || len(s.Trace) != 2 {
		t.Fatalf("revision %d, %d trace entries; want 2 and 2", s.Revision, len(s.Trace))
	}
}

func TestConcurrentStartsOneDevice(t *testing.T) {
	h := newHarness(t, readFlow())
	replies := concurrently(h, func(i int) engine.Request {
		r := startRequest()
		r.PurchaseID = fmt.Sprintf("P-%02d", i)
		r.Operation = "READ"
		return r
	})
	if n := h.sessionCount(); n != 1 || h.issuer.Calls() != 1 {
		t.Fatalf("%d sessions, %d steps; want one of each", n, h.issuer.Calls())
	}
	s, _ := h.deviceSession()
	var started, ongoing int
	for _, r := range replies {
		switch {
		case r.StatusCode == flow.StatusOK && r.SessionID == s.ID:
			started++
		case r.StatusCode == flow.StatusOperationOngoing && r.SessionID == s.ID:
			ongoing++
		default:
			t.Fatalf("unexpected reply %+v", r)
		}
	}
	if started != 1 || ongoing != goroutines-1 || s.State != store.SessionOpen {
		t.Fatalf("%d started, %d ongoing, session %s; want 1, %d, open", started, ongoing, s.State, goroutines-1)
	}
}

func TestConcurrentDevicesDoNotWait(t *testing.T) {
	h := newHarness(t, readFlow())
	replies := concurrently(h, func(i int) engine.Request {
		r := startRequest()
		r.DeviceID = fmt.Sprintf("D-%02d", i)
		r.CardID = fmt.Sprintf("C-%02d", i) // one card each: a card has one open operation
		return r
	})
	for _, r := range replies {
		wantStatus(t, r, flow.StatusOK)
	}
	if n := h.sessionCount(); n != goroutines {
		t.Fatalf("%d sessions, want %d", n, goroutines)
	}
}

// A sweep that closes the session while its step runs wins: the request
// reads the session again, finds it expired and answers 322 without
// running the step twice.
func TestCommitLosesToSweeper(t *testing.T) {
	h := newHarness(t, readFlow())
	first := h.handle(startRequest())
	steps := h.issuer.Run
	h.issuer.Run = func(ctx context.Context, in flow.Input) (flow.Result, error) {
		h.clock.Advance(2 * time.Minute)
		if _, err := h.engine.Sweep(ctx); err != nil {
			return flow.Result{}, err
		}
		return steps(ctx, in)
	}
	got := h.handle(answer(startRequest(), first))
	wantStatus(t, got, flow.StatusTTLExpired)
	s, _ := h.deviceSession()
	if s.EndReason != store.EndExpired || h.issuer.Calls() != 2 || s.Revision != 2 {
		t.Fatalf("session %s rev %d after %d steps; want EXPIRED by the sweeper, rev 2, 2 steps", s.EndReason, s.Revision, h.issuer.Calls())
	}
}

package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// onDevice is the test request on another device.
func onDevice(req engine.Request, device string) engine.Request {
	req.DeviceID = device
	return req
}

func (h *harness) claimHolder(c store.Claim) string {
	h.t.Helper()
	var holder string
	err := h.store.View(h.t.Context(), func(tx store.Tx) error {
		var err error
		holder, err = tx.ClaimHolder(issuerID, c)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return ""
	}
	if err != nil {
		h.t.Fatalf("ClaimHolder: %v", err)
	}
	return holder
}

func TestOneOpenOperationPerCard(t *testing.T) {
	h := newHarness(t, readFlow())
	first := h.handle(startRequest())
	wantStatus(t, first, flow.StatusOK)

	second := h.handle(onDevice(startRequest(), "DEVICE-2"))
	wantStatus(t, second, flow.StatusOperationOngoing)
	if second.SessionID != "" {
		t.Errorf("321 for another device's card names session %q; want none", second.SessionID)
	}
	if n := h.sessionCount(); n != 1 || h.issuer.Calls() != 1 {
		t.Fatalf("%d sessions, %d steps after the refused start; want 1, 1", n, h.issuer.Calls())
	}
	if got := h.claimHolder(store.Claim{Kind: store.ClaimCard, ID: cardID}); got != first.SessionID {
		t.Fatalf("card held by %q, want %q", got, first.SessionID)
	}

	// The first finishes; the card is free for the second device.
	wantStatus(t, h.handle(answer(startRequest(), first)), flow.StatusOK)
	wantStatus(t, h.handle(onDevice(startRequest(), "DEVICE-2")), flow.StatusOK)
}

// TestExpiredHolderGivesWay: a card held by a session whose TTL passed is
// taken by the next device; the late answers of the old session get 322
// and change nothing (issue 9, ordering b).
func TestExpiredHolderGivesWay(t *testing.T) {
	h := newHarness(t, readFlow())
	stale := h.handle(startRequest())
	h.clock.Advance(61 * time.Second)

	taker := h.handle(onDevice(startRequest(), "DEVICE-2"))
	wantStatus(t, taker, flow.StatusOK)
	old := h.mustSession(stale.SessionID)
	if old.State != store.SessionEnded || old.EndReason != store.EndExpired {
		t.Fatalf("old holder is %s/%s, want ENDED/EXPIRED", old.State, old.EndReason)
	}
	if got := h.claimHolder(store.Claim{Kind: store.ClaimCard, ID: cardID}); got != taker.SessionID {
		t.Fatalf("card held by %q, want the new session %q", got, taker.SessionID)
	}
	calls := h.issuer.Calls()
	wantStatus(t, h.handle(answer(startRequest(), stale)), flow.StatusTTLExpired)
	if h.issuer.Calls() != calls {
		t.Fatalf("the expired session's late answers ran a step")
	}
}

// TestIDmClaim: a step that names the physical card's IDm claims it; an
// operation of another device that reaches the same card by its IDm ends
// with 321 and its effects are not written.
func TestIDmClaim(t *testing.T) {
	const idm = "0102030405060708"
	h := newHarness(t, func(_ context.Context, in flow.Input) (flow.Result, error) {
		if len(in.State) == 0 {
			return flow.Result{Step: "poll", State: []byte{1}, Commands: [][]byte{frame(0x00, 0x80, 0xDE)}}, nil
		}
		return flow.Result{Step: "read", State: []byte{2}, IDm: idm, Commands: [][]byte{frame(0x06)},
			Effects: []flow.Effect{{Kind: flow.RecordBalance, Balance: 700, Counter: 3}}}, nil
	})
	h.seedLedger()
	first := h.handle(startRequest())
	wantStatus(t, h.handle(answer(startRequest(), first)), flow.StatusOK)
	if got := h.claimHolder(store.Claim{Kind: store.ClaimIDm, ID: idm}); got != first.SessionID {
		t.Fatalf("IDm held by %q, want %q", got, first.SessionID)
	}

	other := onDevice(startRequest(), "DEVICE-2")
	other.CardID = "CARD-OTHER"
	second := h.handle(other)
	wantStatus(t, second, flow.StatusOK)
	refused := h.handle(answer(other, second))
	wantStatus(t, refused, flow.StatusOperationOngoing)
	s := h.mustSession(second.SessionID)
	if s.State != store.SessionEnded || s.IDm != "" {
		t.Fatalf("refused session %s with IDm %q; want ended without it", s.State, s.IDm)
	}
	if c := h.card("CARD-OTHER"); c.LastKnownBalance != nil {
		t.Fatalf("refused step's effect was written: balance %d", *c.LastKnownBalance)
	}
}

// TestSimultaneousStartsOneCard: devices racing to start on one card; one
// wins, every other gets 321, and one session exists.
func TestSimultaneousStartsOneCard(t *testing.T) {
	h := newHarness(t, readFlow())
	const devices = 8
	codes := make([]int, devices)
	var wg sync.WaitGroup
	for i := range devices {
		wg.Go(func() { codes[i] = h.handle(onDevice(startRequest(), fmt.Sprintf("D-%d", i))).StatusCode })
	}
	wg.Wait()
	ok := 0
	for i, c := range codes {
		switch c {
		case flow.StatusOK:
			ok++
		case flow.StatusOperationOngoing:
		default:
			t.Errorf("device %d got %d", i, c)
		}
	}
	if ok != 1 || h.sessionCount() != 1 {
		t.Fatalf("%d devices started, %d sessions; want 1 and 1", ok, h.sessionCount())
	}
}

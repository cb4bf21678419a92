package e2e_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// A card with no bound device, two devices, two purchases: every ordering
// of their operations must apply both exactly once (issue 9: two orderings
// lost money before one open operation per card).

// raceCase is one kind of purchase and the balance both leave on the
// adult card (1000 yen).
type raceCase struct {
	kind  store.PurchaseKind
	op    string
	final int64
}

var raceCases = []raceCase{
	{store.PurchaseTopUp, "TOPUP", 1000 + 500 + 300},
	{store.PurchaseRefund, "REFUND", 1000 - 500 - 300},
}

// raceTopology says through which engines the two devices talk.
type raceTopology struct {
	name string
	// gateways gives each device's gateway URL.
	gateways func(t *testing.T, s *stack) [2]string
}

var raceTopologies = []raceTopology{
	{"one engine", func(_ *testing.T, s *stack) [2]string { return [2]string{s.gatewayURL, s.gatewayURL} }},
	{"two engines on one store", func(t *testing.T, s *stack) [2]string { return [2]string{s.gatewayURL, s.twin(t)} }},
}

// eachRace runs test for every purchase kind and topology, on a fresh
// stack and card.
func eachRace(t *testing.T, test func(t *testing.T, s *stack, rc raceCase, dev [2]*stepper)) {
	for _, rc := range raceCases {
		for _, top := range raceTopologies {
			t.Run(rc.op+"/"+top.name, func(t *testing.T) {
				s := newStack(t)
				test(t, s, rc, twoDevices(t, s, rc, top.gateways(t, s)))
			})
		}
	}
}

// twoDevices seeds the card and one purchase per device, and returns a
// stepper per device, each on its gateway.
func twoDevices(t *testing.T, s *stack, rc raceCase, gateways [2]string) [2]*stepper {
	t.Helper()
	const cardID = "RACE-CARD"
	s.seedCard(t, tsh.CardSeed{CardID: cardID, ProductCode: 1})
	var steppers [2]*stepper
	for i, amount := range []int64{500, 300} {
		purchase := fmt.Sprintf("RACE-P%d", i+1)
		s.seedPurchase(t, purchase, cardID, rc.kind, amount)
		steppers[i] = newStepper(gateways[i], tsh.Operation{
			CardID: cardID, PurchaseID: purchase, DeviceID: fmt.Sprintf("RACE-DEVICE-%d", i+1), Operation: rc.op,
		})
	}
	return steppers
}

// finish answers reply's batches on crd until the operation ends.
func (st *stepper) finish(t *testing.T, crd *card.Card, reply server.Reply) server.Reply {
	t.Helper()
	for range 8 {
		if reply.ResponseHeader.StatusCode != flow.StatusOK || len(reply.Commands) == 0 {
			return reply
		}
		reply = st.must(t, st.answer(runOn(t, crd, reply.Commands), flow.StatusOK))
	}
	t.Fatal("the operation did not end in 8 batches")
	return reply
}

// wantBothApplied checks the card and the ledger after both operations.
func wantBothApplied(t *testing.T, s *stack, rc raceCase, crd *card.Card) {
	t.Helper()
	if got := stateOf(t, crd).Money.Balance; got != rc.final {
		t.Errorf("card balance %d, want %d", got, rc.final)
	}
	for _, p := range []string{"RACE-P1", "RACE-P2"} {
		if got := s.purchaseStatus(t, p); got != store.PurchaseApplied {
			t.Errorf("purchase %s is %s, want APPLIED", p, got)
		}
	}
}

func wantCode(t *testing.T, what string, reply server.Reply, code int) {
	t.Helper()
	if reply.ResponseHeader.StatusCode != code {
		t.Fatalf("%s: status %d %q, want %d", what, reply.ResponseHeader.StatusCode, reply.ResponseHeader.StatusMessage, code)
	}
}

// TestRaceBothRead: device 2 asks for the card while device 1's operation
// is open: 321, nothing changes; it tries again once device 1 is done.
func TestRaceBothRead(t *testing.T) {
	eachRace(t, func(t *testing.T, s *stack, rc raceCase, dev [2]*stepper) {
		crd := demoCard(t, adultIDm)
		first := dev[0].begin(t)
		wantCode(t, "device 1 starts", first, flow.StatusOK)
		read := dev[0].must(t, dev[0].answer(runOn(t, crd, first.Commands), flow.StatusOK))
		refused := dev[1].begin(t)
		wantCode(t, "device 2 starts on the busy card", refused, flow.StatusOperationOngoing)
		if refused.ResponseHeader.SessionID != "" {
			t.Errorf("321 names session %q of another device", refused.ResponseHeader.SessionID)
		}
		wantCode(t, "device 1 ends", dev[0].finish(t, crd, read), flow.StatusOK)
		wantCode(t, "device 2 ends", dev[1].finish(t, crd, dev[1].begin(t)), flow.StatusOK)
		wantBothApplied(t, s, rc, crd)
	})
}

// TestRaceStaleAnswers: device 2 reads the card and goes quiet past its
// TTL; device 1 takes the card over and completes; device 2's old answers
// get 322 and change nothing; its retry completes.
func TestRaceStaleAnswers(t *testing.T) {
	eachRace(t, func(t *testing.T, s *stack, rc raceCase, dev [2]*stepper) {
		crd := demoCard(t, adultIDm)
		first := dev[1].begin(t)
		read := dev[1].must(t, dev[1].answer(runOn(t, crd, first.Commands), flow.StatusOK))
		staleAnswers := dev[1].answer(runOn(t, crd, read.Commands), flow.StatusOK)
		wantCode(t, "device 1 while device 2 is open", dev[0].begin(t), flow.StatusOperationOngoing)

		s.clock.Advance(demoTTL + 1)
		wantCode(t, "device 1 after device 2's TTL", dev[0].finish(t, crd, dev[0].begin(t)), flow.StatusOK)
		wantCode(t, "device 2's stale answers", dev[1].must(t, staleAnswers), flow.StatusTTLExpired)
		wantCode(t, "device 2 again", dev[1].finish(t, crd, dev[1].begin(t)), flow.StatusOK)
		wantBothApplied(t, s, rc, crd)
	})
}

// TestRaceSimultaneousStart: both devices start at once; one goes ahead,
// the other gets 321, then each completes in turn.
func TestRaceSimultaneousStart(t *testing.T) {
	eachRace(t, func(t *testing.T, s *stack, rc raceCase, dev [2]*stepper) {
		crd := demoCard(t, adultIDm)
		var replies [2]server.Reply
		var wg sync.WaitGroup
		for i := range dev {
			wg.Go(func() { replies[i] = dev[i].must(t, dev[i].start) })
		}
		wg.Wait()
		winner := -1
		for i, r := range replies {
			switch r.ResponseHeader.StatusCode {
			case flow.StatusOK:
				if winner >= 0 {
					t.Fatalf("both devices started on one card")
				}
				winner = i
			case flow.StatusOperationOngoing:
			default:
				t.Fatalf("device %d: %+v", i+1, r.ResponseHeader)
			}
		}
		if winner < 0 {
			t.Fatalf("neither device started")
		}
		loser := 1 - winner
		wantCode(t, "the winner ends", dev[winner].finish(t, crd, replies[winner]), flow.StatusOK)
		wantCode(t, "the other ends", dev[loser].finish(t, crd, dev[loser].begin(t)), flow.StatusOK)
		wantBothApplied(t, s, rc, crd)
	})
}

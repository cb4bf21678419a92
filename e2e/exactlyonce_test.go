package e2e_test

import (
	"slices"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// writeAnswer is the round trip that answers the batch carrying the write,
// in every DEMO flow that writes: 1 starts (the reply is Polling), 2
// answers it (read), 3 answers the read (write), 4 answers the write.
const writeAnswer = 4

// noReply: the first attempt ended without a reply to check.
const noReply = -1

// onceRow is a money-moving write interrupted one way, then settled by the
// next operation on the card and retried (CONTRACT.md §1.6).
type onceRow struct {
	name string
	// interrupt plays the first attempt of op; its StatusCode is noReply
	// when no reply ended it.
	interrupt interruption
	status    int
	// purchase is the purchase's status right after the first attempt.
	purchase store.PurchaseStatus
	// applied: the card applied the write in the first attempt.
	applied bool
	// retryFirst: the retry is the next operation on the card, and settles;
	// otherwise a READ settles before the retry.
	retryFirst bool
}

// interruption plays the first attempt of an operation that a fault
// interrupts.
type interruption func(t *testing.T, s *stack, op tsh.Operation, crd *card.Card) tsh.Outcome

// runWith plays op with faults.
func runWith(faults ...tsh.Fault) interruption {
	return func(t *testing.T, s *stack, op tsh.Operation, crd *card.Card) tsh.Outcome {
		return s.run(t, op, crd, faults...)
	}
}

// loseAnswerThenFail: the card applies the write, its answer is lost, and
// the TSH reports the device failure code with the responses it has.
func loseAnswerThenFail(code int) interruption {
	return func(t *testing.T, s *stack, op tsh.Operation, crd *card.Card) tsh.Outcome {
		st := newStepper(s.gatewayURL, op)
		write := st.toWrite(t, crd)
		if err := crd.Arm(card.Fault{Kind: card.LoseAnswerAfterWrite}); err != nil {
			t.Fatal(err)
		}
		reply := st.must(t, st.answer(runOn(t, crd, write.Commands), code))
		if reply.ResponseHeader.SessionID != write.ResponseHeader.SessionID || len(reply.Commands) != 0 {
			t.Errorf("device failure answered %+v, want the end of session %s", reply, write.ResponseHeader.SessionID)
		}
		h := reply.ResponseHeader
		return tsh.Outcome{SessionID: h.SessionID, StatusCode: h.StatusCode, StatusMessage: h.StatusMessage, Balance: reply.Balance, CardAccountID: reply.CardAccountID}
	}
}

// expireUnanswered: the card applies the write, then the device goes
// quiet past the TTL; the next operation on the device finds the session
// expired.
func expireUnanswered(t *testing.T, s *stack, op tsh.Operation, crd *card.Card) tsh.Outcome {
	st := newStepper(s.gatewayURL, op)
	runOn(t, crd, st.toWrite(t, crd).Commands)
	s.clock.Advance(demoTTL + 1)
	return tsh.Outcome{StatusCode: noReply}
}

func TestExactlyOnce(t *testing.T) {
	pastTTL := tsh.Fault{Kind: tsh.Pause, RoundTrip: writeAnswer, Delay: demoTTL + 1}
	rows := []onceRow{
		{name: "answer lost, then device error 231", interrupt: loseAnswerThenFail(flow.StatusDeviceError),
			status: flow.StatusDeviceError, purchase: store.PurchaseUncertain, applied: true},
		{name: "answer lost, then device error 232; the retry settles", interrupt: loseAnswerThenFail(flow.StatusDeviceOutOfMemory),
			status: flow.StatusDeviceOutOfMemory, purchase: store.PurchaseUncertain, applied: true, retryFirst: true},
		{name: "write never reached the card, device error 231",
			interrupt: runWith(tsh.Fault{Kind: tsh.DeviceError, RoundTrip: writeAnswer, StatusCode: flow.StatusDeviceError}),
			status:    flow.StatusDeviceError, purchase: store.PurchaseUncertain},
		{name: "write never reached the card, device error 221; the retry settles",
			interrupt: runWith(tsh.Fault{Kind: tsh.DeviceError, RoundTrip: writeAnswer, StatusCode: flow.StatusDeviceUnreachable}),
			status:    flow.StatusDeviceUnreachable, purchase: store.PurchaseUncertain, retryFirst: true},
		{name: "answer lost, status 0: the flow reads the counter back", interrupt: runWith(tsh.Fault{Kind: tsh.LoseAnswerAfterWrite}),
			status: flow.StatusOK, purchase: store.PurchaseApplied, applied: true},
		{name: "card failed before the write, status 0: the flow reads the counter back", interrupt: runWith(tsh.Fault{Kind: tsh.FailBeforeWrite}),
			status: flow.StatusOperationFailed, purchase: store.PurchasePending},
		{name: "TTL passed after the write was applied", interrupt: runWith(pastTTL),
			status: flow.StatusTTLExpired, purchase: store.PurchaseUncertain, applied: true},
		{name: "TTL passed after a write the card never applied", interrupt: runWith(tsh.Fault{Kind: tsh.FailBeforeWrite}, pastTTL),
			status: flow.StatusTTLExpired, purchase: store.PurchaseUncertain},
		{name: "TTL passed unanswered; the retry closes the session and settles", interrupt: expireUnanswered,
			status: noReply, purchase: store.PurchaseUncertain, applied: true, retryFirst: true},
		{name: "TTL passed unanswered; a READ closes the session and settles", interrupt: expireUnanswered,
			status: noReply, purchase: store.PurchaseUncertain, applied: true},
	}
	for _, kind := range []struct {
		op     tsh.Operation
		amount int64
		record int
	}{{topUp, 500, kindTopUp}, {refund, 300, kindRefund}} {
		for _, row := range rows {
			t.Run(kind.op.Operation+"/"+row.name, func(t *testing.T) {
				row.play(t, kind.op, kind.amount, kind.record)
			})
		}
	}
}

func (row onceRow) play(t *testing.T, op tsh.Operation, amount int64, kind int) {
	s := newStack(t)
	crd := demoCard(t, adultIDm)
	s.seedCard(t, tsh.CardSeed{CardID: cardID, ProductCode: 1})
	s.seedPurchase(t, purchaseID, cardID, store.PurchaseKind(op.Operation), amount)
	start := stateOf(t, crd)
	change := amount
	if kind == kindRefund {
		change = -amount
	}
	moved := cardState{
		Money:   money{start.Money.Balance + change, start.Money.Counter + 1},
		Newest:  record{kind, change, start.Money.Balance + change, start.Money.Counter + 1, now},
		Records: start.Records + 1,
	}

	if got := row.interrupt(t, s, op, crd).StatusCode; got != row.status {
		t.Errorf("first attempt: status %d, want %d", got, row.status)
	}
	wantCard := start
	if row.applied {
		wantCard = moved
	}
	if got := stateOf(t, crd); got != wantCard {
		t.Fatalf("card after the first attempt:\n got %+v\nwant %+v", got, wantCard)
	}
	if got := s.purchaseStatus(t, purchaseID); got != row.purchase {
		t.Errorf("purchase after the first attempt: %s, want %s", got, row.purchase)
	}
	if uncertain := s.ledgerCard(t, cardID).UncertainPurchases; slices.Contains(uncertain, purchaseID) != (row.purchase == store.PurchaseUncertain) {
		t.Errorf("ledger card's uncertain purchases %v, purchase %s", uncertain, row.purchase)
	}

	if !row.retryFirst {
		// READ settles and writes nothing.
		out := s.run(t, read, crd)
		if out.StatusCode != 0 || balanceOf(out) != wantCard.Money.Balance {
			t.Errorf("settling READ: %s, balance %d; want 0, %d", describe(out), balanceOf(out), wantCard.Money.Balance)
		}
		want := store.PurchasePending
		if row.applied {
			want = store.PurchaseApplied
		}
		if got := s.purchaseStatus(t, purchaseID); got != want {
			t.Errorf("purchase after the settling READ: %s, want %s", got, want)
		}
		if got := stateOf(t, crd); got != wantCard {
			t.Errorf("the settling READ changed the card: %+v", got)
		}
	}

	if !row.applied {
		// The retry writes the record, at the clock's time then.
		moved.Newest.Time = s.clock.Now().Unix()
	}
	retry := s.run(t, op, crd)
	if row.applied {
		if retry.StatusCode != flow.StatusOperationFailed {
			t.Errorf("retry of an applied purchase: %s, want 911\n%s", describe(retry), roundTrips(retry))
		}
	} else if retry.StatusCode != 0 || balanceOf(retry) != moved.Money.Balance {
		t.Errorf("retry: %s, balance %d; want 0, %d\n%s", describe(retry), balanceOf(retry), moved.Money.Balance, roundTrips(retry))
	}
	if got := stateOf(t, crd); got != moved {
		t.Errorf("card at the end, the money must have moved once:\n got %+v\nwant %+v", got, moved)
	}
	if got := s.purchaseStatus(t, purchaseID); got != store.PurchaseApplied {
		t.Errorf("purchase at the end: %s, want APPLIED", got)
	}
	if uncertain := s.ledgerCard(t, cardID).UncertainPurchases; len(uncertain) != 0 {
		t.Errorf("uncertain purchases left: %v", uncertain)
	}
}

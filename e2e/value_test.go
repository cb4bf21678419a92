package e2e_test

import (
	"testing"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/tsh"
)

// valueRow is a write that moves a card's value off the card without a
// purchase (PARK keeps it on the server, READER_MODE moves it into an
// account), interrupted one way, then retried once. Whatever the fault,
// the value must end in exactly one place on the server.
type valueRow struct {
	name      string
	op        tsh.Operation
	idm       string
	interrupt interruption
	// applied: the card applied the write in the first attempt.
	applied bool
	value   int64
	// moved is the card once the write is applied.
	moved cardState
}

func TestValueIsNeverLost(t *testing.T) {
	parked := cardState{Status: cardParked, Money: money{1000, 7}, Newest: record{kindPark, 0, 1000, 7, now}, Records: 3}
	transferred := cardState{Status: 2, Money: money{0, 42}, Newest: record{kindTransferOut, -3210, 0, 42, now}, Records: 2}
	var rows []valueRow
	for _, op := range []struct {
		op    tsh.Operation
		idm   string
		value int64
		moved cardState
	}{{park, adultIDm, 1000, parked}, {withContents(t, physicalIDm, nil), physicalIDm, 3210, transferred}} {
		rows = append(rows,
			valueRow{name: op.op.Operation + "/answer lost, status 0", interrupt: runWith(tsh.Fault{Kind: tsh.LoseAnswerAfterWrite}), applied: true},
			valueRow{name: op.op.Operation + "/answer lost, then device error 231", interrupt: loseAnswerThenFail(flow.StatusDeviceError), applied: true},
			valueRow{name: op.op.Operation + "/card failed before the write, status 0", interrupt: runWith(tsh.Fault{Kind: tsh.FailBeforeWrite})},
			valueRow{name: op.op.Operation + "/write never reached the card, device error 231",
				interrupt: runWith(tsh.Fault{Kind: tsh.DeviceError, RoundTrip: writeAnswer, StatusCode: flow.StatusDeviceError})},
		)
		for i := len(rows) - 4; i < len(rows); i++ {
			rows[i].op, rows[i].idm, rows[i].value, rows[i].moved = op.op, op.idm, op.value, op.moved
		}
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) { row.play(t) })
	}
}

func (row valueRow) play(t *testing.T) {
	s := newStack(t)
	s.seedCard(t, tsh.CardSeed{CardID: cardID, ProductCode: 1})
	crd := demoCard(t, row.idm)
	start := crd.Snapshot()

	first := row.interrupt(t, s, row.op, crd)
	if row.applied {
		if got := stateOf(t, crd); got != row.moved {
			t.Fatalf("card after the first attempt:\n got %+v\nwant %+v", got, row.moved)
		}
	} else {
		if first.StatusCode == flow.StatusOK {
			t.Errorf("first attempt: status 0 for a write the card never applied")
		}
		unchanged(t, start, crd)
	}
	retry := s.run(t, row.op, crd)

	// Exactly one of the two attempts hands the value over.
	var handed []tsh.Outcome
	for _, out := range []tsh.Outcome{first, retry} {
		if out.StatusCode == flow.StatusOK {
			handed = append(handed, out)
		}
	}
	if len(handed) != 1 {
		t.Fatalf("first attempt %s, retry %s: want exactly one of them to end with 0", describe(first), describe(retry))
	}
	if balanceOf(handed[0]) != row.value {
		t.Errorf("balance handed over %d, want %d", balanceOf(handed[0]), row.value)
	}
	if got := stateOf(t, crd); got.Status != row.moved.Status || got.Money != row.moved.Money || got.Records != row.moved.Records {
		t.Errorf("card at the end:\n got %+v\nwant %+v", got, row.moved)
	}
	switch withDefaults(row.op).Endpoint {
	case flow.EndpointPark:
		c := s.ledgerCard(t, cardID)
		if c.ParkedBalance == nil || *c.ParkedBalance != row.value {
			t.Errorf("ledger parkedBalance %v, want %d", c.ParkedBalance, row.value)
		}
	case flow.EndpointReaderMode:
		if a := s.account(t, handed[0].CardAccountID); a.Balance != row.value || a.IDm != row.idm {
			t.Errorf("account %+v, want %d yen from %s", a, row.value, row.idm)
		}
	}
}

package scripts_test

import (
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
)

// writeStep is the step whose batch carries the write in PARK and
// READER_MODE: Polling, the read, then the write.
const writeStep = 3

// valueFlow is an operation that moves a card's whole value off it
// without a purchase.
type valueFlow struct {
	endpoint flow.Endpoint
	idm      string
	req      flow.Request
	value    int64
	status   string // the card's info status byte once moved, hex
	kind     string // its history record kind, hex
	again    int    // the status of a further attempt once the value moved
}

var (
	parkFlow = valueFlow{endpoint: flow.EndpointPark, idm: adult, req: flow.Request{CardID: "card-1", DeviceID: "dev-1"},
		value: 1000, status: "01", kind: "03", again: flow.StatusDeleted}
	readerFlow = valueFlow{endpoint: flow.EndpointReaderMode, idm: plastic, req: flow.Request{DeviceID: "dev-9"},
		value: 3210, status: "02", kind: "04", again: flow.StatusAlreadyProvisioned}
)

func TestValueWriteInterrupted(t *testing.T) {
	tests := []struct {
		name  string
		flow  valueFlow
		fault card.FaultKind
		// deviceFailure: the operation ends right after the write is sent;
		// otherwise the flow gets the empty answer with status 0.
		deviceFailure bool
		// applied: the card took the write in the first attempt.
		applied bool
	}{
		{name: "park, answer lost: the flow reads the status back", flow: parkFlow, fault: card.LoseAnswerAfterWrite, applied: true},
		{name: "park, answer lost, then device failure", flow: parkFlow, fault: card.LoseAnswerAfterWrite, deviceFailure: true, applied: true},
		{name: "park, write never applied: the flow reads the status back", flow: parkFlow, fault: card.FailBeforeWrite},
		{name: "park, write never applied, then device failure", flow: parkFlow, fault: card.FailBeforeWrite, deviceFailure: true},
		{name: "reader mode, answer lost: the flow reads the counter back", flow: readerFlow, fault: card.LoseAnswerAfterWrite, applied: true},
		{name: "reader mode, answer lost, then device failure", flow: readerFlow, fault: card.LoseAnswerAfterWrite, deviceFailure: true, applied: true},
		{name: "reader mode, write never applied: the flow reads the counter back", flow: readerFlow, fault: card.FailBeforeWrite},
		{name: "reader mode, write never applied, then device failure", flow: readerFlow, fault: card.FailBeforeWrite, deviceFailure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, l, f := openDemo(t), newLedger(), tt.flow
			l.cards["card-1"] = activeCard("card-1")
			c := demoCard(t, f.idm, nil)
			before := c.Snapshot()
			if err := c.Arm(card.Fault{Kind: tt.fault}); err != nil {
				t.Fatal(err)
			}
			steps := 20
			if tt.deviceFailure {
				steps = writeStep
			}
			first, ended := play(t, reg, l, c, f.endpoint, "", f.req, steps)
			if ended == tt.deviceFailure {
				t.Fatalf("first attempt ended %v after %d steps (%d %s)", ended, first.steps, first.status, first.message)
			}
			if tt.applied != (blockOf(t, c, "info", 0)[:2] == f.status) {
				t.Fatalf("card info %s after the first attempt, applied %v", blockOf(t, c, "info", 0), tt.applied)
			}
			if !tt.applied && c.Snapshot().Blocks["balance"][0] != before.Blocks["balance"][0] {
				t.Fatal("a write the card never applied changed its balance")
			}

			retry := run(t, reg, l, c, f.endpoint, "", f.req)
			handed := []outcome{}
			for _, out := range []outcome{first, retry} {
				if out.status == flow.StatusOK && out.steps > 0 && out.balance != nil {
					handed = append(handed, out)
				}
			}
			if len(handed) != 1 || *handed[0].balance != f.value {
				t.Fatalf("first %d %q, retry %d %q: want exactly one to hand over %d", first.status, first.message, retry.status, retry.message, f.value)
			}
			if !tt.deviceFailure && !tt.applied && first.status != flow.StatusOperationFailed {
				t.Errorf("first attempt %d, want 911 for a write the card never applied", first.status)
			}
			if tt.applied && !tt.deviceFailure && retry.status != f.again {
				t.Errorf("retry after the value moved: %d, want %d", retry.status, f.again)
			}
			if got := blockOf(t, c, "history", 0)[:2]; got != f.kind {
				t.Errorf("newest history record of kind %s, want %s", got, f.kind)
			}
			if got := blockOf(t, c, "history", 1)[:2]; got == f.kind {
				t.Error("two records of the move: the card was written twice")
			}
			wantValueOnServer(t, l, f)
		})
	}
}

// wantValueOnServer: the ledger holds the value in one place, confirmed.
func wantValueOnServer(t *testing.T, l *ledger, f valueFlow) {
	t.Helper()
	switch f.endpoint {
	case flow.EndpointPark:
		if b, ok := l.parked["card-1"]; !ok || b != f.value || l.cards["card-1"].PendingPark != nil {
			t.Errorf("parked %d (%v), pending park %+v; want %d parked, none pending", b, ok, l.cards["card-1"].PendingPark, f.value)
		}
	case flow.EndpointReaderMode:
		if a := l.accounts[f.idm]; a.Pending || a.Balance != f.value || a.CardAccountID != "acct-"+f.idm {
			t.Errorf("account %+v, want %d confirmed", a, f.value)
		}
	}
}

func TestPendingMarkCompletesOnlyItsOwnWrite(t *testing.T) {
	t.Run("parked card without a pending park: 160", func(t *testing.T) {
		reg, l := openDemo(t), newLedger()
		l.cards["card-1"] = activeCard("card-1")
		c := demoCard(t, adult, nil)
		if err := c.Arm(card.Fault{Kind: card.LoseAnswerAfterWrite}); err != nil {
			t.Fatal(err)
		}
		play(t, reg, l, c, flow.EndpointPark, "", parkFlow.req, writeStep)
		if l.cards["card-1"].PendingPark == nil {
			t.Fatal("no pending park after the park write was sent")
		}
		// Parked by some other way than this server's write.
		cd := l.cards["card-1"]
		cd.PendingPark = nil
		l.cards["card-1"] = cd
		if out := run(t, reg, l, c, flow.EndpointPark, "", parkFlow.req); out.status != flow.StatusDeleted {
			t.Fatalf("status %d (%s), want 160", out.status, out.message)
		}
		if _, ok := l.parked["card-1"]; ok {
			t.Error("a park was recorded for a card parked otherwise")
		}
	})
	for _, tt := range []struct {
		name    string
		pending *flow.Account
	}{
		{name: "transferred sample card, no account: 167"},
		{name: "transferred sample card, pending account at another counter: 167",
			pending: &flow.Account{CardAccountID: "pending-" + moved, IDm: moved, Balance: 500, Pending: true, ExpectedCounter: 9999}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			reg, l := openDemo(t), newLedger()
			if tt.pending != nil {
				l.accounts[moved] = *tt.pending
			}
			c := demoCard(t, moved, nil)
			before := c.Snapshot()
			if out := run(t, reg, l, c, flow.EndpointReaderMode, "", readerFlow.req); out.status != flow.StatusAlreadyProvisioned {
				t.Fatalf("status %d (%s), want 167", out.status, out.message)
			}
			if a, ok := l.accounts[moved]; ok != (tt.pending != nil) || a.CardAccountID != "" && !a.Pending {
				t.Errorf("account %+v after a refused reader mode", a)
			}
			if c.Snapshot().Blocks["info"][0] != before.Blocks["info"][0] {
				t.Error("a refused reader mode wrote the card")
			}
		})
	}
}

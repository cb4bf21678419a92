package scripts_test

import (
	"testing"
	"time"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
)

const (
	adult     = "012E4C7A11223344"
	staff     = "012E4C7A11223345"
	inStation = "012E4C7A11223346"
	nearMax   = "012E4C7A11223347"
	plastic   = "0101120012345678"
	moved     = "0101120012345679"
	expired   = "010112001234567A"
)

func activeCard(id string) flow.Card {
	return flow.Card{CardID: id, Status: "ACTIVE", ProductCode: 1, DeviceID: "dev-1", Expiry: "2030-12-31"}
}

func TestTopUpWritesBalanceCounterAndHistoryOnce(t *testing.T) {
	reg, l := openDemo(t), newLedger()
	c := demoCard(t, adult, nil)
	l.cards["card-1"] = activeCard("card-1")
	l.purchases["p-1"] = flow.Purchase{PurchaseID: "p-1", CardID: "card-1", Amount: 500, Kind: "TOPUP", Status: "PENDING"}
	req := flow.Request{CardID: "card-1", PurchaseID: "p-1", DeviceID: "dev-1"}

	out := run(t, reg, l, c, flow.EndpointCard, "", req)
	if out.status != 0 || out.balance == nil || *out.balance != 1500 {
		t.Fatalf("status %d balance %v (%s), want 0 and 1500", out.status, out.balance, out.message)
	}
	if got := blockOf(t, c, "balance", 0); got != "DC050000080000000000000000000000" {
		t.Errorf("balance block %s, want 1500 yen counter 8", got)
	}
	if got := blockOf(t, c, "history", 0)[:22]; got != "01F4010000DC0500000800" {
		t.Errorf("history record %s, want top-up +500 → 1500 counter 8", got)
	}
	if p := l.purchases["p-1"]; p.Status != "APPLIED" {
		t.Errorf("purchase %s, want APPLIED", p.Status)
	}
	if b := l.cards["card-1"].LastKnownBalance; b == nil || *b != 1500 {
		t.Errorf("ledger balance %v, want 1500", b)
	}

	again := run(t, reg, l, c, flow.EndpointCard, "TOPUP", req)
	if again.status != flow.StatusOperationFailed {
		t.Errorf("second top-up of an applied purchase: status %d, want 911", again.status)
	}
	if got := blockOf(t, c, "balance", 0); got != "DC050000080000000000000000000000" {
		t.Errorf("second top-up changed the card: %s", got)
	}
}

func TestReadRefundPark(t *testing.T) {
	reg, l := openDemo(t), newLedger()
	c := demoCard(t, adult, nil)
	l.cards["card-1"] = activeCard("card-1")
	l.purchases["r-1"] = flow.Purchase{PurchaseID: "r-1", CardID: "card-1", Amount: 1000, Kind: "REFUND", Status: "PENDING"}
	req := flow.Request{CardID: "card-1", DeviceID: "dev-1"}

	out := run(t, reg, l, c, flow.EndpointCard, "", req)
	if out.status != 0 || out.balance == nil || *out.balance != 1000 {
		t.Fatalf("READ: status %d balance %v (%s)", out.status, out.balance, out.message)
	}
	if b := l.cards["card-1"].LastKnownBalance; b == nil || *b != 1000 {
		t.Errorf("READ did not record the balance: %v", b)
	}

	req.PurchaseID = "r-1"
	out = run(t, reg, l, c, flow.EndpointCard, "REFUND", req)
	if out.status != 0 || *out.balance != 0 {
		t.Fatalf("REFUND of the whole balance: status %d balance %v (%s)", out.status, out.balance, out.message)
	}
	if got := blockOf(t, c, "history", 0)[:22]; got != "0218FCFFFF000000000800" {
		t.Errorf("refund record %s", got)
	}

	req.PurchaseID = ""
	out = run(t, reg, l, c, flow.EndpointPark, "BLOCK_AND_READ_CARD", req)
	if out.status != 0 || *out.balance != 0 {
		t.Fatalf("PARK: status %d (%s)", out.status, out.message)
	}
	if got := blockOf(t, c, "info", 0)[:2]; got != "01" {
		t.Errorf("info status %s after park, want 01", got)
	}
	if _, ok := l.parked["card-1"]; !ok {
		t.Error("no ParkCard effect")
	}
	if out := run(t, reg, l, c, flow.EndpointPark, "", req); out.status != flow.StatusDeleted {
		t.Errorf("parking a parked card: %d, want 160", out.status)
	}
}

func TestReaderModeMovesValueOffThePlasticCard(t *testing.T) {
	reg, l := openDemo(t), newLedger()
	c := demoCard(t, plastic, nil)
	req := flow.Request{DeviceID: "dev-9", CardContents: &flow.CardContents{
		SystemCode: 0x80DE, IDm: plastic,
		Areas: []flow.AreaKey{{AreaCode: 0x0000}, {AreaCode: 0x1000, KeyVersion: 1}},
	}}
	out := run(t, reg, l, c, flow.EndpointReaderMode, "", req)
	if out.status != 0 || *out.balance != 3210 {
		t.Fatalf("status %d balance %v (%s)", out.status, out.balance, out.message)
	}
	if a := l.accounts[plastic]; a.Balance != 3210 {
		t.Errorf("account %+v, want balance 3210", a)
	}
	if got := blockOf(t, c, "balance", 0); got != "000000002A0000000000000000000000" {
		t.Errorf("balance block %s, want 0 with counter 42", got)
	}
	if got := blockOf(t, c, "info", 0)[:2]; got != "02" {
		t.Errorf("info status %s, want 02 transferred", got)
	}
	if got := blockOf(t, c, "history", 0)[:22]; got != "0476F3FFFF000000002A00" {
		t.Errorf("transfer-out record %s", got)
	}
	if out := run(t, reg, l, c, flow.EndpointReaderMode, "", req); out.status != flow.StatusAlreadyProvisioned {
		t.Errorf("second reader mode: %d, want 167", out.status)
	}
	if len(l.attempts) != 2 {
		t.Errorf("%d attempts counted, want 2", len(l.attempts))
	}
}

func TestStatusCodes(t *testing.T) {
	otherSystem := func(l *card.Layout) { l.SystemCode = 0x12FC }
	tests := []struct {
		name     string
		idm      string
		layout   func(*card.Layout)
		endpoint flow.Endpoint
		op       string
		setup    func(l *ledger)
		req      flow.Request
		want     int
	}{
		{name: "unknown card", idm: adult, endpoint: flow.EndpointCard, req: flow.Request{CardID: "nope", DeviceID: "dev-1"}, want: 119},
		{name: "other device", idm: adult, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", DeviceID: "dev-2"}, want: 117},
		{name: "ledger blacklisted", idm: adult, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", DeviceID: "dev-1"},
			setup: func(l *ledger) { c := l.cards["card-1"]; c.Status = "BLACKLISTED"; l.cards["card-1"] = c }, want: 159},
		{name: "IDm blacklisted", idm: adult, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", DeviceID: "dev-1"},
			setup: func(l *ledger) { l.black[adult] = true }, want: 159},
		{name: "deleted", idm: adult, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", DeviceID: "dev-1"},
			setup: func(l *ledger) { c := l.cards["card-1"]; c.Status = "DELETED"; l.cards["card-1"] = c }, want: 160},
		{name: "ledger expiry", idm: adult, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", DeviceID: "dev-1"},
			setup: func(l *ledger) { c := l.cards["card-1"]; c.Expiry = "2025-01-01"; l.cards["card-1"] = c }, want: 191},
		{name: "refund over balance", idm: adult, endpoint: flow.EndpointCard, op: "REFUND",
			req: flow.Request{CardID: "card-1", PurchaseID: "big", DeviceID: "dev-1"}, want: 162},
		{name: "staff top-up", idm: staff, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", PurchaseID: "p-200", DeviceID: "dev-1"}, want: 163},
		{name: "top-up past max", idm: nearMax, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", PurchaseID: "p-201", DeviceID: "dev-1"}, want: 163},
		{name: "top-up to exactly max", idm: nearMax, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", PurchaseID: "p-200", DeviceID: "dev-1"}, want: 0},
		{name: "other system answers", idm: adult, layout: otherSystem, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", DeviceID: "dev-1"}, want: 172},
		{name: "in-station", idm: inStation, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", DeviceID: "dev-1"}, want: 178},
		{name: "applied purchase", idm: adult, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", PurchaseID: "done", DeviceID: "dev-1"}, want: 911},
		{name: "purchase of another card", idm: adult, endpoint: flow.EndpointCard, req: flow.Request{CardID: "card-1", PurchaseID: "other", DeviceID: "dev-1"}, want: 911},
		{name: "reader mode other system", idm: plastic, endpoint: flow.EndpointReaderMode,
			req: flow.Request{DeviceID: "d", CardContents: &flow.CardContents{SystemCode: 0x0003, Areas: []flow.AreaKey{{AreaCode: 0x1000, KeyVersion: 1}}}}, want: 172},
		{name: "reader mode area missing", idm: plastic, endpoint: flow.EndpointReaderMode,
			req: flow.Request{DeviceID: "d", CardContents: &flow.CardContents{SystemCode: 0x80DE, Areas: []flow.AreaKey{{AreaCode: 0x1000, KeyVersion: 2}}}}, want: 177},
		{name: "reader mode expired card", idm: expired, endpoint: flow.EndpointReaderMode, req: flow.Request{DeviceID: "d"}, want: 191},
		{name: "reader mode transferred card", idm: moved, endpoint: flow.EndpointReaderMode, req: flow.Request{DeviceID: "d"}, want: 167},
		{name: "reader mode blacklisted IDm", idm: plastic, endpoint: flow.EndpointReaderMode, req: flow.Request{DeviceID: "d"},
			setup: func(l *ledger) { l.black[plastic] = true }, want: 159},
		{name: "reader mode threshold", idm: plastic, endpoint: flow.EndpointReaderMode, req: flow.Request{DeviceID: "d"},
			setup: func(l *ledger) {
				l.attempts = make([]time.Time, 5)
				for i := range l.attempts {
					l.attempts[i] = now
				}
			}, want: 192},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, l := openDemo(t), newLedger()
			l.cards["card-1"] = activeCard("card-1")
			l.purchases["p-200"] = flow.Purchase{PurchaseID: "p-200", CardID: "card-1", Amount: 200, Kind: "TOPUP", Status: "PENDING"}
			l.purchases["p-201"] = flow.Purchase{PurchaseID: "p-201", CardID: "card-1", Amount: 201, Kind: "TOPUP", Status: "PENDING"}
			l.purchases["big"] = flow.Purchase{PurchaseID: "big", CardID: "card-1", Amount: 1001, Kind: "REFUND", Status: "PENDING"}
			l.purchases["done"] = flow.Purchase{PurchaseID: "done", CardID: "card-1", Amount: 100, Kind: "TOPUP", Status: "APPLIED"}
			l.purchases["other"] = flow.Purchase{PurchaseID: "other", CardID: "card-2", Amount: 100, Kind: "TOPUP", Status: "PENDING"}
			if tt.setup != nil {
				tt.setup(l)
			}
			c := demoCard(t, tt.idm, tt.layout)
			before := c.Snapshot()
			out := run(t, reg, l, c, tt.endpoint, tt.op, tt.req)
			if out.status != tt.want {
				t.Fatalf("status %d (%s), want %d", out.status, out.message, tt.want)
			}
			if tt.want != 0 && tt.endpoint == flow.EndpointCard {
				after := c.Snapshot()
				for name, blocks := range before.Blocks {
					for i := range blocks {
						if blocks[i] != after.Blocks[name][i] {
							t.Errorf("refused operation changed %s block %d", name, i)
						}
					}
				}
			}
		})
	}
}

func TestMalformedInfoBlockIs177(t *testing.T) {
	reg, l := openDemo(t), newLedger()
	l.cards["card-1"] = activeCard("card-1")
	cat, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	img, _ := cat.Image(adult)
	bad := img
	bad.Blocks = map[string][][felica.BlockSize]byte{}
	for k, v := range img.Blocks {
		bad.Blocks[k] = append([][felica.BlockSize]byte(nil), v...)
	}
	bad.Blocks["info"][0][1] = 0x77 // no such product
	c, err := card.New(cat.Layout, bad, card.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	if out := run(t, reg, l, c, flow.EndpointCard, "READ", flow.Request{CardID: "card-1", DeviceID: "dev-1"}); out.status != 177 {
		t.Fatalf("status %d, want 177", out.status)
	}
}

func TestLostWriteAnswerIsSettledByTheCounter(t *testing.T) {
	reg, l := openDemo(t), newLedger()
	c := demoCard(t, adult, nil)
	l.cards["card-1"] = activeCard("card-1")
	l.purchases["p-1"] = flow.Purchase{PurchaseID: "p-1", CardID: "card-1", Amount: 500, Kind: "TOPUP", Status: "PENDING"}
	if err := c.Arm(card.Fault{Kind: card.LoseAnswerAfterWrite}); err != nil {
		t.Fatal(err)
	}
	out := run(t, reg, l, c, flow.EndpointCard, "", flow.Request{CardID: "card-1", PurchaseID: "p-1", DeviceID: "dev-1"})
	if out.status != 0 || *out.balance != 1500 || l.purchases["p-1"].Status != "APPLIED" {
		t.Fatalf("status %d, purchase %s; want the read-back to settle it APPLIED", out.status, l.purchases["p-1"].Status)
	}
}

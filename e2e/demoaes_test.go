package e2e_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// The DEMOAES issuer (CONTRACT.md §5) and its sample cards
// (cards/demo-aes.json), served with the built-in test keys.
const (
	aesIssuer    = "DEMOAES"
	aesAdultIDm  = "012E4C7A11224401" // 1000 yen, counter 7
	aesNearMax   = "012E4C7A11224402" // 19800 yen, counter 12
	aesStaffIDm  = "012E4C7A11224403" // staff, 500 yen, counter 1
	aesWrongKind = "012E4C7A11224404" // individualisation code the store lacks
	aesVersion2  = "012E4C7A11224405" // balance key version 0002
)

var (
	aesTopUp  = tsh.Operation{IssuerID: aesIssuer, Operation: "TOPUP", CardID: cardID, PurchaseID: purchaseID, DeviceID: deviceID}
	aesRefund = tsh.Operation{IssuerID: aesIssuer, Operation: "REFUND", CardID: cardID, PurchaseID: purchaseID, DeviceID: deviceID}
	aesRead   = tsh.Operation{IssuerID: aesIssuer, Operation: "READ", CardID: cardID, DeviceID: deviceID}
)

// aesCard is a virtual card made from a DEMOAES sample, changed by edits.
func aesCard(t testing.TB, idm string, edits ...func(*card.Image)) *card.Card {
	t.Helper()
	cat, err := card.DemoAES()
	if err != nil {
		t.Fatal(err)
	}
	img, ok := cat.Image(idm)
	if !ok {
		t.Fatalf("no DEMOAES card %s", idm)
	}
	blocks := make(map[string][][felica.BlockSize]byte, len(img.Blocks))
	for name, list := range img.Blocks {
		blocks[name] = slices.Clone(list)
	}
	img.Blocks = blocks
	for _, edit := range edits {
		edit(&img)
	}
	c, err := card.New(cat.Layout, img, card.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// aesSeed provisions the DEMOAES ledger card cardID and, when amount > 0,
// the purchase purchaseID of kind.
func (s *stack) aesSeed(t *testing.T, seed tsh.CardSeed, kind store.PurchaseKind, amount int64) {
	t.Helper()
	ctx := context.Background()
	seed.IssuerID, seed.CardID = aesIssuer, cardID
	if _, err := s.admin.PutCard(ctx, seed); err != nil {
		t.Fatalf("seed card: %v", err)
	}
	if amount > 0 {
		p := tsh.PurchaseSeed{IssuerID: aesIssuer, PurchaseID: purchaseID, CardID: cardID, Amount: amount, Kind: kind}
		if _, err := s.admin.PutPurchase(ctx, p); err != nil {
			t.Fatalf("seed purchase: %v", err)
		}
	}
}

func (s *stack) aesPurchase(t *testing.T) store.PurchaseStatus {
	t.Helper()
	p, err := s.admin.Purchase(context.Background(), aesIssuer, purchaseID)
	if err != nil {
		t.Fatalf("purchase: %v", err)
	}
	return p.Status
}

func (s *stack) aesLedgerBalance(t *testing.T) *int64 {
	t.Helper()
	c, err := s.admin.Card(context.Background(), aesIssuer, cardID)
	if err != nil {
		t.Fatalf("card: %v", err)
	}
	return c.LastKnownBalance
}

// TestDEMOAES runs every status code the DEMOAES flows can end with, over
// HTTP, with the card's blocks, the purchase and the ledger after.
func TestDEMOAES(t *testing.T) {
	adult := money{1000, 7}
	unchanged := func(m money) *money { return &m }
	rows := []struct {
		name   string
		op     tsh.Operation
		idm    string // "": no card in the field
		edits  []func(*card.Image)
		ledger tsh.CardSeed
		kind   store.PurchaseKind
		amount int64
		before func(t *testing.T, s *stack)
		faults []tsh.Fault
		// want
		status   int
		balance  int64 // -1: none in the reply
		money    *money
		purchase store.PurchaseStatus
		ledgerB  int64 // -1: none recorded
		newest   *record
	}{
		{name: "topup", op: aesTopUp, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 500,
			status: 0, balance: 1500, money: &money{1500, 8}, purchase: store.PurchaseApplied, ledgerB: 1500, newest: &record{Kind: 1, Change: 500, Balance: 1500, Counter: 8}},
		{name: "topup to exactly the maximum", op: aesTopUp, idm: aesNearMax, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 200,
			status: 0, balance: 20000, money: &money{20000, 13}, purchase: store.PurchaseApplied, ledgerB: 20000},
		{name: "topup past the maximum", op: aesTopUp, idm: aesNearMax, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 201,
			status: 163, balance: -1, money: unchanged(money{19800, 12}), purchase: store.PurchasePending, ledgerB: -1},
		{name: "staff may not top up", op: aesTopUp, idm: aesStaffIDm, ledger: tsh.CardSeed{ProductCode: 16}, kind: store.PurchaseTopUp, amount: 100,
			status: 163, balance: -1, money: unchanged(money{500, 1}), purchase: store.PurchasePending, ledgerB: -1},
		{name: "refund", op: aesRefund, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseRefund, amount: 300,
			status: 0, balance: 700, money: &money{700, 8}, purchase: store.PurchaseApplied, ledgerB: 700, newest: &record{Kind: 2, Change: -300, Balance: 700, Counter: 8}},
		{name: "refund of the whole balance", op: aesRefund, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseRefund, amount: 1000,
			status: 0, balance: 0, money: &money{0, 8}, purchase: store.PurchaseApplied, ledgerB: 0},
		{name: "refund above the balance", op: aesRefund, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseRefund, amount: 1001,
			status: 162, balance: -1, money: unchanged(adult), purchase: store.PurchasePending, ledgerB: -1},
		{name: "read", op: aesRead, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1},
			status: 0, balance: 1000, money: unchanged(adult), ledgerB: 1000},
		{name: "unknown card", op: aesRead, idm: aesAdultIDm, status: 119, balance: -1, money: unchanged(adult), ledgerB: -1},
		{name: "bound to another device", op: aesRead, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1, DeviceID: "OTHER"},
			status: 117, balance: -1, money: unchanged(adult), ledgerB: -1},
		{name: "blacklisted in the ledger", op: aesTopUp, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1, Status: store.CardBlacklisted}, kind: store.PurchaseTopUp, amount: 500,
			status: 159, balance: -1, money: unchanged(adult), purchase: store.PurchasePending, ledgerB: -1},
		{name: "IDm blacklisted", op: aesTopUp, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 500,
			before: func(t *testing.T, s *stack) {
				if err := s.admin.PutBlacklist(context.Background(), aesIssuer, aesAdultIDm, true); err != nil {
					t.Fatal(err)
				}
			},
			status: 159, balance: -1, money: unchanged(adult), purchase: store.PurchasePending, ledgerB: -1},
		{name: "deleted in the ledger", op: aesRead, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1, Status: store.CardDeleted},
			status: 160, balance: -1, money: unchanged(adult), ledgerB: -1},
		{name: "expired in the ledger", op: aesRead, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1, Expiry: "2025-01-01"},
			status: 191, balance: -1, money: unchanged(adult), ledgerB: -1},
		{name: "no card in the field", op: aesRead, ledger: tsh.CardSeed{ProductCode: 1}, status: 172, balance: -1, ledgerB: -1},
		{name: "card parked", op: aesTopUp, idm: aesAdultIDm, edits: []func(*card.Image){setInfo(0, cardParked)}, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 500,
			status: 160, balance: -1, money: unchanged(adult), purchase: store.PurchasePending, ledgerB: -1},
		{name: "card blocked", op: aesRead, idm: aesAdultIDm, edits: []func(*card.Image){setInfo(0, cardBlocked)}, ledger: tsh.CardSeed{ProductCode: 1},
			status: 159, balance: -1, money: unchanged(adult), ledgerB: -1},
		{name: "card in station", op: aesTopUp, idm: aesAdultIDm, edits: []func(*card.Image){setInfo(4, 1)}, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 500,
			status: 178, balance: -1, money: unchanged(adult), purchase: store.PurchasePending, ledgerB: -1},
		{name: "card expired", op: aesRead, idm: aesAdultIDm, edits: []func(*card.Image){setExpiryDay(daysSince2000(epoch) - 1)}, ledger: tsh.CardSeed{ProductCode: 1},
			status: 191, balance: -1, money: unchanged(adult), ledgerB: -1},
		{name: "card info malformed", op: aesRead, idm: aesAdultIDm, edits: []func(*card.Image){setInfo(1, 0x77)}, ledger: tsh.CardSeed{ProductCode: 1},
			status: 177, balance: -1, money: unchanged(adult), ledgerB: -1},
		{name: "key version the key store lacks", op: aesTopUp, idm: aesVersion2, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 500,
			status: 177, balance: -1, money: unchanged(adult), purchase: store.PurchasePending, ledgerB: -1},
		{name: "card does not authenticate", op: aesTopUp, idm: aesWrongKind, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 500,
			status: 911, balance: -1, money: unchanged(adult), purchase: store.PurchasePending, ledgerB: -1},
		{name: "purchase already applied", op: aesTopUp, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 500,
			before: func(t *testing.T, s *stack) {
				if out := s.run(t, aesTopUp, aesCard(t, aesAdultIDm)); out.StatusCode != 0 {
					t.Fatalf("first top-up: %s", describe(out))
				}
			},
			status: 911, balance: -1, money: unchanged(adult), purchase: store.PurchaseApplied, ledgerB: 1500},
		{name: "purchase of another kind", op: aesRefund, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 100,
			status: 911, balance: -1, money: unchanged(adult), purchase: store.PurchasePending, ledgerB: -1},
		// Exactly once with a lost Write v2 answer: the card applied the
		// write and the flow reads the counter back over the session.
		{name: "topup, the Write v2 answer lost", op: aesTopUp, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 500,
			faults: []tsh.Fault{{Kind: tsh.LoseAnswerAfterWrite}},
			status: 0, balance: 1500, money: &money{1500, 8}, purchase: store.PurchaseApplied, ledgerB: 1500},
		{name: "topup, the Write v2 never reaches the card", op: aesTopUp, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseTopUp, amount: 500,
			faults: []tsh.Fault{{Kind: tsh.FailBeforeWrite}},
			status: 911, balance: -1, money: unchanged(adult), purchase: store.PurchasePending, ledgerB: -1},
		{name: "refund, the Write v2 answer lost", op: aesRefund, idm: aesAdultIDm, ledger: tsh.CardSeed{ProductCode: 1}, kind: store.PurchaseRefund, amount: 400,
			faults: []tsh.Fault{{Kind: tsh.LoseAnswerAfterWrite}},
			status: 0, balance: 600, money: &money{600, 8}, purchase: store.PurchaseApplied, ledgerB: 600},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			s := newStack(t)
			if row.ledger.ProductCode != 0 {
				s.aesSeed(t, row.ledger, row.kind, row.amount)
			}
			if row.before != nil {
				row.before(t, s)
			}
			var crd *card.Card
			if row.idm != "" {
				crd = aesCard(t, row.idm, row.edits...)
			}
			out := s.run(t, row.op, crd, row.faults...)
			if out.StatusCode != row.status {
				t.Fatalf("ended %s, want status %d\n%s", describe(out), row.status, roundTrips(out))
			}
			switch {
			case row.balance < 0 && out.Balance != nil:
				t.Errorf("balance %d in the reply, want none", *out.Balance)
			case row.balance >= 0 && (out.Balance == nil || *out.Balance != row.balance):
				t.Errorf("balance %v in the reply, want %d", out.Balance, row.balance)
			}
			if crd != nil && row.money != nil {
				got := stateOf(t, crd)
				if got.Money != *row.money {
					t.Errorf("card holds %+v, want %+v", got.Money, *row.money)
				}
				if row.newest != nil && (got.Newest.Kind != row.newest.Kind || got.Newest.Change != row.newest.Change ||
					got.Newest.Balance != row.newest.Balance || got.Newest.Counter != row.newest.Counter) {
					t.Errorf("newest history record %+v, want %+v", got.Newest, *row.newest)
				}
			}
			if row.amount > 0 && row.ledger.ProductCode != 0 {
				if got := s.aesPurchase(t); got != row.purchase {
					t.Errorf("purchase %s, want %s", got, row.purchase)
				}
			}
			if row.ledger.ProductCode != 0 {
				b := s.aesLedgerBalance(t)
				switch {
				case row.ledgerB < 0 && b != nil:
					t.Errorf("ledger balance %d, want none", *b)
				case row.ledgerB >= 0 && (b == nil || *b != row.ledgerB):
					t.Errorf("ledger balance %v, want %d", b, row.ledgerB)
				}
			}
		})
	}
}

// TestDEMOAESExactlyOnce: a device fails after the Write v2 left (its
// answer lost on the way, or the write never reached the card); the
// purchase is UNCERTAIN, the next operation on the card settles it by the
// counter it reads over its own authenticated session, and a retry moves
// the money only if it did not move.
func TestDEMOAESExactlyOnce(t *testing.T) {
	for _, row := range []struct {
		name    string
		fault   card.FaultKind
		applied bool
	}{
		{"answer lost", card.LoseAnswerAfterWrite, true},
		{"write lost", card.FailBeforeWrite, false},
	} {
		for _, next := range []tsh.Operation{aesRead, aesTopUp} {
			t.Run(row.name+", then "+next.Operation, func(t *testing.T) {
				s := newStack(t)
				s.aesSeed(t, tsh.CardSeed{ProductCode: 1}, store.PurchaseTopUp, 500)
				crd := aesCard(t, aesAdultIDm)
				st := newStepper(s.gatewayURL, aesTopUp)
				write := toWriteV2(t, st, crd)
				if err := crd.Arm(card.Fault{Kind: row.fault}); err != nil {
					t.Fatal(err)
				}
				end := st.must(t, st.answer(runOn(t, crd, write.Commands), 231))
				if end.ResponseHeader.StatusCode != 231 || len(end.Commands) != 0 {
					t.Fatalf("device failure answered %+v", end)
				}
				if got := s.aesPurchase(t); got != store.PurchaseUncertain {
					t.Fatalf("purchase %s after the failure, want UNCERTAIN", got)
				}
				out := s.run(t, next, crd)
				want := money{1500, 8}
				if !row.applied {
					want = money{1000, 7}
					if next.Operation == "TOPUP" {
						want = money{1500, 8} // settled PENDING, then applied once
					}
				}
				wantStatus := 0
				if row.applied && next.Operation == "TOPUP" {
					wantStatus = flow.StatusOperationFailed // already applied
				}
				if out.StatusCode != wantStatus {
					t.Fatalf("%s: %s, want %d\n%s", next.Operation, describe(out), wantStatus, roundTrips(out))
				}
				if got := stateOf(t, crd).Money; got != want {
					t.Errorf("card %+v, want %+v", got, want)
				}
				wantP := store.PurchaseApplied
				if !row.applied && next.Operation == "READ" {
					wantP = store.PurchasePending
				}
				if got := s.aesPurchase(t); got != wantP {
					t.Errorf("purchase %s, want %s", got, wantP)
				}
			})
		}
	}
}

// toWriteV2 plays st until the server sends the batch with the Write v2.
func toWriteV2(t *testing.T, st *stepper, crd *card.Card) server.Reply {
	t.Helper()
	reply := st.begin(t)
	for range 10 {
		if len(reply.Commands) == 0 {
			t.Fatalf("ended before the write: %+v", reply.ResponseHeader)
		}
		for _, c := range reply.Commands {
			if strings.HasPrefix(c.Command[2:], "46") {
				return reply
			}
		}
		reply = st.must(t, st.answer(runOn(t, crd, reply.Commands), flow.StatusOK))
	}
	t.Fatal("no Write v2 in 10 round trips")
	return reply
}

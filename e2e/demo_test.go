package e2e_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// The identifiers of a row's ledger.
const (
	cardID     = "CARD-1"
	deviceID   = "DEVICE-1"
	purchaseID = "P-1"
)

// demoRow is one end-to-end case of the DEMO issuer: an operation on a card
// image with a ledger state and a fault, and what must follow.
type demoRow struct {
	name string
	op   tsh.Operation // CardID, DeviceID and PurchaseID as given
	// idm picks the DEMO sample card in the field; "" is no card.
	idm   string
	edits []func(*card.Image)
	// layout changes the card's file system (and the image to fit it).
	layout func(*card.Layout, *card.Image)
	// ledger is the card provisioned as cardID; its product defaults to
	// the card's own.
	ledger   tsh.CardSeed
	purchase *tsh.PurchaseSeed // its IssuerID, PurchaseID and CardID default
	// before runs first: what earlier operations left in the ledger.
	before func(t *testing.T, s *stack, crd *card.Card)
	faults []tsh.Fault
	want   demoWant
}

type demoWant struct {
	status  int
	balance int64 // -1: no balance in the reply
	// purchase is the purchase's status after; "" when the row has none.
	purchase store.PurchaseStatus
	// card is the card's state after; nil: the card must be unchanged.
	card *cardState
	// account: reader mode must have created an account with the balance.
	account bool
}

var (
	topUp  = tsh.Operation{Operation: "TOPUP", CardID: cardID, PurchaseID: purchaseID, DeviceID: deviceID}
	refund = tsh.Operation{Operation: "REFUND", CardID: cardID, PurchaseID: purchaseID, DeviceID: deviceID}
	read   = tsh.Operation{Operation: "READ", CardID: cardID, DeviceID: deviceID}
	park   = tsh.Operation{Endpoint: flow.EndpointPark, Operation: "PARK", CardID: cardID, DeviceID: deviceID}
	reader = tsh.Operation{Endpoint: flow.EndpointReaderMode, Operation: "READER_MODE", DeviceID: deviceID}
)

func purchaseOf(kind store.PurchaseKind, amount int64) *tsh.PurchaseSeed {
	return &tsh.PurchaseSeed{Kind: kind, Amount: amount}
}

// with returns op changed by f, for rows that differ in one field.
func with(op tsh.Operation, f func(*tsh.Operation)) tsh.Operation {
	f(&op)
	return op
}

// withContents is reader mode with the cardContents of the physical card,
// changed by f.
func withContents(t testing.TB, idm string, f func(*server.CardContents)) tsh.Operation {
	layout, img := demoImage(t, idm)
	cc := tsh.Contents(layout, img.IDm, "DEMO-SERVICE")
	if f != nil {
		f(cc)
	}
	return with(reader, func(op *tsh.Operation) { op.CardContents = cc })
}

// now is the fake clock's Unix time, as the flows stamp history records.
var now = epoch.Unix()

func TestDEMO(t *testing.T) {
	pastDay := daysSince2000(epoch) - 1
	rows := []demoRow{
		// getCardCommands: TOPUP, READ, REFUND.
		{name: "TOPUP 500", op: topUp, idm: adultIDm, purchase: purchaseOf(store.PurchaseTopUp, 500),
			want: demoWant{status: 0, balance: 1500, purchase: store.PurchaseApplied,
				card: &cardState{Money: money{1500, 8}, Newest: record{kindTopUp, 500, 1500, 8, now}, Records: 3}}},
		{name: "TOPUP by default: a purchaseId and no operation", op: with(topUp, func(op *tsh.Operation) { op.Operation = "" }),
			idm: adultIDm, purchase: purchaseOf(store.PurchaseTopUp, 500),
			want: demoWant{status: 0, balance: 1500, purchase: store.PurchaseApplied,
				card: &cardState{Money: money{1500, 8}, Newest: record{kindTopUp, 500, 1500, 8, now}, Records: 3}}},
		{name: "TOPUP answered twice: the step runs once", op: topUp, idm: adultIDm, purchase: purchaseOf(store.PurchaseTopUp, 500),
			faults: []tsh.Fault{{Kind: tsh.Duplicate, RoundTrip: 4}},
			want: demoWant{status: 0, balance: 1500, purchase: store.PurchaseApplied,
				card: &cardState{Money: money{1500, 8}, Newest: record{kindTopUp, 500, 1500, 8, now}, Records: 3}}},
		{name: "TOPUP reaching exactly 20000", op: topUp, idm: nearMaxIDm, purchase: purchaseOf(store.PurchaseTopUp, 200),
			want: demoWant{status: 0, balance: 20000, purchase: store.PurchaseApplied,
				card: &cardState{Money: money{20000, 13}, Newest: record{kindTopUp, 200, 20000, 13, now}, Records: 1}}},
		{name: "TOPUP passing 20000", op: topUp, idm: nearMaxIDm, purchase: purchaseOf(store.PurchaseTopUp, 201),
			want: demoWant{status: flow.StatusNotEligible, balance: -1, purchase: store.PurchasePending}},
		{name: "TOPUP of a staff card", op: topUp, idm: staffIDm, purchase: purchaseOf(store.PurchaseTopUp, 100),
			want: demoWant{status: flow.StatusNotEligible, balance: -1, purchase: store.PurchasePending}},
		{name: "READ", op: read, idm: adultIDm,
			want: demoWant{status: 0, balance: 1000}},
		{name: "READ by default: no purchaseId, no operation", op: with(read, func(op *tsh.Operation) { op.Operation = "" }), idm: adultIDm,
			want: demoWant{status: 0, balance: 1000}},
		{name: "READ of a card expiring today", op: read, idm: adultIDm, edits: []func(*card.Image){setExpiryDay(pastDay + 1)},
			ledger: tsh.CardSeed{Expiry: epoch.Format("2006-01-02")},
			want:   demoWant{status: 0, balance: 1000}},
		{name: "REFUND 300", op: refund, idm: adultIDm, purchase: purchaseOf(store.PurchaseRefund, 300),
			want: demoWant{status: 0, balance: 700, purchase: store.PurchaseApplied,
				card: &cardState{Money: money{700, 8}, Newest: record{kindRefund, -300, 700, 8, now}, Records: 3}}},
		{name: "REFUND of the whole balance", op: refund, idm: adultIDm, purchase: purchaseOf(store.PurchaseRefund, 1000),
			want: demoWant{status: 0, balance: 0, purchase: store.PurchaseApplied,
				card: &cardState{Money: money{0, 8}, Newest: record{kindRefund, -1000, 0, 8, now}, Records: 3}}},
		{name: "REFUND above the balance", op: refund, idm: adultIDm, purchase: purchaseOf(store.PurchaseRefund, 1001),
			want: demoWant{status: flow.StatusInsufficientBalance, balance: -1, purchase: store.PurchasePending}},
		{name: "card not in the ledger", op: with(read, func(op *tsh.Operation) { op.CardID = "CARD-UNKNOWN" }), idm: adultIDm,
			want: demoWant{status: flow.StatusUnknownCard, balance: -1}},
		{name: "card bound to another device", op: topUp, idm: adultIDm, purchase: purchaseOf(store.PurchaseTopUp, 500),
			ledger: tsh.CardSeed{DeviceID: "DEVICE-OTHER"},
			want:   demoWant{status: flow.StatusUnknownDevice, balance: -1, purchase: store.PurchasePending}},
		{name: "card bound to this device", op: read, idm: adultIDm, ledger: tsh.CardSeed{DeviceID: deviceID},
			want: demoWant{status: 0, balance: 1000}},
		{name: "ledger says BLACKLISTED", op: topUp, idm: adultIDm, purchase: purchaseOf(store.PurchaseTopUp, 500),
			ledger: tsh.CardSeed{Status: store.CardBlacklisted},
			want:   demoWant{status: flow.StatusBlacklisted, balance: -1, purchase: store.PurchasePending}},
		{name: "IDm on the blacklist", op: topUp, idm: adultIDm, purchase: purchaseOf(store.PurchaseTopUp, 500),
			before: blacklist(adultIDm),
			want:   demoWant{status: flow.StatusBlacklisted, balance: -1, purchase: store.PurchasePending}},
		{name: "card says blocked", op: read, idm: adultIDm, edits: []func(*card.Image){setInfo(0, cardBlocked)},
			want: demoWant{status: flow.StatusBlacklisted, balance: -1}},
		{name: "ledger says DELETED", op: topUp, idm: adultIDm, purchase: purchaseOf(store.PurchaseTopUp, 500),
			ledger: tsh.CardSeed{Status: store.CardDeleted},
			want:   demoWant{status: flow.StatusDeleted, balance: -1, purchase: store.PurchasePending}},
		{name: "card says parked", op: topUp, idm: adultIDm, edits: []func(*card.Image){setInfo(0, cardParked)},
			purchase: purchaseOf(store.PurchaseTopUp, 500),
			want:     demoWant{status: flow.StatusDeleted, balance: -1, purchase: store.PurchasePending}},
		{name: "card in the station", op: topUp, idm: inStationIDm, purchase: purchaseOf(store.PurchaseTopUp, 500),
			want: demoWant{status: flow.StatusInStation, balance: -1, purchase: store.PurchasePending}},
		{name: "expired in the ledger", op: topUp, idm: adultIDm, purchase: purchaseOf(store.PurchaseTopUp, 500),
			ledger: tsh.CardSeed{Expiry: epoch.AddDate(0, 0, -1).Format("2006-01-02")},
			want:   demoWant{status: flow.StatusExpired, balance: -1, purchase: store.PurchasePending}},
		{name: "expired on the card", op: topUp, idm: adultIDm, edits: []func(*card.Image){setExpiryDay(pastDay)},
			purchase: purchaseOf(store.PurchaseTopUp, 500),
			want:     demoWant{status: flow.StatusExpired, balance: -1, purchase: store.PurchasePending}},
		{name: "no card in the field", op: topUp, purchase: purchaseOf(store.PurchaseTopUp, 500),
			want: demoWant{status: flow.StatusUnsupportedSystem, balance: -1, purchase: store.PurchasePending}},
		{name: "card lacks the balance service", op: read, idm: adultIDm, layout: dropService("balance"),
			want: demoWant{status: flow.StatusUnsupportedService, balance: -1}},
		{name: "card info block malformed", op: topUp, idm: adultIDm, edits: []func(*card.Image){setInfo(1, 0x05)},
			ledger: tsh.CardSeed{ProductCode: 5}, purchase: purchaseOf(store.PurchaseTopUp, 500),
			want: demoWant{status: flow.StatusInvalidAreaData, balance: -1, purchase: store.PurchasePending}},
		{name: "TOPUP of an APPLIED purchase writes nothing", op: topUp, idm: adultIDm, purchase: purchaseOf(store.PurchaseTopUp, 500),
			before: runFirst(topUp, 0),
			want:   demoWant{status: flow.StatusOperationFailed, balance: -1, purchase: store.PurchaseApplied}},
		{name: "REFUND of an APPLIED purchase writes nothing", op: refund, idm: adultIDm, purchase: purchaseOf(store.PurchaseRefund, 300),
			before: runFirst(refund, 0),
			want:   demoWant{status: flow.StatusOperationFailed, balance: -1, purchase: store.PurchaseApplied}},
		{name: "purchase of another card", op: topUp, idm: adultIDm,
			purchase: &tsh.PurchaseSeed{CardID: "CARD-2", Kind: store.PurchaseTopUp, Amount: 500},
			before: func(t *testing.T, s *stack, _ *card.Card) {
				s.seedCard(t, tsh.CardSeed{CardID: "CARD-2", ProductCode: 1})
			},
			want: demoWant{status: flow.StatusOperationFailed, balance: -1, purchase: store.PurchasePending}},
		{name: "purchase of another kind", op: refund, idm: adultIDm, purchase: purchaseOf(store.PurchaseTopUp, 500),
			want: demoWant{status: flow.StatusOperationFailed, balance: -1, purchase: store.PurchasePending}},
		{name: "card refuses the write", op: topUp, idm: adultIDm, layout: readOnlyService("balance"),
			purchase: purchaseOf(store.PurchaseTopUp, 500),
			want:     demoWant{status: flow.StatusOperationFailed, balance: -1, purchase: store.PurchasePending}},
		{name: "no such purchase", op: with(topUp, func(op *tsh.Operation) { op.PurchaseID = "P-UNKNOWN" }), idm: adultIDm,
			want: demoWant{status: flow.StatusOperationFailed, balance: -1}},

		// getParkCardCommands.
		{name: "PARK", op: park, idm: adultIDm,
			want: demoWant{status: 0, balance: 1000,
				card: &cardState{Status: cardParked, Money: money{1000, 7}, Newest: record{kindPark, 0, 1000, 7, now}, Records: 3}}},
		{name: "BLOCK_AND_READ_CARD, PARK's alias", op: with(park, func(op *tsh.Operation) { op.Operation = "BLOCK_AND_READ_CARD" }), idm: adultIDm,
			want: demoWant{status: 0, balance: 1000,
				card: &cardState{Status: cardParked, Money: money{1000, 7}, Newest: record{kindPark, 0, 1000, 7, now}, Records: 3}}},
		{name: "PARK by default", op: with(park, func(op *tsh.Operation) { op.Operation = "" }), idm: adultIDm,
			want: demoWant{status: 0, balance: 1000,
				card: &cardState{Status: cardParked, Money: money{1000, 7}, Newest: record{kindPark, 0, 1000, 7, now}, Records: 3}}},
		{name: "PARK of a parked card", op: park, idm: adultIDm, edits: []func(*card.Image){setInfo(0, cardParked)},
			want: demoWant{status: flow.StatusDeleted, balance: -1}},
		{name: "PARK of a DELETED card", op: park, idm: adultIDm, ledger: tsh.CardSeed{Status: store.CardDeleted},
			want: demoWant{status: flow.StatusDeleted, balance: -1}},

		// getReaderModeCommands.
		{name: "READER_MODE", op: withContents(t, physicalIDm, nil), idm: physicalIDm,
			want: demoWant{status: 0, balance: 3210, account: true,
				card: &cardState{Status: 2, Money: money{0, 42}, Newest: record{kindTransferOut, -3210, 0, 42, now}, Records: 2}}},
		{name: "READER_MODE by default, without cardContents", op: with(reader, func(op *tsh.Operation) { op.Operation = "" }), idm: physicalIDm,
			want: demoWant{status: 0, balance: 3210, account: true,
				card: &cardState{Status: 2, Money: money{0, 42}, Newest: record{kindTransferOut, -3210, 0, 42, now}, Records: 2}}},
		{name: "card value already moved", op: withContents(t, transferredIDm, nil), idm: transferredIDm,
			want: demoWant{status: flow.StatusAlreadyProvisioned, balance: -1}},
		{name: "account already made from the card", op: withContents(t, physicalIDm, nil), idm: physicalIDm,
			before: func(t *testing.T, s *stack, _ *card.Card) {
				// The same plastic card, read before its value was moved:
				// another image of it in another reader.
				if out := s.run(t, withContents(t, physicalIDm, nil), demoCard(t, physicalIDm)); out.StatusCode != 0 {
					t.Fatalf("first reader mode: %s", describe(out))
				}
			},
			want: demoWant{status: flow.StatusAlreadyProvisioned, balance: -1}},
		{name: "cardContents of another system", op: withContents(t, physicalIDm, func(cc *server.CardContents) { cc.SystemCode = "0003" }), idm: physicalIDm,
			want: demoWant{status: flow.StatusUnsupportedSystem, balance: -1}},
		{name: "areaCodeList without the issuer's area", op: withContents(t, physicalIDm, func(cc *server.CardContents) { cc.AreaCodeList = nil }), idm: physicalIDm,
			want: demoWant{status: flow.StatusInvalidAreaData, balance: -1}},
		{name: "areaCodeList with another key version", op: withContents(t, physicalIDm, func(cc *server.CardContents) {
			cc.AreaCodeList = []server.AreaKey{{AreaCode: "1000", KeyVersion: "0002"}}
		}), idm: physicalIDm,
			want: demoWant{status: flow.StatusInvalidAreaData, balance: -1}},
		{name: "physical card expired", op: withContents(t, expiredIDm, nil), idm: expiredIDm,
			want: demoWant{status: flow.StatusExpired, balance: -1}},
		{name: "physical card in the station", op: withContents(t, physicalIDm, nil), idm: physicalIDm, edits: []func(*card.Image){setInfo(4, 1)},
			want: demoWant{status: flow.StatusInStation, balance: -1}},
		{name: "physical card's IDm on the blacklist", op: withContents(t, physicalIDm, nil), idm: physicalIDm, before: blacklist(physicalIDm),
			want: demoWant{status: flow.StatusBlacklisted, balance: -1}},
		{name: "reader mode past the threshold", op: withContents(t, physicalIDm, nil), idm: physicalIDm,
			before: func(t *testing.T, s *stack, _ *card.Card) {
				// Five refused attempts count as five (threshold 5).
				bad := withContents(t, physicalIDm, func(cc *server.CardContents) { cc.SystemCode = "0003" })
				for range 5 {
					if out := s.run(t, bad, demoCard(t, physicalIDm)); out.StatusCode != flow.StatusUnsupportedSystem {
						t.Fatalf("attempt: %s", describe(out))
					}
				}
			},
			want: demoWant{status: flow.StatusReaderModeExceeded, balance: -1}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) { row.play(t) })
	}
}

// dropService takes a service off the card.
func dropService(name string) func(*card.Layout, *card.Image) {
	return func(l *card.Layout, img *card.Image) {
		l.Services = slices.DeleteFunc(slices.Clone(l.Services), func(sv card.Service) bool { return sv.Name == name })
		delete(img.Blocks, name)
	}
}

// readOnlyService takes a service's read-write code away: the card refuses
// writes to it.
func readOnlyService(name string) func(*card.Layout, *card.Image) {
	return func(l *card.Layout, _ *card.Image) {
		l.Services = slices.Clone(l.Services)
		for i := range l.Services {
			if l.Services[i].Name == name {
				l.Services[i].ReadWrite = 0
			}
		}
	}
}

// blacklist puts idm on the issuer's blacklist.
func blacklist(idm string) func(t *testing.T, s *stack, _ *card.Card) {
	return func(t *testing.T, s *stack, _ *card.Card) {
		if err := s.admin.PutBlacklist(context.Background(), issuerID, idm, true); err != nil {
			t.Fatal(err)
		}
	}
}

// runFirst plays op on the row's card before the row, expecting status.
func runFirst(op tsh.Operation, status int) func(t *testing.T, s *stack, crd *card.Card) {
	return func(t *testing.T, s *stack, crd *card.Card) {
		if out := s.run(t, op, crd); out.StatusCode != status {
			t.Fatalf("first %s: %s, want %d", op.Operation, describe(out), status)
		}
	}
}

func (row demoRow) play(t *testing.T) {
	s := newStack(t)
	var crd *card.Card
	if row.idm != "" {
		layout, img := demoImage(t, row.idm, row.edits...)
		if row.layout != nil {
			row.layout(&layout, &img)
		}
		var err error
		if crd, err = card.New(layout, img, card.Settings{}); err != nil {
			t.Fatal(err)
		}
		if row.ledger.ProductCode == 0 {
			row.ledger.ProductCode, _ = tsh.DemoProductCode(img)
		}
	}
	row.ledger.CardID = cardID
	s.seedCard(t, row.ledger)
	if p := row.purchase; p != nil {
		if p.CardID == "" {
			p.CardID = cardID
		}
		s.seedPurchase(t, purchaseID, p.CardID, p.Kind, p.Amount)
	}
	if row.before != nil {
		row.before(t, s, crd)
	}
	var before card.Image
	if crd != nil {
		before = crd.Snapshot()
	}

	out := s.run(t, row.op, crd, row.faults...)

	if out.StatusCode != row.want.status || balanceOf(out) != row.want.balance {
		t.Errorf("%s, balance %d; want status %d, balance %d\n%s", describe(out), balanceOf(out), row.want.status, row.want.balance, roundTrips(out))
	}
	if out.StatusMessage == "" {
		t.Errorf("status %d without a statusMessage", out.StatusCode)
	}
	if out.SessionID == "" {
		t.Error("no sessionId")
	}
	if row.purchase != nil {
		if got := s.purchaseStatus(t, purchaseID); got != row.want.purchase {
			t.Errorf("purchase %s, want %s", got, row.want.purchase)
		}
	}
	switch {
	case crd == nil:
	case row.want.card == nil:
		unchanged(t, before, crd)
	default:
		if got := stateOf(t, crd); got != *row.want.card {
			t.Errorf("card after:\n got %+v\nwant %+v", got, *row.want.card)
		}
	}
	row.checkLedger(t, s, out)
}

// checkLedger checks what a successful operation left in the ledger.
func (row demoRow) checkLedger(t *testing.T, s *stack, out tsh.Outcome) {
	t.Helper()
	if out.StatusCode != 0 {
		if out.CardAccountID != "" {
			t.Errorf("a refused operation returned cardAccountId %q", out.CardAccountID)
		}
		return
	}
	endpoint := withDefaults(row.op).Endpoint
	switch {
	case row.want.account:
		a := s.account(t, out.CardAccountID)
		if a.Balance != row.want.balance || a.IDm != row.idm {
			t.Errorf("account %+v, want balance %d and IDm %s", a, row.want.balance, row.idm)
		}
	case out.CardAccountID != "":
		t.Errorf("cardAccountId %q outside reader mode", out.CardAccountID)
	}
	if endpoint == flow.EndpointReaderMode {
		return
	}
	c := s.ledgerCard(t, row.op.CardID)
	if c.LastKnownBalance == nil || *c.LastKnownBalance != row.want.balance {
		t.Errorf("ledger lastKnownBalance %v, want %d", c.LastKnownBalance, row.want.balance)
	}
	if endpoint == flow.EndpointPark && (c.ParkedBalance == nil || *c.ParkedBalance != row.want.balance) {
		t.Errorf("ledger parkedBalance %v, want %d", c.ParkedBalance, row.want.balance)
	}
	if len(c.UncertainPurchases) != 0 {
		t.Errorf("uncertain purchases left: %v", c.UncertainPurchases)
	}
}

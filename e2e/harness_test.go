package e2e_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/server/openapitest"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

const (
	issuerID = "DEMO"
	actorID  = "TSH-E2E"
	// issuersDir is the repository's issuers folder, as the tests run in e2e/.
	issuersDir = "../issuers"
)

// The DEMO sample cards (cards/demo.json) the tests use, by IDm.
const (
	adultIDm       = "012E4C7A11223344" // active adult, 1000 yen, counter 7
	staffIDm       = "012E4C7A11223345" // staff product, 500 yen
	inStationIDm   = "012E4C7A11223346" // in-station, 2000 yen
	nearMaxIDm     = "012E4C7A11223347" // 19800 yen, counter 12
	physicalIDm    = "0101120012345678" // physical, 3210 yen, counter 41
	transferredIDm = "0101120012345679" // physical, value already moved
	expiredIDm     = "010112001234567A" // physical, expired 2024-03-31
)

// epoch is the fake clock's start: the DEMO cards' expiry (2031) is ahead,
// the expired physical card's (2024) behind.
var epoch = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// demoTTL is the DEMO issuer's session TTL (issuer.yaml).
const demoTTL = 60 * time.Second

// stack is a tes server in-process on loopback ports, on a store in a
// temporary directory, the repository's issuers and a fake clock, with a
// TSH client whose traffic the OpenAPI proxy checks.
type stack struct {
	clock *clock.Fake
	// gatewayURL is the validating proxy's; client talks to it.
	gatewayURL string
	client     *tsh.Client
	admin      *tsh.Admin
	adminURL   string
	node       *node.Node
}

func newStack(t *testing.T) *stack {
	t.Helper()
	return newStackOf(t, issuersDir)
}

// newStackOf is newStack serving the issuers of root.
func newStackOf(t *testing.T, root string) *stack {
	t.Helper()
	s := &stack{clock: clock.NewFake(epoch)}
	srv, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), IssuersDir: root, Clock: s.clock})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	s.node, s.adminURL = srv, srv.AdminURL
	s.connect(t, proxy(t, openapitest.New(t), srv.GatewayURL), srv.AdminURL)
	return s
}

// twin starts a second node, with an engine of its own, on the stack's
// store and clock, and returns its gateway's URL (behind the validating
// proxy): two engines sharing one store, as two processes share a
// database.
func (s *stack) twin(t *testing.T) string {
	t.Helper()
	srv, err := node.Start(context.Background(), node.Config{Store: s.node.Store, IssuersDir: issuersDir, Clock: s.clock})
	if err != nil {
		t.Fatalf("start the twin: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close the twin: %v", err)
		}
	})
	return proxy(t, openapitest.New(t), srv.GatewayURL)
}

// connect makes the stack's clients of a gateway (behind the proxy) and an
// admin API.
func (s *stack) connect(t *testing.T, gatewayURL, adminURL string) {
	t.Helper()
	var err error
	s.gatewayURL, s.adminURL = gatewayURL, adminURL
	if s.client, err = tsh.NewClient(gatewayURL, tsh.ClientOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.client.CloseIdleConnections)
	if s.admin, err = tsh.NewAdmin(adminURL, "", tsh.ClientOptions{}); err != nil {
		t.Fatal(err)
	}
}

// run plays op on crd; a transport or driver error fails the test.
func (s *stack) run(t *testing.T, op tsh.Operation, crd *card.Card, faults ...tsh.Fault) tsh.Outcome {
	t.Helper()
	op = withDefaults(op)
	opts := tsh.Options{Faults: faults, Pause: func(_ context.Context, d time.Duration) error {
		s.clock.Advance(d)
		return nil
	}}
	out, err := s.client.Run(context.Background(), op, crd, opts)
	if err != nil {
		t.Fatalf("run %s %s: %v\n%s", op.Endpoint, op.Operation, err, roundTrips(out))
	}
	return out
}

// withDefaults fills the fields every operation of the suite shares.
func withDefaults(op tsh.Operation) tsh.Operation {
	if op.Endpoint == "" {
		op.Endpoint = flow.EndpointCard
	}
	if op.IssuerID == "" {
		op.IssuerID = issuerID
	}
	if op.ActorID == "" {
		op.ActorID = actorID
	}
	return op
}

// roundTrips renders an outcome's exchanges for a failure message.
func roundTrips(out tsh.Outcome) string {
	b, _ := json.MarshalIndent(out.RoundTrips, "", "  ")
	return string(b)
}

// seedCard provisions a ledger card: ACTIVE, bound to no device, with the
// product of the card image unless the seed says otherwise.
func (s *stack) seedCard(t *testing.T, seed tsh.CardSeed) {
	t.Helper()
	seed.IssuerID = issuerID
	if _, err := s.admin.PutCard(context.Background(), seed); err != nil {
		t.Fatalf("seed card %s: %v", seed.CardID, err)
	}
}

func (s *stack) seedPurchase(t *testing.T, id, cardID string, kind store.PurchaseKind, amount int64) {
	t.Helper()
	seed := tsh.PurchaseSeed{IssuerID: issuerID, PurchaseID: id, CardID: cardID, Amount: amount, Kind: kind}
	if _, err := s.admin.PutPurchase(context.Background(), seed); err != nil {
		t.Fatalf("seed purchase %s: %v", id, err)
	}
}

func (s *stack) purchaseStatus(t *testing.T, id string) store.PurchaseStatus {
	t.Helper()
	p, err := s.admin.Purchase(context.Background(), issuerID, id)
	if err != nil {
		t.Fatalf("purchase %s: %v", id, err)
	}
	return p.Status
}

func (s *stack) ledgerCard(t *testing.T, id string) server.CardView {
	t.Helper()
	c, err := s.admin.Card(context.Background(), issuerID, id)
	if err != nil {
		t.Fatalf("card %s: %v", id, err)
	}
	return c
}

// account is a card account as GET .../accounts/{id} shows it; tsh.Admin
// has no reader for accounts.
type account struct {
	CardAccountID string `json:"cardAccountId"`
	Balance       int64  `json:"balance"`
	IDm           string `json:"idm"`
}

func (s *stack) account(t *testing.T, id string) account {
	t.Helper()
	resp, err := http.Get(s.adminURL + server.AdminBasePath + "/issuers/" + issuerID + "/accounts/" + id)
	if err != nil {
		t.Fatalf("GET account %s: %v", id, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET account %s: HTTP %d %s %v", id, resp.StatusCode, raw, err)
	}
	var a account
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("GET account %s: %v", id, err)
	}
	return a
}

// demoImage returns a fresh copy of the DEMO sample card idm, changed by
// edits.
func demoImage(t testing.TB, idm string, edits ...func(*card.Image)) (card.Layout, card.Image) {
	t.Helper()
	cat, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	img, ok := cat.Image(idm)
	if !ok {
		t.Fatalf("no DEMO card %s", idm)
	}
	// The image shares its blocks with the catalogue; copy before editing.
	blocks := make(map[string][][felica.BlockSize]byte, len(img.Blocks))
	for name, list := range img.Blocks {
		blocks[name] = slices.Clone(list)
	}
	img.Blocks = blocks
	for _, edit := range edits {
		edit(&img)
	}
	return cat.Layout, img
}

// demoCard is a virtual card made from a DEMO sample.
func demoCard(t testing.TB, idm string, edits ...func(*card.Image)) *card.Card {
	t.Helper()
	layout, img := demoImage(t, idm, edits...)
	c, err := card.New(layout, img, card.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setInfo sets byte at of the card's info block.
func setInfo(at int, value byte) func(*card.Image) {
	return func(img *card.Image) { img.Blocks["info"][0][at] = value }
}

// setExpiryDay sets the card's expiry, days since 2000-01-01.
func setExpiryDay(day uint16) func(*card.Image) {
	return func(img *card.Image) { binary.BigEndian.PutUint16(img.Blocks["info"][0][2:4], day) }
}

// Card status bytes (info block byte 0).
const (
	cardParked  = 0x01
	cardBlocked = 0x03
)

// daysSince2000 is the card's expiry encoding of t.
func daysSince2000(t time.Time) uint16 {
	return uint16(t.Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).Hours() / 24)
}

// History record kinds (CONTRACT.md §4).
const (
	kindTopUp       = 1
	kindRefund      = 2
	kindPark        = 3
	kindTransferOut = 4
)

// money is the card's balance block.
type money struct {
	Balance int64
	Counter int
}

// record is one history record.
type record struct {
	Kind    int
	Change  int64
	Balance int64
	Counter int
	Time    int64
}

// cardState is what the tests read off a card after an operation.
type cardState struct {
	Status  int
	Money   money
	Newest  record
	Records int // non-empty history blocks
}

func stateOf(t testing.TB, c *card.Card) cardState {
	t.Helper()
	block := func(service string, i int) []byte {
		b, err := c.Block(service, i)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	info, bal, newest := block("info", 0), block("balance", 0), block("history", 0)
	st := cardState{
		Status: int(info[0]),
		Money:  money{Balance: int64(binary.LittleEndian.Uint32(bal)), Counter: int(binary.LittleEndian.Uint16(bal[4:]))},
		Newest: record{
			Kind:    int(newest[0]),
			Change:  int64(int32(binary.LittleEndian.Uint32(newest[1:]))),
			Balance: int64(binary.LittleEndian.Uint32(newest[5:])),
			Counter: int(binary.LittleEndian.Uint16(newest[9:])),
			Time:    int64(binary.LittleEndian.Uint32(newest[11:])),
		},
	}
	for i := range 8 {
		if !reflect.DeepEqual(block("history", i), make([]byte, 16)) {
			st.Records++
		}
	}
	return st
}

// unchanged fails t when crd's blocks differ from before.
func unchanged(t testing.TB, before card.Image, crd *card.Card) {
	t.Helper()
	if after := crd.Snapshot(); !reflect.DeepEqual(before.Blocks, after.Blocks) {
		t.Errorf("the card changed:\nbefore %v\nafter  %v", before.Blocks, after.Blocks)
	}
}

// balanceOf is an outcome's final balance, -1 when the reply had none.
func balanceOf(out tsh.Outcome) int64 {
	if out.Balance == nil {
		return -1
	}
	return *out.Balance
}

func describe(out tsh.Outcome) string {
	return fmt.Sprintf("status %d %q after %d round trips", out.StatusCode, out.StatusMessage, len(out.RoundTrips))
}

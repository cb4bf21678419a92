package scripts_test

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/issuers"
	"github.com/tes-project/tes/sam"
	"github.com/tes-project/tes/scripts"
)

// The DEMOAES sample cards (cards/demo-aes.json), by IDm.
const (
	aesAdult     = "012E4C7A11224401" // 1000 yen, counter 7
	aesNearMax   = "012E4C7A11224402" // 19800 yen, counter 12
	aesStaff     = "012E4C7A11224403" // staff, 500 yen
	aesWrongKind = "012E4C7A11224404" // individualisation code the store lacks
	aesVersion2  = "012E4C7A11224405" // balance key version 0002
	aesZeroKind  = "012E4C7A11224406" // default individualisation code, 2500 yen
)

// testSAM is a software SAM over the built-in DEMOAES test keys.
func testSAM(t testing.TB) *sam.Software {
	t.Helper()
	s, err := sam.NewSoftware(sam.Config{TestKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openAES(t testing.TB, s sam.SAM) *scripts.Registry {
	t.Helper()
	reg, err := scripts.Open(context.Background(), scripts.Config{Embedded: issuers.FS, SAM: s})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func aesCard(t testing.TB, idm string, edit func(*card.Image)) *card.Card {
	t.Helper()
	cat, err := card.DemoAES()
	if err != nil {
		t.Fatal(err)
	}
	img, ok := cat.Image(idm)
	if !ok {
		t.Fatalf("no DEMOAES sample card %s", idm)
	}
	if edit != nil {
		edit(&img)
	}
	c, err := card.New(cat.Layout, img, card.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func runAES(t testing.TB, reg flow.Registry, l *ledger, c *card.Card, operation string, req flow.Request) outcome {
	t.Helper()
	req.IssuerID = "DEMOAES"
	out, ended := playIssuer(t, reg, l, c, flow.EndpointCard, operation, req, 20)
	if !ended {
		t.Fatal("operation did not end in 20 steps")
	}
	return out
}

// TestDEMOAESRows runs every status a DEMOAES flow can end with on the
// sample cards, with the card's balance block and the purchase after.
func TestDEMOAESRows(t *testing.T) {
	setInfo := func(b0, b1, b4 byte) func(*card.Image) {
		return func(img *card.Image) {
			info := img.Blocks["info"][0]
			info[0], info[1], info[4] = b0, b1, b4
			img.Blocks["info"] = [][felica.BlockSize]byte{info}
		}
	}
	cases := []struct {
		name      string
		idm       string
		edit      func(*card.Image)
		op        string
		kind      string
		amount    int64
		status    int
		balance   string // the card's balance block after
		purchase  string // the purchase's status after
		ledgerBal int64  // -1: none recorded
	}{
		{"topup", aesAdult, nil, "TOPUP", "TOPUP", 500, 0, "DC050000080000000000000000000000", "APPLIED", 1500},
		{"topup to exactly the maximum", aesNearMax, nil, "TOPUP", "TOPUP", 200, 0, "204E00000D0000000000000000000000", "APPLIED", 20000},
		{"topup past the maximum", aesNearMax, nil, "TOPUP", "TOPUP", 201, 163, "584D00000C0000000000000000000000", "PENDING", -1},
		{"staff may not top up", aesStaff, nil, "TOPUP", "TOPUP", 100, 163, "F4010000010000000000000000000000", "PENDING", -1},
		{"refund", aesZeroKind, nil, "REFUND", "REFUND", 500, 0, "D0070000040000000000000000000000", "APPLIED", 2000},
		{"refund of the whole balance", aesAdult, nil, "REFUND", "REFUND", 1000, 0, "00000000080000000000000000000000", "APPLIED", 0},
		{"refund above the balance", aesAdult, nil, "REFUND", "REFUND", 1001, 162, "E8030000070000000000000000000000", "PENDING", -1},
		{"purchase of another kind", aesAdult, nil, "REFUND", "TOPUP", 100, 911, "E8030000070000000000000000000000", "PENDING", -1},
		{"read", aesAdult, nil, "READ", "", 0, 0, "E8030000070000000000000000000000", "", 1000},
		{"key version the store lacks", aesVersion2, nil, "TOPUP", "TOPUP", 500, 177, "E8030000070000000000000000000000", "PENDING", -1},
		{"key version the store lacks, read", aesVersion2, nil, "READ", "", 0, 177, "E8030000070000000000000000000000", "", -1},
		{"card does not authenticate", aesWrongKind, nil, "TOPUP", "TOPUP", 500, 911, "E8030000070000000000000000000000", "PENDING", -1},
		{"card does not authenticate, read", aesWrongKind, nil, "READ", "", 0, 911, "E8030000070000000000000000000000", "", -1},
		{"card parked", aesAdult, setInfo(1, 1, 0), "TOPUP", "TOPUP", 500, 160, "E8030000070000000000000000000000", "PENDING", -1},
		{"card blocked", aesAdult, setInfo(3, 1, 0), "READ", "", 0, 159, "E8030000070000000000000000000000", "", -1},
		{"card in station", aesAdult, setInfo(0, 1, 1), "TOPUP", "TOPUP", 500, 178, "E8030000070000000000000000000000", "PENDING", -1},
		{"card info malformed", aesAdult, setInfo(9, 1, 0), "READ", "", 0, 177, "E8030000070000000000000000000000", "", -1},
	}
	s := testSAM(t)
	reg := openAES(t, s)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newLedger()
			c := aesCard(t, tc.idm, tc.edit)
			l.cards["card-1"] = activeCard("card-1")
			req := flow.Request{CardID: "card-1", DeviceID: "dev-1"}
			if tc.kind != "" {
				l.purchases["p-1"] = flow.Purchase{PurchaseID: "p-1", CardID: "card-1", Amount: tc.amount, Kind: tc.kind, Status: "PENDING"}
				req.PurchaseID = "p-1"
			}
			out := runAES(t, reg, l, c, tc.op, req)
			if out.status != tc.status {
				t.Fatalf("status %d (%s), want %d\n%s", out.status, out.message, tc.status, strings.Join(out.decisions, "\n"))
			}
			if got := blockOf(t, c, "balance", 0); got != tc.balance {
				t.Errorf("balance block %s, want %s", got, tc.balance)
			}
			if tc.purchase != "" && l.purchases["p-1"].Status != tc.purchase {
				t.Errorf("purchase %s, want %s", l.purchases["p-1"].Status, tc.purchase)
			}
			b := l.cards["card-1"].LastKnownBalance
			switch {
			case tc.ledgerBal < 0 && b != nil:
				t.Errorf("ledger balance %d recorded, want none", *b)
			case tc.ledgerBal >= 0 && (b == nil || *b != tc.ledgerBal):
				t.Errorf("ledger balance %v, want %d", b, tc.ledgerBal)
			}
		})
	}
}

// TestDEMOAESLostWriteAnswer: the card applies the Write v2 and its answer
// is lost, or the Write v2 never reaches the card; the flow reads the
// counter back over the session and the purchase ends right.
func TestDEMOAESLostWriteAnswer(t *testing.T) {
	for _, tc := range []struct {
		fault    card.FaultKind
		status   int
		balance  string
		purchase string
	}{
		{card.LoseAnswerAfterWrite, 0, "DC050000080000000000000000000000", "APPLIED"},
		{card.FailBeforeWrite, 911, "E8030000070000000000000000000000", "PENDING"},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			reg, l := openAES(t, testSAM(t)), newLedger()
			c := aesCard(t, aesAdult, nil)
			if err := c.Arm(card.Fault{Kind: tc.fault}); err != nil {
				t.Fatal(err)
			}
			l.cards["card-1"] = activeCard("card-1")
			l.purchases["p-1"] = flow.Purchase{PurchaseID: "p-1", CardID: "card-1", Amount: 500, Kind: "TOPUP", Status: "PENDING"}
			out := runAES(t, reg, l, c, "TOPUP", flow.Request{CardID: "card-1", PurchaseID: "p-1", DeviceID: "dev-1"})
			if out.status != tc.status {
				t.Fatalf("status %d (%s), want %d", out.status, out.message, tc.status)
			}
			if got := blockOf(t, c, "balance", 0); got != tc.balance {
				t.Errorf("balance block %s, want %s", got, tc.balance)
			}
			if got := l.purchases["p-1"].Status; got != tc.purchase {
				t.Errorf("purchase %s, want %s", got, tc.purchase)
			}
		})
	}
}

// TestDEMOAESSettleUncertain: an operation that ended after its Write v2
// was sent leaves the purchase UNCERTAIN; the next operation on the card
// settles it by the counter it reads over its own authenticated session.
func TestDEMOAESSettleUncertain(t *testing.T) {
	for _, applied := range []bool{true, false} {
		name := map[bool]string{true: "write applied", false: "write lost"}[applied]
		t.Run(name, func(t *testing.T) {
			reg, l := openAES(t, testSAM(t)), newLedger()
			c := aesCard(t, aesAdult, nil)
			fault := card.FailBeforeWrite
			if applied {
				fault = card.LoseAnswerAfterWrite
			}
			if err := c.Arm(card.Fault{Kind: fault}); err != nil {
				t.Fatal(err)
			}
			l.cards["card-1"] = activeCard("card-1")
			l.purchases["p-1"] = flow.Purchase{PurchaseID: "p-1", CardID: "card-1", Amount: 500, Kind: "TOPUP", Status: "PENDING"}
			req := flow.Request{CardID: "card-1", PurchaseID: "p-1", DeviceID: "dev-1", IssuerID: "DEMOAES"}
			// ledger, poll, probe, auth (2), read, write: the device fails
			// after sending the write.
			if _, ended := playIssuer(t, reg, l, c, flow.EndpointCard, "TOPUP", req, 7); ended {
				t.Fatal("operation ended before its write")
			}
			if got := l.purchases["p-1"].Status; got != "UNCERTAIN" {
				t.Fatalf("purchase %s after the lost write, want UNCERTAIN", got)
			}
			out := runAES(t, reg, l, c, "READ", flow.Request{CardID: "card-1", DeviceID: "dev-1"})
			if out.status != 0 {
				t.Fatalf("READ: %d (%s)", out.status, out.message)
			}
			want := map[bool]string{true: "APPLIED", false: "PENDING"}[applied]
			if got := l.purchases["p-1"].Status; got != want {
				t.Errorf("purchase %s after the settle, want %s", got, want)
			}
			again := runAES(t, reg, l, c, "TOPUP", flow.Request{CardID: "card-1", PurchaseID: "p-1", DeviceID: "dev-1"})
			wantStatus, wantBlock := 911, "DC050000080000000000000000000000"
			if !applied {
				wantStatus = 0
			}
			if again.status != wantStatus {
				t.Errorf("top-up again: %d (%s), want %d", again.status, again.message, wantStatus)
			}
			if got := blockOf(t, c, "balance", 0); got != wantBlock {
				t.Errorf("balance block %s, want %s (money moved exactly once)", got, wantBlock)
			}
		})
	}
}

// forgingCard answers like the card, except that it flips a byte of the
// MAC of every answer to a command whose code is code.
type forgingCard struct {
	*card.Card
	code felica.Code
}

func (f forgingCard) Transceive(ctx context.Context, frame []byte) ([]byte, error) {
	a, err := f.Card.Transceive(ctx, frame)
	if err == nil && len(frame) > 1 && felica.Code(frame[1]) == f.code && len(a) > 0 {
		a[len(a)-1] ^= 1
	}
	return a, err
}

// TestDEMOAESForgedAnswers: an answer whose MAC fails is no answer. A forged
// read answer is never data (911, nothing written); a forged write answer is
// not taken as the card's word either way: the balance is read back.
func TestDEMOAESForgedAnswers(t *testing.T) {
	for _, tc := range []struct {
		code     felica.Code
		status   int
		purchase string
		note     string
	}{
		{felica.CodeReadV2, 911, "PENDING", "balance: answer does not authenticate"},
		// The forged write answer is not the card's word: the balance is
		// read back (an authentic Read v2) and shows the write applied.
		{felica.CodeWriteV2, 0, "APPLIED", "write: answer does not authenticate"},
		{felica.CodeAuth2V2, 911, "PENDING", "auth: answer does not authenticate"},
	} {
		t.Run(tc.code.String(), func(t *testing.T) {
			reg, l := openAES(t, testSAM(t)), newLedger()
			c := aesCard(t, aesAdult, nil)
			l.cards["card-1"] = activeCard("card-1")
			l.purchases["p-1"] = flow.Purchase{PurchaseID: "p-1", CardID: "card-1", Amount: 500, Kind: "TOPUP", Status: "PENDING"}
			req := flow.Request{IssuerID: "DEMOAES", CardID: "card-1", PurchaseID: "p-1", DeviceID: "dev-1"}
			out := playForging(t, reg, l, forgingCard{c, tc.code}, req)
			joined := strings.Join(out.decisions, "\n")
			if !strings.Contains(joined, tc.note) {
				t.Errorf("trace lacks %q:\n%s", tc.note, joined)
			}
			if out.status != tc.status {
				t.Fatalf("status %d (%s), want %d\n%s", out.status, out.message, tc.status, joined)
			}
			if got := l.purchases["p-1"].Status; got != tc.purchase {
				t.Errorf("purchase %s, want %s", got, tc.purchase)
			}
			want := "E8030000070000000000000000000000"
			if tc.status == 0 {
				want = "DC050000080000000000000000000000"
			}
			if got := blockOf(t, c, "balance", 0); got != want {
				t.Errorf("balance block %s, want %s", got, want)
			}
		})
	}
}

type transceiver interface {
	Transceive(ctx context.Context, frame []byte) ([]byte, error)
}

func playForging(t *testing.T, reg flow.Registry, l *ledger, c transceiver, req flow.Request) outcome {
	t.Helper()
	ctx := context.Background()
	iss, _ := reg.Current(req.IssuerID)
	in := flow.Input{Endpoint: flow.EndpointCard, Operation: "TOPUP", Request: req, Ledger: l, Now: now}
	var out outcome
	for range 20 {
		res, err := iss.Step(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		l.apply(req, res.Effects)
		out.decisions = append(out.decisions, res.Decisions...)
		if len(res.Commands) == 0 {
			out.status, out.message = res.Status, res.Message
			return out
		}
		answers := make([][]byte, len(res.Commands))
		for i, cmd := range res.Commands {
			a, err := c.Transceive(ctx, cmd)
			if err != nil && !errors.Is(err, card.ErrNoAnswer) {
				t.Fatal(err)
			}
			answers[i] = a
		}
		in.State, in.Responses = res.State, answers
	}
	t.Fatal("no end in 20 steps")
	return out
}

// TestSAMModuleWithoutSAM: a flow that authenticates on a server without a
// SAM fails with a run-time error that says so.
func TestSAMModuleWithoutSAM(t *testing.T) {
	reg, l := openAES(t, nil), newLedger()
	c := aesCard(t, aesAdult, nil)
	l.cards["card-1"] = activeCard("card-1")
	iss, _ := reg.Current("DEMOAES")
	in := flow.Input{Endpoint: flow.EndpointCard, Operation: "READ", Ledger: l, Now: now,
		Request: flow.Request{IssuerID: "DEMOAES", CardID: "card-1", DeviceID: "dev-1"}}
	ctx := context.Background()
	for range 5 {
		res, err := iss.Step(ctx, in)
		if err != nil {
			if !errors.Is(err, scripts.ErrScript) || !strings.Contains(err.Error(), "no SAM") {
				t.Fatalf("error %v, want a script error naming the missing SAM", err)
			}
			return
		}
		answers := make([][]byte, len(res.Commands))
		for i, cmd := range res.Commands {
			answers[i], _ = c.Transceive(ctx, cmd)
		}
		in.State, in.Responses = res.State, answers
	}
	t.Fatal("no error")
}

// TestStateHoldsNoKey: the flow state a session keeps holds the SAM's sealed
// state, never a test key (hex or raw).
func TestStateHoldsNoKey(t *testing.T) {
	reg, l := openAES(t, testSAM(t)), newLedger()
	c := aesCard(t, aesAdult, nil)
	l.cards["card-1"] = activeCard("card-1")
	iss, _ := reg.Current("DEMOAES")
	in := flow.Input{Endpoint: flow.EndpointCard, Operation: "READ", Ledger: l, Now: now,
		Request: flow.Request{IssuerID: "DEMOAES", CardID: "card-1", DeviceID: "dev-1"}}
	ctx := context.Background()
	keys := []string{"1930555EF431874A9553F36154B62B36", "FE63F342A956D970AD10A671B923C09D", "DC023831D1EC9FAFA3A6EB8A1EAE3A55"}
	for range 10 {
		res, err := iss.Step(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			raw := string(mustHex(t, k))
			st := string(res.State)
			if strings.Contains(strings.ToUpper(st), k) || strings.Contains(st, raw) {
				t.Fatalf("state holds key %s", k)
			}
		}
		if len(res.Commands) == 0 {
			return
		}
		answers := make([][]byte, len(res.Commands))
		for i, cmd := range res.Commands {
			answers[i], _ = c.Transceive(ctx, cmd)
		}
		in.State, in.Responses = res.State, answers
	}
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

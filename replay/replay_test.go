package replay_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/replay"
	"github.com/tes-project/tes/scripts"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

const issuersDir = "../issuers"

// record plays op on the DEMO adult card on an in-process server and
// returns the session as the admin API shows it.
func record(t *testing.T, op tsh.Operation, purchase *tsh.PurchaseSeed, faults ...tsh.Fault) replay.Recording {
	t.Helper()
	ctx := context.Background()
	srv, err := node.Start(ctx, node.Config{DataDir: t.TempDir(), IssuersDir: issuersDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	admin, err := tsh.NewAdmin(srv.AdminURL, "", tsh.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PutCard(ctx, tsh.CardSeed{IssuerID: "DEMO", CardID: "CARD-1", ProductCode: 1}); err != nil {
		t.Fatal(err)
	}
	if purchase != nil {
		if _, err := admin.PutPurchase(ctx, *purchase); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	img, _ := cat.Image("012E4C7A11223344")
	crd, err := card.New(cat.Layout, img, card.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := tsh.NewClient(srv.GatewayURL, tsh.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	out, err := client.Run(ctx, op, crd, tsh.Options{Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := admin.Session(ctx, out.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := replay.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// startFacts is the ledger as it was when the recorded sessions started.
var startFacts = replay.Facts{
	Card:     &replay.FactCard{Status: "ACTIVE", ProductCode: 1},
	Purchase: &replay.FactPurchase{PurchaseID: "P-1", CardID: "CARD-1", Amount: 500, Kind: "TOPUP", Status: "PENDING"},
}

func TestReplay(t *testing.T) {
	topUp := tsh.Operation{Endpoint: flow.EndpointCard, IssuerID: "DEMO", Operation: "TOPUP", CardID: "CARD-1",
		PurchaseID: "P-1", DeviceID: "DEVICE-1", ActorID: "test"}
	read := tsh.Operation{Endpoint: flow.EndpointCard, IssuerID: "DEMO", Operation: "READ", CardID: "CARD-1",
		DeviceID: "DEVICE-1", ActorID: "test"}
	purchase := &tsh.PurchaseSeed{IssuerID: "DEMO", PurchaseID: "P-1", CardID: "CARD-1", Amount: 500, Kind: store.PurchaseTopUp}
	topUpRec := record(t, topUp, purchase)
	readRec := record(t, read, nil)
	lostRec := record(t, topUp, purchase, tsh.Fault{Kind: tsh.LoseAnswerAfterWrite}, tsh.Fault{Kind: tsh.DeviceError, RoundTrip: 5, StatusCode: 231})

	tests := []struct {
		name     string
		rec      replay.Recording
		file     string // DEMO file to change; "" unchanged
		old, new string
		// first is the call of the first difference (0: none), kinds the
		// kinds of the findings in order.
		first int
		kinds []replay.Kind
	}{
		{name: "TOPUP, unchanged flow", rec: topUpRec, first: 0,
			kinds: []replay.Kind{replay.Same, replay.Same, replay.Same, replay.Same}},
		{name: "READ, unchanged flow", rec: readRec, first: 0,
			kinds: []replay.Kind{replay.Same, replay.Same, replay.Same}},
		{name: "TOPUP lost and ended by the device, unchanged flow", rec: lostRec, first: 0,
			kinds: []replay.Kind{replay.Same, replay.Same, replay.Same, replay.Same, replay.NotAStep}},
		{name: "TOPUP, a lower maximum balance refuses at call 3", rec: topUpRec,
			file: "issuer.yaml", old: "maxBalance: 20000", new: "maxBalance: 1200", first: 3,
			kinds: []replay.Kind{replay.Same, replay.Same, replay.DecisionsDiffer, replay.EndsEarly}},
		{name: "TOPUP, a changed history record: commands differ at call 3 and the recording runs out", rec: topUpRec,
			file: "lib/common.lua", old: "bin.put_le(now, 4))", new: "bin.put_be(now, 4))", first: 3,
			kinds: []replay.Kind{replay.Same, replay.Same, replay.CommandsDiffer, replay.RanOut}},
		{name: "READ, four history blocks: call 2 asks the card something new", rec: readRec,
			file: "issuer.yaml", old: "historyBlocks: 8", new: "historyBlocks: 4", first: 2,
			kinds: []replay.Kind{replay.Same, replay.CommandsDiffer, replay.RanOut}},
		{name: "TOPUP, a changed final status", rec: topUpRec,
			file: "money.lua", old: `next = { { done = 0, balance = "vars.newBalance" } },`, new: `next = { { fail = 911, message = "patched" } },`, first: 4,
			kinds: []replay.Kind{replay.Same, replay.Same, replay.Same, replay.DecisionsDiffer}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := issuersDir
			if tt.file != "" {
				dir = t.TempDir()
				if err := os.CopyFS(filepath.Join(dir, "DEMO"), os.DirFS(filepath.Join(issuersDir, "DEMO"))); err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(dir, "DEMO", tt.file)
				data, err := os.ReadFile(file)
				if err != nil || strings.Count(string(data), tt.old) != 1 {
					t.Fatalf("%s: %q not there once (%v)", file, tt.old, err)
				}
				if err := os.WriteFile(file, []byte(strings.Replace(string(data), tt.old, tt.new, 1)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			reg, err := scripts.Open(context.Background(), scripts.Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			iss, ok := reg.Current("DEMO")
			if !ok {
				t.Fatalf("DEMO does not load: %v", reg.Statuses())
			}
			rep, err := replay.Run(context.Background(), iss, tt.rec, startFacts)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []replay.Kind
			for _, f := range rep.Findings {
				kinds = append(kinds, f.Kind)
			}
			if rep.FirstCall != tt.first || !equalKinds(kinds, tt.kinds) {
				t.Errorf("first difference at call %d, kinds %v; want %d, %v\n%+v", rep.FirstCall, kinds, tt.first, tt.kinds, rep.Findings)
			}
			if (tt.first == 0) != (rep.Differences == 0) {
				t.Errorf("%d differences, first at %d", rep.Differences, tt.first)
			}
		})
	}
}

func equalKinds(a, b []replay.Kind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, data, want string }{
		{"not json", "{", "unexpected EOF"},
		{"no issuer", `{"endpoint": "getCardCommands", "operation": "READ", "trace": [{}]}`, "no issuerId"},
		{"no trace", `{"issuerId": "DEMO", "endpoint": "getCardCommands", "operation": "READ", "trace": []}`, "trace is empty"},
		{"bad hex", `{"issuerId": "DEMO", "endpoint": "getCardCommands", "operation": "READ", "trace": [{"commands": [{"commandId": "1.1", "hex": "zz"}]}]}`, "call 1: frame 1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := replay.Parse([]byte(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/replay"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// recordTopUp runs a DEMO TOPUP of 500 on an in-process server and writes
// its session, with the ledger facts as they were, to a file.
func recordTopUp(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	srv, err := node.Start(ctx, node.Config{DataDir: t.TempDir(), IssuersDir: "../../issuers"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	admin, err := tsh.NewAdmin(srv.AdminURL, "", tsh.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PutCard(ctx, tsh.CardSeed{IssuerID: "DEMO", CardID: "C", ProductCode: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PutPurchase(ctx, tsh.PurchaseSeed{IssuerID: "DEMO", PurchaseID: "P", CardID: "C", Amount: 500, Kind: store.PurchaseTopUp}); err != nil {
		t.Fatal(err)
	}
	cat, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	img, _ := cat.Image(simPhoneCard)
	crd, err := card.New(cat.Layout, img, card.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := tsh.NewClient(srv.GatewayURL, tsh.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	out, err := client.Run(ctx, tsh.Operation{Endpoint: flow.EndpointCard, IssuerID: "DEMO", Operation: "TOPUP",
		CardID: "C", PurchaseID: "P", DeviceID: "D", ActorID: "a"}, crd, tsh.Options{})
	if err != nil || out.StatusCode != 0 {
		t.Fatalf("TOPUP: %v, status %d", err, out.StatusCode)
	}
	raw, err := admin.Session(ctx, out.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := replay.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	rec.Ledger = &replay.Facts{
		Card:     &replay.FactCard{Status: "ACTIVE", ProductCode: 1},
		Purchase: &replay.FactPurchase{PurchaseID: "P", CardID: "C", Amount: 500, Kind: "TOPUP", Status: "PENDING"},
	}
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "trace.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestReplayCommand(t *testing.T) {
	trace := recordTopUp(t)
	patched := t.TempDir()
	if err := os.CopyFS(filepath.Join(patched, "DEMO"), os.DirFS("../../issuers/DEMO")); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(patched, "DEMO", "issuer.yaml")
	data, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, bytes.Replace(data, []byte("maxBalance: 20000"), []byte("maxBalance: 1200"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"unchanged flow", []string{"--file", trace, "--issuers", "../../issuers"}, exitOK,
			[]string{"note: ledger facts from the recording", "call 1: same\ncall 2: same\ncall 3: same\ncall 4: same\nresult: no difference"}},
		{"changed flow", []string{"--file", trace, "--issuers", patched}, exitFail,
			[]string{"call 3: DECISIONS", "now       decided purchase: request.operation == 'TOPUP' && vars.balance + purchase.amount > settings.maxBalance (request.operation=TOPUP, vars.balance=1000, purchase.amount=500, settings.maxBalance=1200) → fail 163",
				"call 4: ENDS-EARLY", "result: 2 difference(s), the first at call 3"}},
		{"both an id and a file", []string{"abc", "--file", trace}, exitUsage, nil},
		{"neither", []string{"--issuers", "../../issuers"}, exitUsage, nil},
		{"two ids", []string{"a", "b"}, exitUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantRun(t, runReplay, tt.args, tt.code, tt.want) })
	}
}

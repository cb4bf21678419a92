package scripts_test

import (
	"context"
	"testing"

	"github.com/tes-project/tes/flow"
)

// BenchmarkStep measures the TOPUP step that receives the card's info and
// balance blocks: decode the Read answer, run the step's Lua, evaluate the
// ledger, card and purchase guards, and build the Write batch.
func BenchmarkStep(b *testing.B) {
	ctx := context.Background()
	reg, l := openDemo(b), newLedger()
	c := demoCard(b, adult, nil)
	l.cards["card-1"] = activeCard("card-1")
	l.purchases["p-1"] = flow.Purchase{PurchaseID: "p-1", CardID: "card-1", Amount: 500, Kind: "TOPUP", Status: "PENDING"}
	iss, _ := reg.Current("DEMO")
	in := flow.Input{Endpoint: flow.EndpointCard, Operation: "TOPUP", Ledger: l, Now: now,
		Request: flow.Request{IssuerID: "DEMO", CardID: "card-1", PurchaseID: "p-1", DeviceID: "dev-1"}}
	// Walk to the batch that reads the card.
	for range 2 {
		res, err := iss.Step(ctx, in)
		if err != nil || len(res.Commands) != 1 {
			b.Fatalf("setup: %v %+v", err, res)
		}
		answer, err := c.Transceive(ctx, res.Commands[0])
		if err != nil {
			b.Fatal(err)
		}
		in.State, in.Responses = res.State, [][]byte{answer}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := iss.Step(ctx, in)
		if err != nil || res.Step != "write" {
			b.Fatalf("%v %q", err, res.Step)
		}
	}
}

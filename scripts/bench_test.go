package scripts_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/scripts"
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

// BenchmarkSaveToServe measures the time from saving a flow file (a
// temporary file renamed over it) to the new version serving new
// operations, through the real file watcher with the default debounce.
// Run it with -benchtime=50x for the figure over 50 saves.
func BenchmarkSaveToServe(b *testing.B) {
	root := copyDemo(b, "50ms", "", nil)
	readFlow := filepath.Join(root, "DEMO", "read.lua")
	original, err := os.ReadFile(readFlow)
	must(b, err)
	seen := &reloads{}
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root, OnReload: seen.record})
	must(b, err)
	startWatch(b, reg)
	waitFor(b, "the watches to be set", func() bool { return seen.count("DEMO "+scripts.ReloadUnchanged) > 0 })

	var took []time.Duration
	for b.Loop() {
		cur, _ := reg.Current("DEMO")
		start := time.Now()
		must(b, replaceFile(readFlow, fmt.Sprintf("%s-- save %d\n", original, len(took))))
		waitFor(b, "the save to serve", func() bool { now, _ := reg.Current("DEMO"); return now.Version() != cur.Version() })
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	median, worst := took[len(took)/2], took[len(took)-1]
	b.ReportMetric(float64(median.Microseconds())/1000, "ms-median")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-worst")
	b.Logf("save to serve over %d saves: median %v, worst %v (debounce 150ms)", len(took), median.Round(time.Millisecond), worst.Round(time.Millisecond))
}

// BenchmarkDEMOAESStep measures the DEMOAES TOPUP step that receives the
// card's Read v2 answer: open it through the SAM (state opened, MAC checked,
// decrypted, state sealed again), run the step's Lua, evaluate the guards
// and build the Write v2 batch (sealed by the SAM) — the counterpart of
// BenchmarkStep.
func BenchmarkDEMOAESStep(b *testing.B) {
	ctx := context.Background()
	reg, l := openAES(b, testSAM(b)), newLedger()
	c := aesCard(b, aesAdult, nil)
	l.cards["card-1"] = activeCard("card-1")
	l.purchases["p-1"] = flow.Purchase{PurchaseID: "p-1", CardID: "card-1", Amount: 500, Kind: "TOPUP", Status: "PENDING"}
	iss, _ := reg.Current("DEMOAES")
	in := flow.Input{Endpoint: flow.EndpointCard, Operation: "TOPUP", Ledger: l, Now: now,
		Request: flow.Request{IssuerID: "DEMOAES", CardID: "card-1", PurchaseID: "p-1", DeviceID: "dev-1"}}
	// Walk to the batch that reads the balance: poll, probe, auth (2).
	for range 5 {
		res, err := iss.Step(ctx, in)
		if err != nil || len(res.Commands) == 0 {
			b.Fatalf("setup: %v %+v", err, res)
		}
		answers := make([][]byte, len(res.Commands))
		for i, cmd := range res.Commands {
			if answers[i], err = c.Transceive(ctx, cmd); err != nil {
				b.Fatal(err)
			}
		}
		in.State, in.Responses = res.State, answers
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := iss.Step(ctx, in)
		if err != nil || res.Step != "write" {
			b.Fatalf("%v %q", err, res.Step)
		}
	}
}

// BenchmarkDEMOAESTopUp measures a whole DEMOAES TOPUP at the scripts
// level: every step of the flow (7 batches) with the SAM, the virtual card
// executing each command (its own AES work included) and the effects
// applied to an in-memory ledger. The card's balance grows by 1 each time.
func BenchmarkDEMOAESTopUp(b *testing.B) {
	ctx := context.Background()
	reg, l := openAES(b, testSAM(b)), newLedger()
	c := aesCard(b, aesAdult, nil)
	l.cards["card-1"] = activeCard("card-1")
	iss, _ := reg.Current("DEMOAES")
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		n++
		id := fmt.Sprintf("p-%d", n)
		l.purchases[id] = flow.Purchase{PurchaseID: id, CardID: "card-1", Amount: 1, Kind: "TOPUP", Status: "PENDING"}
		req := flow.Request{IssuerID: "DEMOAES", CardID: "card-1", PurchaseID: id, DeviceID: "dev-1"}
		in := flow.Input{Endpoint: flow.EndpointCard, Operation: "TOPUP", Ledger: l, Now: now, Request: req}
		for {
			res, err := iss.Step(ctx, in)
			if err != nil {
				b.Fatal(err)
			}
			l.apply(req, res.Effects)
			if len(res.Commands) == 0 {
				if res.Status != 0 {
					b.Fatalf("status %d %s", res.Status, res.Message)
				}
				break
			}
			answers := make([][]byte, len(res.Commands))
			for i, cmd := range res.Commands {
				if answers[i], err = c.Transceive(ctx, cmd); err != nil {
					b.Fatal(err)
				}
			}
			in.State, in.Responses = res.State, answers
		}
	}
}

package scripts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/scripts"
)

// The manifest's knobs reach the settings the engine runs the issuer by.
func TestManifestSettings(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		want flow.Settings
	}{
		{"as shipped", func(m string) string { return m },
			flow.Settings{TTL: 60 * time.Second, StepTimeout: 50 * time.Millisecond}},
		{"ttl, stepTimeout and framing set", strings.NewReplacer("ttl: 60s", "ttl: 5s",
			"stepTimeout: 50ms", "stepTimeout: 20ms", "framing: LEN", "framing: NOLEN").Replace,
			flow.Settings{TTL: 5 * time.Second, StepTimeout: 20 * time.Millisecond, WithoutLEN: true}},
		{"defaults when absent", strings.NewReplacer("ttl: 60s\n", "", "stepTimeout: 50ms\n", "", "framing: LEN\n", "").Replace,
			flow.Settings{TTL: scripts.DefaultTTL, StepTimeout: scripts.DefaultStepTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := scripts.Open(context.Background(), scripts.Config{Dir: demoRoot(t, tt.edit)})
			must(t, err)
			iss, ok := reg.Current("DEMO")
			if !ok {
				t.Fatalf("DEMO did not load: %+v", reg.Statuses())
			}
			if got := iss.Settings(); got != tt.want {
				t.Fatalf("settings %+v, want %+v", got, tt.want)
			}
		})
	}
}

// An issuer whose manifest says NOLEN (iOS's sendFeliCaCommand) sends and
// reads frames without their LEN byte, and a whole top-up runs that way.
func TestIssuerWithoutLENFraming(t *testing.T) {
	root := demoRoot(t, func(m string) string { return strings.Replace(m, "framing: LEN\n", "framing: NOLEN\n", 1) })
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root})
	must(t, err)
	iss, ok := reg.Current("DEMO")
	if !ok || !iss.Settings().WithoutLEN {
		t.Fatalf("DEMO loaded %v, settings %+v: want WithoutLEN", ok, iss)
	}
	l := newLedger()
	l.cards["card-1"] = activeCard("card-1")
	l.purchases["p-1"] = flow.Purchase{PurchaseID: "p-1", CardID: "card-1", Amount: 500, Kind: "TOPUP", Status: "PENDING"}
	req := flow.Request{IssuerID: "DEMO", CardID: "card-1", PurchaseID: "p-1", DeviceID: "dev-1"}

	first, err := iss.Step(context.Background(), flow.Input{Endpoint: flow.EndpointCard, Operation: "TOPUP", Request: req, Ledger: l, Now: now})
	must(t, err)
	if len(first.Commands) != 1 || first.Commands[0][0] != byte(felica.CodePolling) ||
		!strings.HasPrefix(felica.Describe(first.Commands[0], felica.WithoutLEN), "Polling") {
		t.Fatalf("first batch %X: want one Polling frame starting with its code, no LEN", first.Commands)
	}

	cat, err := card.Demo()
	must(t, err)
	img, _ := cat.Image(adult)
	c, err := card.New(cat.Layout, img, card.Settings{Framing: felica.WithoutLEN})
	must(t, err)
	out := run(t, reg, l, c, flow.EndpointCard, "TOPUP", req)
	if out.status != flow.StatusOK || out.balance == nil || *out.balance != 1500 {
		t.Fatalf("top-up without LEN: status %d balance %v (%s), want 0 and 1500", out.status, out.balance, out.message)
	}
	if got := blockOf(t, c, "balance", 0); got != "DC050000080000000000000000000000" {
		t.Errorf("balance block %s, want 1500 yen counter 8", got)
	}
}

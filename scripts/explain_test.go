package scripts_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/tes-project/tes/flow"
)

// TestDecisionsShowWhatGuardsRead: the trace names every guard tried, with
// the values it read and where it led.
func TestDecisionsShowWhatGuardsRead(t *testing.T) {
	reg, l := openDemo(t), newLedger()
	l.cards["card-1"] = activeCard("card-1")
	l.purchases["p-201"] = flow.Purchase{PurchaseID: "p-201", CardID: "card-1", Amount: 201, Kind: "TOPUP", Status: "PENDING"}
	out := run(t, reg, l, demoCard(t, nearMax, nil), flow.EndpointCard, "TOPUP",
		flow.Request{CardID: "card-1", PurchaseID: "p-201", DeviceID: "dev-1"})
	if out.status != 163 {
		t.Fatalf("status %d, want 163", out.status)
	}
	wants := []string{
		"request.operation == 'TOPUP' && vars.balance + purchase.amount > settings.maxBalance " +
			"(request.operation=TOPUP, vars.balance=19800, purchase.amount=201, settings.maxBalance=20000) → fail 163",
		"purchase.status == 'APPLIED' || vars.settled == 'APPLIED' (purchase.status=PENDING, vars.settled=<nil>) → no",
	}
	for _, want := range wants {
		if !slices.ContainsFunc(out.decisions, func(d string) bool { return strings.HasSuffix(d, want) }) {
			t.Errorf("no decision ends with\n  %s\nin\n  %s", want, strings.Join(out.decisions, "\n  "))
		}
	}
}

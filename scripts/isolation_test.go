package scripts_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/scripts"
)

// TestPooledStateShowsNoPreviousCall runs two operations one after the
// other on the same pooled Lua state: the second's ctx must hold only its
// own request, even though the first changed its ctx and kept it in a
// global (calls = 1 proves the state is the same one).
func TestPooledStateShowsNoPreviousCall(t *testing.T) {
	first := `return { start = "s", steps = { s = {
  run = function(ctx)
    calls = (calls or 0) + 1
    kept = ctx
    ctx.vars.leak = ctx.request.cardId
    ctx.settings.maxBalance = 1
    ctx.request.cardId = "tampered"
  end,
  next = { { done = 0 } } } } }
`
	second := `return { start = "s", steps = { s = {
  run = function(ctx)
    local v = ctx.vars
    v.calls = calls
    v.card = ctx.request.cardId
    v.maxBalance = ctx.settings.maxBalance
    v.historyBlocks = ctx.quirk.historyBlocks
    v.respIsNil = ctx.resp == nil
    v.system = ctx.system
    v.now = ctx.now
    v.idmIsEmpty = ctx.idm == ""
    v.keptQuirkIsNil = kept.quirk == nil
    v.keptRespIsNil = kept.resp == nil
    ctx.quirk = nil
    v.quirkStaysNil = ctx.quirk == nil
    local n = 0
    for _ in pairs(ctx.vars) do n = n + 1 end
    v.vars = n
  end,
  next = { { done = 0 } } } } }
`
	manifest := "id: SPY\nsystemCode: \"80DE\"\nsettings:\n  maxBalance: 20000\nparams:\n  historyBlocks: 8\noperations:\n" +
		"  - name: FIRST\n    endpoint: getCardCommands\n    flow: first.lua\n" +
		"  - name: SECOND\n    endpoint: getCardCommands\n    flow: second.lua\n"
	root := copyDemo(t, "2s", "", map[string]string{"SPY/issuer.yaml": manifest, "SPY/first.lua": first, "SPY/second.lua": second})
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	iss, ok := reg.Current("SPY")
	if !ok {
		t.Fatalf("SPY did not load: %+v", reg.Statuses())
	}
	step := func(op, cardID string) map[string]any {
		t.Helper()
		res, err := iss.Step(context.Background(), flow.Input{Endpoint: flow.EndpointCard, Operation: op, Ledger: newLedger(), Now: now,
			Request: flow.Request{IssuerID: "SPY", CardID: cardID}})
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		var vars map[string]any
		if err := json.Unmarshal(res.Vars, &vars); err != nil {
			t.Fatalf("%s: vars %s: %v", op, res.Vars, err)
		}
		return vars
	}
	if got := step("FIRST", "card-old"); got["leak"] != "card-old" {
		t.Fatalf("first call's vars %v", got)
	}
	got := step("SECOND", "card-new")
	want := map[string]any{
		"calls": 1.0, "card": "card-new", "maxBalance": 20000.0, "historyBlocks": 8.0,
		"respIsNil": true, "keptQuirkIsNil": true, "keptRespIsNil": true, "quirkStaysNil": true, "vars": 11.0,
		"system": float64(0x80DE), "now": float64(now.Unix()), "idmIsEmpty": true,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("second call: vars.%s = %v, want %v (all: %v)", k, got[k], w, got)
		}
	}
	if _, ok := got["leak"]; ok {
		t.Errorf("second call sees the first's vars: %v", got)
	}
}

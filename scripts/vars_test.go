package scripts_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/scripts"
)

// TestVarsKeepOnlyWhatASessionCanStore runs flows that leave ctx.vars in
// various shapes: what a session can keep comes back in the state, the
// rest fails the step with ErrScript naming the culprit.
func TestVarsKeepOnlyWhatASessionCanStore(t *testing.T) {
	cases := map[string]struct {
		body string
		want string // in the error; empty: the step succeeds
		vars map[string]any
	}{
		"KEPT": {body: "ctx.vars.n = 3; ctx.vars.f = 1.5; ctx.vars.b = true; ctx.vars.s = 'x'; ctx.vars.gone = 1; ctx.vars.gone = nil",
			vars: map[string]any{"n": 3.0, "f": 1.5, "b": true, "s": "x"}},
		"INDEX":    {body: "ctx.vars[1] = 2", want: "vars: key 1 is not a string"},
		"BOOLKEY":  {body: "ctx.vars[true] = 2", want: "vars: key true is not a string"},
		"TABLE":    {body: "ctx.vars.t = {}", want: "vars.t: a table cannot be kept"},
		"LONG":     {body: "local s = 'x' for i = 1, 13 do s = s .. s end ctx.vars.s = s", want: "vars.s: strings must be UTF-8"},
		"MANY":     {body: "for i = 1, 65 do ctx.vars['v' .. i] = i end", want: "vars: 65 variables, at most 64"},
		"REPLACED": {body: "ctx.vars = 1", want: "ctx.vars is no longer a table"},
	}
	var manifest strings.Builder
	manifest.WriteString("id: VARS\nsystemCode: \"80DE\"\noperations:\n")
	files := map[string]string{}
	for op, c := range cases {
		file := strings.ToLower(op) + ".lua"
		manifest.WriteString("  - name: " + op + "\n    endpoint: getCardCommands\n    flow: " + file + "\n")
		files["VARS/"+file] = hostileFlow(c.body)
	}
	files["VARS/issuer.yaml"] = manifest.String()
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: copyDemo(t, "2s", "", files)})
	if err != nil {
		t.Fatal(err)
	}
	iss, ok := reg.Current("VARS")
	if !ok {
		t.Fatalf("VARS did not load: %+v", reg.Statuses())
	}
	for op, c := range cases {
		t.Run(op, func(t *testing.T) {
			res, err := iss.Step(context.Background(), flow.Input{Endpoint: flow.EndpointCard, Operation: op, Ledger: newLedger(), Now: now})
			if c.want != "" {
				if !errors.Is(err, scripts.ErrScript) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want ErrScript mentioning %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var st struct{ Vars map[string]any }
			if err := json.Unmarshal(res.Vars, &st.Vars); err != nil {
				t.Fatal(err)
			}
			if len(st.Vars) != len(c.vars) {
				t.Fatalf("vars %v, want %v", st.Vars, c.vars)
			}
			for k, v := range c.vars {
				if st.Vars[k] != v {
					t.Errorf("vars.%s = %v, want %v", k, st.Vars[k], v)
				}
			}
		})
	}
}

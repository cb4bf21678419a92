package scripts_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/scripts"
)

const lintManifest = `id: DEMO
systemCode: "80DE"
operations:
  - name: READ
    endpoint: getCardCommands
    flow: flow.lua
    default: withoutPurchase
`

const twoFlowManifest = lintManifest + `  - name: TOPUP
    endpoint: getCardCommands
    flow: money.lua
    default: withPurchase
`

// TestCheckDir: each stricter check of tes check, with the exact
// "file:line: message" it prints.
func TestCheckDir(t *testing.T) {
	validCodes := "done = 0; fail = one of 111, 112, 113, 117, 118, 119, 159, 160, 162, 163, 167, 172, 173, 177, 178, 191, 192, 221, 231, 232, 321, 322, 323, 911, 921"
	tests := []struct {
		name     string
		files    map[string]string // under DEMO/; nil: an empty root
		problems []string
		warnings []string
	}{
		{
			name: "a guard names an answer no command is built for",
			files: map[string]string{"issuer.yaml": lintManifest, "flow.lua": `return {
  start = "a",
  steps = {
    a = {
      run = function(ctx) felica.polling{ as = "poll", system = ctx.system } end,
      next = {
        { when = "resp.pol.answered", done = 0 },
        { fail = 172 },
      },
    },
  },
}
`},
			problems: []string{`DEMO/flow.lua:7: step a: guard names resp.pol, but no command of the flow is built with as = "pol" (its commands answer as "poll")`},
		},
		{
			name: "a command without as answers as its kind",
			files: map[string]string{"issuer.yaml": lintManifest, "flow.lua": `return {
  start = "a",
  steps = {
    a = {
      run = function(ctx) felica.polling{ system = ctx.system } end,
      next = { { when = "resp.polling.answered", done = 0 }, { when = "resp.read.ok", fail = 911 }, { fail = 172 } },
    },
  },
}
`},
			problems: []string{`DEMO/flow.lua:6: step a: guard names resp.read, but no command of the flow is built with as = "read" (its commands answer as "polling")`},
		},
		{
			name: "a label built at run time is not checked",
			files: map[string]string{"issuer.yaml": lintManifest, "flow.lua": `local name = "p" .. "oll"
return {
  start = "a",
  steps = {
    a = {
      run = function(ctx) felica.polling{ as = name } end,
      next = { { when = "resp.other.answered", done = 0 }, { fail = 172 } },
    },
  },
}
`},
		},
		{
			name: "a status code is reported at its own line, with the valid codes",
			files: map[string]string{"issuer.yaml": lintManifest, "flow.lua": `return {
  start = "a",
  steps = {
    a = {
      next = {
        { when = "card.found", done = 0 },
        { when = "!card.found", fail = 119 },
        {
          fail = 999,
        },
      },
    },
  },
}
`},
			problems: []string{`DEMO/flow.lua:9: step a: fail = 999 is not a valid status code here (` + validCodes + `)`},
		},
		{
			name: "a module function that does not exist",
			files: map[string]string{"issuer.yaml": lintManifest, "flow.lua": `return {
  start = "a",
  steps = {
    a = {
      run = function(ctx)
        effect.record_balance{ balance = 1, counter = 1 }
        felica.wrte{ as = "w", blocks = {} }
      end,
      next = { { done = 0 } },
    },
  },
}
`},
			problems: []string{`DEMO/flow.lua:7: felica.wrte is not a function of the felica module (it has polling, raw, read, request_service, request_service_v2, write)`},
		},
		{
			name: "a local that shadows a module is not checked",
			files: map[string]string{"issuer.yaml": lintManifest, "flow.lua": `local bin = { anything = function() return 1 end }
return {
  start = "a",
  steps = { a = { run = function(ctx) ctx.vars.x = bin.anything() end, next = { { done = 0 } } } },
}
`},
		},
		{
			name: "every file is checked when another has errors",
			files: map[string]string{"issuer.yaml": twoFlowManifest,
				"flow.lua":  "return {\n  start = \n",
				"money.lua": "return {\n  start = \"a\",\n  steps = {\n    a = { next = { { when = \"card.colour\", done = 0 } } },\n  },\n}\n"},
			problems: []string{
				"DEMO/flow.lua:2: syntax error at EOF",
				"DEMO/money.lua:4: step a: guard \"card.colour\": type scripts.CardFacts has no field colour (1:6)",
			},
		},
		{
			name: "a flow that fails as it loads does not hide the next",
			files: map[string]string{"issuer.yaml": twoFlowManifest,
				"flow.lua":  "local x = nil\nreturn x.y\n",
				"money.lua": "return {\n  start = \"a\",\n  steps = {\n    a = { next = { { when = \"resp.none.ok\", done = 0 }, { fail = 911 } } },\n  },\n}\n"},
			problems: []string{
				"DEMO/flow.lua:2: attempt to index a non-table object(nil) with key 'y'",
				`DEMO/money.lua:4: step a: guard names resp.none, but no command of the flow is built with as = "none" (its commands answer as nothing)`,
			},
		},
		{
			name: "a money flow without a settle path is a warning",
			files: map[string]string{"issuer.yaml": lintManifest, "flow.lua": `return {
  start = "a",
  steps = {
    a = {
      run = function(ctx)
        felica.write{ as = "w", blocks = { { 0x1009, 0, bin.block("") } } }
        effect.write_sent{ purchase = ctx.request.purchaseId, counter = 1 }
      end,
      next = { { when = "resp.w.ok", done = 0 }, { fail = 911 } },
    },
  },
}
`},
			warnings: []string{`DEMO/flow.lua:7: warning: the flow sends write_sent but no guard reads card.uncertain, so a purchase whose write's answer was lost in an earlier operation is never settled here; see docs/scripting.md, "Settle obligations of money flows"`},
		},
		{
			name:     "an empty folder",
			problems: []string{"ROOT: no issuer folder here (each issuer is a folder holding issuer.yaml)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, content := range tt.files {
				if err := writeFile(filepath.Join(root, "DEMO", name), content); err != nil {
					t.Fatal(err)
				}
			}
			res := scripts.CheckDir(root)
			got := render(res.Problems, root)
			if strings.Join(got, "\n") != strings.Join(tt.problems, "\n") {
				t.Errorf("problems:\n got %q\nwant %q", got, tt.problems)
			}
			if got := render(res.Warnings, root); strings.Join(got, "\n") != strings.Join(tt.warnings, "\n") {
				t.Errorf("warnings:\n got %q\nwant %q", got, tt.warnings)
			}
			if len(tt.problems) == 0 && (res.Issuers != 1 || res.Operations == 0 || res.Flows == 0) {
				t.Errorf("counted %d issuers, %d operations, %d flows", res.Issuers, res.Operations, res.Flows)
			}
		})
	}
}

func render(ps []scripts.Problem, root string) []string {
	var out []string
	for _, p := range ps {
		out = append(out, strings.ReplaceAll(p.String(), root, "ROOT"))
	}
	return out
}

func TestCheckDirShippedIssuers(t *testing.T) {
	res := scripts.CheckDir(filepath.Join("..", "issuers"))
	if len(res.Problems) > 0 || len(res.Warnings) > 0 || res.Issuers < 1 || res.Operations < 5 || res.Flows < 4 {
		t.Fatalf("%+v", res)
	}
	// A copy of DEMO whose card checks lost the settle step warns about
	// both money operations' flow.
	root := t.TempDir()
	if err := os.CopyFS(filepath.Join(root, "DEMO"), os.DirFS(filepath.Join("..", "issuers", "DEMO"))); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(root, "DEMO", "lib", "common.lua")
	data, err := os.ReadFile(lib)
	if err != nil {
		t.Fatal(err)
	}
	patched := strings.Replace(string(data), `{ when = "card.found && len(card.uncertain) > 0", go = "settle" },`, "", 1)
	if err := os.WriteFile(lib, []byte(patched), 0o644); err != nil {
		t.Fatal(err)
	}
	res = scripts.CheckDir(root)
	if len(res.Problems) > 0 || len(res.Warnings) != 1 || !strings.HasPrefix(res.Warnings[0].String(), "DEMO/money.lua:") {
		t.Fatalf("problems %v, warnings %v; want one warning on money.lua", res.Problems, res.Warnings)
	}
}

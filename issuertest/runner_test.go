package issuertest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/issuertest"
)

// issuersDir is the repository's issuers folder, as the tests run here.
const issuersDir = "../issuers"

// TestShippedIssuers runs `tes test` on the shipped issuers: every case
// passes, and DEMO and DEMOAES have cases for every operation and every
// status code their flows can return.
func TestShippedIssuers(t *testing.T) {
	rep := run(t, issuertest.Config{Dir: issuersDir})
	for _, r := range rep.Results {
		if !r.Pass {
			t.Errorf("%s:%d: %s:\n  %s\n  %s", r.File, r.Line, r.Name, strings.Join(r.Failures, "\n  "), strings.Join(r.Detail, "\n  "))
		}
	}
	if len(rep.Problems) > 0 {
		t.Errorf("problems: %v", rep.Problems)
	}
	if rep.Issuers != 2 {
		t.Errorf("%d issuers tested, want DEMO and DEMOAES", rep.Issuers)
	}
	for _, iss := range []struct {
		id       string
		min      int
		ops      []string
		statuses []int
	}{
		{"DEMO", 70, []string{"TOPUP", "REFUND", "READ", "PARK", "READER_MODE"}, nil},
		{"DEMOAES", 60, []string{"TOPUP", "REFUND", "READ"},
			[]int{0, 117, 119, 159, 160, 162, 163, 172, 173, 177, 178, 191, 221, 231, 232, 322, 911}},
	} {
		passed := 0
		for _, r := range rep.Results {
			if r.Issuer == iss.id && r.Pass {
				passed++
			}
		}
		if passed < iss.min {
			t.Errorf("%d %s cases passed; it ships at least %d", passed, iss.id, iss.min)
		}
		cases, problems := issuertest.LoadCases(issuersDir, iss.id)
		if len(problems) > 0 {
			t.Errorf("%s: %v", iss.id, problems)
		}
		ops, statuses := map[string]bool{}, map[int]bool{}
		for _, c := range cases {
			for _, r := range c.Run {
				ops[r.Operation] = true
				statuses[*r.Expect.Status] = true
			}
		}
		for _, op := range iss.ops {
			if !ops[op] {
				t.Errorf("no %s case runs operation %s", iss.id, op)
			}
		}
		for _, code := range iss.statuses {
			if !statuses[code] {
				t.Errorf("no %s case expects status %d", iss.id, code)
			}
		}
	}
}

// TestMutatedIssuerFails: a copy of DEMO whose flows are changed must make
// the cases that cover the change fail, by name, and only those that can
// see it.
func TestMutatedIssuerFails(t *testing.T) {
	tests := []struct {
		name string
		// issuer is the issuer whose file changes; empty: DEMO.
		issuer   string
		file     string
		old, new string
		// failing are cases that must fail; passing, cases that must not.
		failing []string
		passing []string
	}{
		{
			name: "REFUND above the balance answers 163 instead of 162",
			file: "money.lua", old: `purchase.amount > vars.balance", fail = 162 }`, new: `purchase.amount > vars.balance", fail = 163 }`,
			failing: []string{"REFUND above the balance is 162"},
			passing: []string{"REFUND 300", "TOPUP 500 on the adult card"},
		},
		{
			name: "the settle step is dropped from the card checks",
			file: "lib/common.lua", old: `{ when = "card.found && len(card.uncertain) > 0", go = "settle" },`, new: ``,
			failing: []string{
				"an UNCERTAIN purchase whose counter the card reached is settled APPLIED",
				"TOPUP lost after the write, device fails, READ settles it APPLIED",
				"TOPUP lost after the write, TTL passes, the retry is 911 and writes nothing",
			},
			passing: []string{"READ", "TOPUP 500 on the adult card"},
		},
		{
			name: "a lost top-up answer is taken as refused instead of read back",
			file: "money.lua", old: `{ go = "verify" },`, new: `{ go = "refused" },`,
			failing: []string{"TOPUP whose answer is lost reads the counter back"},
			passing: []string{"TOPUP 500 on the adult card"},
		},
		{
			name: "the maximum balance is off by one",
			file: "money.lua", old: `vars.balance + purchase.amount > settings.maxBalance`, new: `vars.balance + purchase.amount >= settings.maxBalance`,
			failing: []string{"TOPUP reaching exactly the maximum balance"},
			passing: []string{"TOPUP passing the maximum balance is 163"},
		},
		{
			name: "the park record carries the wrong kind",
			file: "park.lua", old: `common.history_record(common.PARK,`, new: `common.history_record(common.TOPUP,`,
			failing: []string{"PARK"},
			passing: []string{"PARK of a parked card is 160"},
		},
		{
			name:   "DEMOAES: the maximum balance's 163 answers 162",
			issuer: "DEMOAES", file: "money.lua",
			old:     `{ when = "request.operation == 'TOPUP' && vars.balance + purchase.amount > settings.maxBalance", fail = 163,`,
			new:     `{ when = "request.operation == 'TOPUP' && vars.balance + purchase.amount > settings.maxBalance", fail = 162,`,
			failing: []string{"TOPUP of a keyed card passing the maximum balance is 163"},
			passing: []string{"TOPUP of a keyed staff card is 163", "TOPUP of a keyed card reaching exactly the maximum balance"},
		},
		{
			name:   "DEMOAES: a lost Write v2 answer is taken as refused instead of read back",
			issuer: "DEMOAES", file: "money.lua", old: `{ go = "verify" },`, new: `{ go = "refused" },`,
			failing: []string{
				"TOPUP whose Write v2 answer is lost reads the counter back over the session",
				"REFUND whose Write v2 answer is lost reads the counter back over the session",
			},
			passing: []string{"TOPUP 500 on the keyed adult card", "REFUND 300 from a keyed card"},
		},
		{
			name:   "DEMOAES: the settle step is dropped from the card checks",
			issuer: "DEMOAES", file: "lib/common.lua", old: `{ when = "card.found && len(card.uncertain) > 0", go = "settle" },`, new: ``,
			failing: []string{
				"an UNCERTAIN purchase whose counter the keyed card reached is settled APPLIED",
				"TOPUP Write v2 answer lost, device fails, READ settles it APPLIED",
				"TOPUP Write v2 never reached the card, device fails, READ settles it PENDING",
			},
			passing: []string{"READ of the adult card over an authenticated session", "TOPUP 500 on the keyed adult card"},
		},
		{
			name:   "DEMOAES: a key version the key store lacks answers 911",
			issuer: "DEMOAES", file: "lib/common.lua",
			old: `{ when = "resp.auth.keyUnknown", fail = 177,`, new: `{ when = "resp.auth.keyUnknown", fail = 911,`,
			failing: []string{"keyed card at a key version the key store lacks is 177"},
			passing: []string{"keyed card that does not authenticate is 911"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issuer := tt.issuer
			if issuer == "" {
				issuer = "DEMO"
			}
			root := copyIssuers(t)
			mutate(t, filepath.Join(root, issuer, tt.file), tt.old, tt.new)
			rep := run(t, issuertest.Config{Dir: root, Issuers: []string{issuer}})
			if len(rep.Problems) > 0 {
				t.Fatalf("problems: %v", rep.Problems)
			}
			byName := map[string]issuertest.Result{}
			for _, r := range rep.Results {
				byName[r.Name] = r
			}
			for _, name := range tt.failing {
				r, ok := byName[name]
				switch {
				case !ok:
					t.Errorf("no case %q", name)
				case r.Pass:
					t.Errorf("case %q passes on the mutated flow", name)
				}
			}
			for _, name := range tt.passing {
				if r, ok := byName[name]; !ok || !r.Pass {
					t.Errorf("case %q: found %v, failures %v; want it to pass", name, ok, r.Failures)
				}
			}
			if rep.OK() {
				t.Error("the report is OK")
			}
		})
	}
}

func TestRunFilterAndProblems(t *testing.T) {
	rep := run(t, issuertest.Config{Dir: issuersDir, Run: regexp.MustCompile(`^READ$`)})
	if len(rep.Results) != 1 || rep.Results[0].Name != "READ" || !rep.Results[0].Pass || rep.Skipped == 0 {
		t.Errorf("--run ^READ$: %d results %+v, %d skipped", len(rep.Results), rep.Results, rep.Skipped)
	}

	root := copyIssuers(t)
	bad := filepath.Join(root, "DEMO", "tests", "zz-bad.yaml")
	if err := os.WriteFile(bad, []byte("name: bad\ncard: { sample: X }\nrun: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep = run(t, issuertest.Config{Dir: root, Run: regexp.MustCompile(`^READ$`)})
	if rep.OK() || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], "DEMO/tests/zz-bad.yaml:1: bad: run: at least one operation") {
		t.Errorf("problems %q, want the bad file named with its line", rep.Problems)
	}

	rep = run(t, issuertest.Config{Dir: issuersDir, Issuers: []string{"NOPE"}})
	if rep.OK() || len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0], `no issuer folder "NOPE"`) {
		t.Errorf("problems %q, want the missing issuer named", rep.Problems)
	}
	if _, err := issuertest.Run(context.Background(), issuertest.Config{Dir: t.TempDir()}, nil); err == nil {
		t.Error("an empty issuers folder ran")
	}
}

func TestCaseFailures(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"wrong status", `name: c
card: { sample: "012E4C7A11223344" }
run: [ { operation: READ, expect: { status: 911 } } ]`, "run[1] READ: status 0 (OK), want 911"},
		{"wrong balance", `name: c
card: { sample: "012E4C7A11223344" }
run: [ { operation: READ, expect: { status: 0, balance: 999 } } ]`, "run[1] READ: balance 1000, want 999"},
		{"card changed", `name: c
card: { sample: "012E4C7A11223344" }
ledger: { purchases: [ { id: P-1, amount: 500, kind: TOPUP } ] }
run: [ { operation: TOPUP, purchase: P-1, expect: { status: 0 } } ]
after: { card: { unchanged: true } }`, "after.card: balance block 0 changed"},
		{"block pattern", `name: c
card: { sample: "012E4C7A11223344" }
run: [ { operation: READ, expect: { status: 0 } } ]
after: { card: { blocks: { balance: [ "E9030000................0000...." ] } } }`, "after.card: balance block 0 is E8030000070000000000000000000000"},
		{"purchase status", `name: c
card: { sample: "012E4C7A11223344" }
ledger: { purchases: [ { id: P-1, amount: 500, kind: TOPUP } ] }
run: [ { operation: READ, expect: { status: 0 } } ]
after: { ledger: { purchases: { P-1: APPLIED } } }`, "after.ledger: purchase P-1 is PENDING, want APPLIED"},
		{"unknown sample", `name: c
card: { sample: "NOPE" }
run: [ { operation: READ, expect: { status: 0 } } ]`, `card: no card "NOPE" in cards.json`},
		{"unknown operation", `name: c
card: { sample: "012E4C7A11223344" }
run: [ { operation: WASH, expect: { status: 0 } } ]`, `run[1] WASH: no endpoint of DEMO offers operation "WASH"`},
		{"keys", `name: c
keys: DEMOAES.json
card: { sample: "012E4C7A11223344" }
run: [ { operation: READ, expect: { status: 0 } } ]`, `keyed cards`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyIssuers(t)
			tests := filepath.Join(root, "DEMO", "tests")
			if err := os.RemoveAll(tests); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(tests, "case.yaml"), tt.doc)
			rep := run(t, issuertest.Config{Dir: root, Issuers: []string{"DEMO"}})
			if len(rep.Results) != 1 {
				t.Fatalf("results %+v, problems %v", rep.Results, rep.Problems)
			}
			r := rep.Results[0]
			if r.Pass || !strings.Contains(strings.Join(r.Failures, "\n"), tt.want) {
				t.Errorf("failures %q, want one containing %q", r.Failures, tt.want)
			}
		})
	}
}

func run(t *testing.T, cfg issuertest.Config) issuertest.Report {
	t.Helper()
	cfg.TempDir = t.TempDir()
	rep, err := issuertest.Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

// copyIssuers copies the shipped issuers folder into a temporary one.
func copyIssuers(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(issuersDir)); err != nil {
		t.Fatal(err)
	}
	// Go files of the issuers package are not issuers' data.
	for _, f := range []string{"doc.go", "embed.go"} {
		_ = os.Remove(filepath.Join(root, f))
	}
	return root
}

func mutate(t *testing.T, file, old, new string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(string(data), old) != 1 {
		t.Fatalf("%s: %q is not there exactly once", file, old)
	}
	writeFile(t, file, strings.Replace(string(data), old, new, 1))
}

func writeFile(t *testing.T, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExampleIssuers runs the walk-through's second issuer
// (docs/scripting.md, docs/examples/issuers/CITY).
func TestExampleIssuers(t *testing.T) {
	rep := run(t, issuertest.Config{Dir: "../docs/examples/issuers"})
	if !rep.OK() || rep.Passed < 6 {
		t.Fatalf("%d passed, %d failed, problems %v: %+v", rep.Passed, rep.Failed, rep.Problems, rep.Results)
	}
}

// TestDEMOCardImageFile: the DEMO folder's cards.json is the reference
// card file (felica/card/demo.json) plus the productCode declaration.
func TestDEMOCardImageFile(t *testing.T) {
	own, err := card.LoadFile(filepath.Join(issuersDir, "DEMO", issuertest.DefaultImageFile))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(own.Layout, ref.Layout) || !reflect.DeepEqual(own.Cards, ref.Cards) {
		t.Error("DEMO/cards.json's layout or cards differ from felica/card/demo.json")
	}
	if own.Product == nil || *own.Product != (card.ByteRef{Service: "info", Block: 0, Byte: 1}) {
		t.Errorf("productCode %+v, want info block 0 byte 1", own.Product)
	}
}

// TestDEMOAESCardImageFile: the DEMOAES folder's cards.json is the DEMOAES
// card file (felica/card/demo-aes.json) without its key store (the "keys"
// object: keys never live in an issuer's folder) plus the productCode
// declaration.
func TestDEMOAESCardImageFile(t *testing.T) {
	file := filepath.Join(issuersDir, "DEMOAES", issuertest.DefaultImageFile)
	own, err := card.LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := card.DemoAES()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(own.Layout, ref.Layout) || !reflect.DeepEqual(own.Cards, ref.Cards) {
		t.Error("DEMOAES/cards.json's layout or cards differ from felica/card/demo-aes.json")
	}
	if own.Product == nil || *own.Product != (card.ByteRef{Service: "info", Block: 0, Byte: 1}) {
		t.Errorf("productCode %+v, want info block 0 byte 1", own.Product)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	if _, ok := top["keys"]; ok {
		t.Error(`DEMOAES/cards.json carries a key store ("keys"); keys belong in the key store, never in an issuer's folder`)
	}
}

// TestKeyDir: the keyed cards authenticate with the key store of
// Config.KeyDir (tes test --keys), read as tes serve reads it.
func TestKeyDir(t *testing.T) {
	keyed := regexp.MustCompile(`^(TOPUP 500 on the keyed adult card|READ of the adult card over an authenticated session)$`)

	// DEMOAES's key file: the keys object of felica/card/demo-aes.json.
	raw, err := os.ReadFile("../felica/card/demo-aes.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(raw, &file); err != nil || len(file.Keys) == 0 {
		t.Fatalf("no keys in demo-aes.json: %v", err)
	}
	keys := t.TempDir()
	if err := os.WriteFile(filepath.Join(keys, "DEMOAES.json"), file.Keys, 0o600); err != nil {
		t.Fatal(err)
	}
	rep := run(t, issuertest.Config{Dir: issuersDir, Issuers: []string{"DEMOAES"}, Run: keyed, KeyDir: keys})
	if !rep.OK() || rep.Passed != 2 {
		t.Errorf("with DEMOAES's key file: %d passed, %d failed, problems %v: %+v", rep.Passed, rep.Failed, rep.Problems, rep.Results)
	}

	// A key store without DEMOAES: the built-in test keys do not serve.
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "OTHER.json"), []byte(strings.Replace(string(file.Keys), `"DEMOAES"`, `"OTHER"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	rep = run(t, issuertest.Config{Dir: issuersDir, Issuers: []string{"DEMOAES"}, Run: keyed, KeyDir: other})
	if rep.Failed != 2 {
		t.Errorf("without DEMOAES's keys: %d passed, %d failed: %+v", rep.Passed, rep.Failed, rep.Results)
	}

	if _, err := issuertest.Run(context.Background(), issuertest.Config{Dir: issuersDir, KeyDir: filepath.Join(keys, "missing")}, nil); err == nil {
		t.Error("a missing key store ran")
	}
}

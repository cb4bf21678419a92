package scripts_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/scripts"
)

const brokenManifest = `id: DEMO
systemCode: "80DE"
operations:
  - name: READ
    endpoint: getCardCommands
    flow: flow.lua
    default: withoutPurchase
`

func brokenFlow(steps string) string {
	return "return {\n  start = \"a\",\n  steps = {\n" + steps + "\n  },\n}\n"
}

func TestCheckNamesFileAndLine(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		flow     string
		file     string
		line     int
		message  string
	}{
		{"lua syntax", brokenManifest, "return {\n  start = \n", "DEMO/flow.lua", 2, "syntax error at EOF"},
		{"guard does not compile", brokenManifest, brokenFlow("    a = { next = {\n      { when = \"resp.x.ok &&\", done = 0 } } },"), "DEMO/flow.lua", 5, "guard"},
		{"unknown field", brokenManifest, brokenFlow("    a = { next = {\n      { when = \"card.colour == 'red'\", done = 0 } } },"), "DEMO/flow.lua", 5, "colour"},
		{"guard not bool", brokenManifest, brokenFlow("    a = { next = {\n      { when = \"card.balance + 1\", done = 0 } } },"), "DEMO/flow.lua", 5, "bool"},
		{"unknown step", brokenManifest, brokenFlow("    a = { next = {\n      { when = \"true\", go = \"nowhere\" },\n      { done = 0 } } },"), "DEMO/flow.lua", 5, "unknown step"},
		{"missing target", brokenManifest, brokenFlow("    a = { next = {\n      { when = \"true\" } } },"), "DEMO/flow.lua", 5, "exactly one of"},
		{"unknown setting", brokenManifest, brokenFlow("    a = { next = {\n      { when = \"settings.nope > 1\", done = 0 } } },"), "DEMO/flow.lua", 5, "settings.nope"},
		{"runtime error at load", brokenManifest, "local x = nil\nreturn x.y\n", "DEMO/flow.lua", 2, "non-table"},
		{"endless loop at load", brokenManifest, "local n = 0\nwhile true do n = n + 1 end\n", "DEMO/flow.lua", 2, "deadline exceeded"},
		{"manifest unknown key", brokenManifest + "colour: red\n", brokenFlow("    a = { next = { { done = 0 } } },"), "DEMO/issuer.yaml", 8, "unknown key"},
		{"manifest bad yaml", "id: DEMO\n  systemCode: [\n", "", "DEMO/issuer.yaml", 2, ""},
		{"manifest bad endpoint", strings.Replace(brokenManifest, "getCardCommands", "getCards", 1), brokenFlow("    a = { next = { { done = 0 } } },"), "DEMO/issuer.yaml", 5, "unknown endpoint"},
		{"operation flow missing", strings.Replace(brokenManifest, "flow.lua", "gone.lua", 1), brokenFlow("    a = { next = { { done = 0 } } },"), "DEMO/issuer.yaml", 6, "no file"},
		{"fail with status 0", brokenManifest, brokenFlow("    a = { next = {\n      { fail = 0 } } },"), "DEMO/flow.lua", 5, "not a valid status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if err := writeFile(filepath.Join(root, "DEMO", "issuer.yaml"), tt.manifest); err != nil {
				t.Fatal(err)
			}
			if err := writeFile(filepath.Join(root, "DEMO", "flow.lua"), tt.flow); err != nil {
				t.Fatal(err)
			}
			ps := scripts.Check(root)
			if len(ps) == 0 {
				t.Fatal("no problem reported")
			}
			p := ps[0]
			if p.File != tt.file || p.Line != tt.line || !strings.Contains(p.Message, tt.message) {
				t.Fatalf("got %q, want %s:%d: …%s…", p.String(), tt.file, tt.line, tt.message)
			}
		})
	}
}

func TestCheckAcceptsTheShippedIssuers(t *testing.T) {
	if ps := scripts.Check(filepath.Join("..", "issuers")); len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
}

func TestFailedReloadKeepsTheServingVersion(t *testing.T) {
	root := copyDemo(t, "50ms", "", nil)
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root, Clock: clock.NewFake(now)})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := reg.Current("DEMO")
	if err := reg.ReloadIssuer(context.Background(), "DEMO"); err != nil {
		t.Fatalf("unchanged reload: %v", err)
	}
	if same, _ := reg.Current("DEMO"); same != before {
		t.Error("unchanged folder was rebuilt")
	}
	readFlow := filepath.Join(root, "DEMO", "read.lua")
	if err := os.WriteFile(readFlow, []byte("return {\n start = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = reg.ReloadIssuer(context.Background(), "DEMO")
	if !errors.Is(err, scripts.ErrLoad) {
		t.Fatalf("broken reload: %v, want ErrLoad", err)
	}
	if cur, _ := reg.Current("DEMO"); cur.Version() != before.Version() {
		t.Error("a broken reload replaced the serving version")
	}
	st := reg.Statuses()
	if len(st) != 1 || st[0].Version != before.Version() || !strings.HasPrefix(st[0].Error, "DEMO/read.lua:2: syntax error") {
		t.Fatalf("statuses %+v", st)
	}
	pinned, err := reg.Pinned(context.Background(), "DEMO", before.Version())
	if err != nil || pinned.Version() != before.Version() {
		t.Fatalf("pinned: %v", err)
	}
	if _, err := reg.Pinned(context.Background(), "DEMO", "feed"); !errors.Is(err, flow.ErrVersionGone) {
		t.Errorf("unknown version: %v, want ErrVersionGone", err)
	}
}

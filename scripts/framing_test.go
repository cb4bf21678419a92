package scripts_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/issuers"
	"github.com/tes-project/tes/scripts"
)

// An issuer whose manifest says NOLEN (iOS's sendFeliCaCommand) sends and
// reads frames without their LEN byte, and a whole top-up runs that way.
func TestIssuerWithoutLENFraming(t *testing.T) {
	root := t.TempDir()
	demo, err := fs.Sub(issuers.FS, "DEMO")
	must(t, err)
	must(t, os.CopyFS(filepath.Join(root, "DEMO"), demo))
	manifest := filepath.Join(root, "DEMO", scripts.ManifestFile)
	data, err := os.ReadFile(manifest)
	must(t, err)
	if !bytes.Contains(data, []byte("framing: LEN\n")) {
		t.Fatal("the DEMO manifest no longer says framing: LEN")
	}
	must(t, os.WriteFile(manifest, bytes.Replace(data, []byte("framing: LEN\n"), []byte("framing: NOLEN\n"), 1), 0o600))
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root})
	must(t, err)

	iss, _ := reg.Current("DEMO")
	if !iss.Settings().WithoutLEN {
		t.Fatal("the issuer's settings do not say WithoutLEN")
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

package scripts_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/sam"
	"github.com/tes-project/tes/scripts"
)

// secManifest is a test issuer on the DEMOAES card: one operation per flow.
const secManifest = `id: SEC
systemCode: "80DF"
operations:
%s`

// secIssuer writes an issuer SEC whose operations run the given flows (name
// → Lua returned table) and opens it with s.
func secIssuer(t *testing.T, s sam.SAM, flows map[string]string) *scripts.Registry {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "SEC")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var ops strings.Builder
	for name, body := range flows {
		fmt.Fprintf(&ops, "  - name: %s\n    endpoint: getCardCommands\n    flow: %s.lua\n", name, strings.ToLower(name))
		if err := os.WriteFile(filepath.Join(dir, strings.ToLower(name)+".lua"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "issuer.yaml"), []byte(fmt.Sprintf(secManifest, ops.String())), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root, SAM: s})
	if err != nil {
		t.Fatal(err)
	}
	if st := reg.Statuses(); len(st) != 1 || st[0].Error != "" {
		t.Fatalf("SEC does not load: %+v", st)
	}
	return reg
}

// roundTripFlow polls, authenticates over balance and history at key
// version 1 (the test keys' file holds the keys under the issuer DEMOAES,
// so the SAM is asked for DEMOAES through a key file copy named SEC),
// then runs the spec in request.purchaseId: "W<hex>" writes elements
// (node index, block, 16 bytes) and reads them back; "R<hex>" reads
// elements (node index, block). The read data ends up in vars.data.
const roundTripFlow = `
local NODES = { 0x1008, 0x090C }
local function elements(ctx, withData)
  local spec = bin.unhex(string.sub(ctx.request.purchaseId, 2))
  local size = withData and 18 or 2
  local out = {}
  for off = 0, #spec - size, size do
    local e = { NODES[bin.u8(spec, off) + 1], bin.u8(spec, off + 1) }
    if withData then e[3] = string.sub(spec, off + 3, off + 18) end
    out[#out + 1] = e
  end
  return out
end
return {
  start = "poll",
  steps = {
    poll = {
      run = function(ctx) felica.polling{ as = "poll", system = 0x80DF, request = 1 } end,
      next = { { when = "resp.poll.ok", go = "auth" }, { fail = 172 } },
    },
    auth = {
      run = function(ctx) sam.auth{ nodes = NODES, keyVersions = { 1, 1 } } end,
      next = { { when = "resp.auth.ok", go = "write" }, { fail = 911, message = "auth" } },
    },
    write = {
      run = function(ctx)
        if string.sub(ctx.request.purchaseId, 1, 1) == "W" then
          sam.write{ as = "w", blocks = elements(ctx, true) }
        end
      end,
      next = { { when = "resp == nil || resp.w.ok", go = "read" }, { fail = 911, message = "write" } },
    },
    read = {
      run = function(ctx)
        local blocks = elements(ctx, string.sub(ctx.request.purchaseId, 1, 1) == "W")
        for _, b in ipairs(blocks) do b[3] = nil end
        sam.read{ as = "r", blocks = blocks }
      end,
      after = function(ctx)
        local parts = {}
        for i, b in ipairs(ctx.resp.r.blocks) do parts[i] = bin.hex(b) end
        ctx.vars.data = table.concat(parts, " ")
      end,
      next = { { when = "resp.r.ok", done = 0 }, { fail = 911, message = "read" } },
    },
  },
}`

// secSAM is a software SAM whose key store holds the DEMOAES test keys
// under the issuer SEC.
func secSAM(t *testing.T) *sam.Software {
	t.Helper()
	raw, err := os.ReadFile("../sam/testkeys/DEMOAES.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text := strings.Replace(string(raw), `"DEMOAES"`, `"SEC"`, 1)
	if err := os.WriteFile(filepath.Join(dir, "SEC.json"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sam.NewSoftware(sam.Config{KeyDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// runSEC runs one operation of SEC on c and returns its status, message and
// last vars.
func runSEC(t *testing.T, reg flow.Registry, c *card.Card, op, spec string) (flow.Result, map[string]any) {
	t.Helper()
	ctx := context.Background()
	iss, _ := reg.Current("SEC")
	in := flow.Input{Endpoint: flow.EndpointCard, Operation: op, Ledger: newLedger(), Now: now,
		Request: flow.Request{IssuerID: "SEC", CardID: "c", DeviceID: "d", PurchaseID: spec}}
	for range 10 {
		res, err := iss.Step(ctx, in)
		if err != nil {
			return flow.Result{Status: -1, Message: err.Error()}, nil
		}
		if len(res.Commands) == 0 {
			var vars map[string]any
			_ = jsonUnmarshal(res.Vars, &vars)
			return res, vars
		}
		answers := make([][]byte, len(res.Commands))
		for i, cmd := range res.Commands {
			answers[i], _ = c.Transceive(ctx, cmd)
		}
		in.State, in.Responses = res.State, answers
	}
	t.Fatal("no end in 10 steps")
	return flow.Result{}, nil
}

// TestSecureRoundTrip: any block list read through an authenticated session
// gives the card's blocks in order, and any block list written (balance and
// the newest history record, in either order, of any data) is what the card
// then holds and what a Read v2 gives back.
func TestSecureRoundTrip(t *testing.T) {
	reg := secIssuer(t, secSAM(t), map[string]string{"RT": roundTripFlow})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		c := aesCard(t, aesAdult, nil)
		var spec []byte
		var want []string
		write := i%2 == 1
		if write {
			order := [][2]byte{{0, 0}, {1, 0}}
			if rng.IntN(2) == 0 {
				order[0], order[1] = order[1], order[0]
			}
			order = order[:1+rng.IntN(2)]
			for _, e := range order {
				data := make([]byte, 16)
				for j := range data {
					data[j] = byte(rng.IntN(256))
				}
				spec = append(append(spec, e[0], e[1]), data...)
				want = append(want, fmt.Sprintf("%X", data))
			}
		} else {
			n := 1 + rng.IntN(15)
			for range n {
				idx := byte(rng.IntN(2))
				blk := byte(0)
				svc := "balance"
				if idx == 1 {
					blk, svc = byte(rng.IntN(8)), "history"
				}
				spec = append(spec, idx, blk)
				want = append(want, blockOf(t, c, svc, int(blk)))
			}
		}
		kind := map[bool]string{true: "W", false: "R"}[write]
		res, vars := runSEC(t, reg, c, "RT", kind+strings.ToUpper(hex.EncodeToString(spec)))
		if res.Status != 0 {
			t.Fatalf("case %d (%s %X): status %d %s", i, kind, spec, res.Status, res.Message)
		}
		if got := vars["data"]; got != strings.Join(want, " ") {
			t.Fatalf("case %d (%s %X): read %v, want %s", i, kind, spec, got, strings.Join(want, " "))
		}
		if write {
			for j := 0; j < len(spec); j += 18 {
				svc := map[byte]string{0: "balance", 1: "history"}[spec[j]]
				if got := blockOf(t, c, svc, 0); got != fmt.Sprintf("%X", spec[j+2:j+18]) {
					t.Fatalf("case %d: card's %s block 0 is %s, want %X", i, svc, got, spec[j+2:j+18])
				}
			}
		}
	}
}

// TestSecureMisuse: a flow that misuses the sam module fails with a run-time
// error that names the mistake; nothing is sent.
func TestSecureMisuse(t *testing.T) {
	poll := `felica.polling{ as = "poll", system = 0x80DF, request = 1 }`
	flowOf := func(run string) string {
		return `return { start = "poll", steps = {
  poll = { run = function(ctx) ` + poll + ` end, next = { { go = "x" } } },
  x = { run = function(ctx) ` + run + ` end, next = { { fail = 911 } } } } }`
	}
	cases := map[string]struct{ run, want string }{
		"READBEFOREAUTH":  {`sam.read{ blocks = { { 0x1008, 0 } } }`, "not authenticated"},
		"WRITEBEFOREAUTH": {`sam.write{ blocks = { { 0x1008, 0, bin.block("") } } }`, "not authenticated"},
		"AUTHNOTALONE":    {`felica.read{ blocks = { { 0x008B, 0 } } }; sam.auth{ nodes = { 0x1008 }, keyVersions = { 1 } }`, "batch of its own"},
		"AFTERAUTH":       {`sam.auth{ nodes = { 0x1008 }, keyVersions = { 1 } }; felica.read{ blocks = { { 0x008B, 0 } } }`, "batch of its own"},
		"VERSIONS":        {`sam.auth{ nodes = { 0x1008, 0x090C }, keyVersions = { 1 } }`, "one key version per node"},
		"NOVERSIONS":      {`sam.auth{ nodes = { 0x1008 } }`, "request_service_v2 first"},
		"NONODES":         {`sam.auth{ nodes = {}, keyVersions = {} }`, "1..16 node codes"},
		// Through a local: tes check refuses sam.reed written out (lint.go).
		"MISSPELT": {`local m = sam; m.reed{}`, "unknown field sam.reed"},
	}
	flows := map[string]string{}
	for name, c := range cases {
		flows[name] = flowOf(c.run)
	}
	reg := secIssuer(t, secSAM(t), flows)
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			res, _ := runSEC(t, reg, aesCard(t, aesAdult, nil), name, "")
			if res.Status != -1 || !strings.Contains(res.Message, c.want) {
				t.Errorf("status %d %q, want a run-time error with %q", res.Status, res.Message, c.want)
			}
		})
	}
}

// TestSecureServiceOutsideNodeList: sam.read of a service the session did
// not authenticate is a run-time error naming the node list.
func TestSecureServiceOutsideNodeList(t *testing.T) {
	body := `return { start = "poll", steps = {
  poll = { run = function(ctx) felica.polling{ as = "poll", system = 0x80DF, request = 1 } end, next = { { go = "auth" } } },
  auth = { run = function(ctx) sam.auth{ nodes = { 0x1008 }, keyVersions = { 1 } } end, next = { { when = "resp.auth.ok", go = "read" }, { fail = 911 } } },
  read = { run = function(ctx) sam.read{ blocks = { { 0x090C, 0 } } } end, next = { { fail = 911 } } } } }`
	reg := secIssuer(t, secSAM(t), map[string]string{"OUT": body})
	res, _ := runSEC(t, reg, aesCard(t, aesAdult, nil), "OUT", "")
	if res.Status != -1 || !strings.Contains(res.Message, "not in the authenticated node list [1008]") {
		t.Errorf("status %d %q", res.Status, res.Message)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

package e2e_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/secure"
	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// secret is key material that must never leave the SAM in the clear.
type secret struct {
	name string
	key  []byte
}

// testKeySecrets are every key of the DEMOAES key file and of the sample
// cards (cards/demo-aes.json): node keys, individualisation codes (those
// the key store lacks included), and the group key of [1008, 090C].
func testKeySecrets(t *testing.T) ([]secret, map[string]secure.AESKey, secure.AESKey) {
	t.Helper()
	raw, err := os.ReadFile("../felica/card/demo-aes.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services []struct {
			AESKeys map[string]string `json:"aesKeys"`
		} `json:"services"`
		Keys struct {
			NodeKeys []struct {
				Node, AES string
			} `json:"nodeKeys"`
			IndividualKeys struct {
				Default string            `json:"default"`
				Cards   map[string]string `json:"cards"`
			} `json:"individualKeys"`
		} `json:"keys"`
		Cards []struct {
			IDm           string `json:"idm"`
			IndividualKey string `json:"individualKey"`
			KeyOverrides  map[string]struct {
				AESKeys map[string]string `json:"aesKeys"`
			} `json:"keyOverrides"`
		} `json:"cards"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	var out []secret
	add := func(name, text string) {
		k, err := hex.DecodeString(text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(k, make([]byte, len(k))) { // the all-zero default is everywhere
			out = append(out, secret{name, k})
		}
	}
	nodes := map[string]secure.AESKey{}
	for _, nk := range f.Keys.NodeKeys {
		add("node key "+nk.Node, nk.AES)
		k, err := secure.ParseAESKey(nk.AES)
		if err != nil {
			t.Fatal(err)
		}
		nodes[nk.Node] = k
	}
	for idm, k := range f.Keys.IndividualKeys.Cards {
		add("individualisation code of "+idm, k)
	}
	for _, c := range f.Cards {
		add("card individualisation code of "+c.IDm, c.IndividualKey)
		for name, o := range c.KeyOverrides {
			for kind, k := range o.AESKeys {
				add("override "+name+" "+kind+" of "+c.IDm, k)
			}
		}
	}
	for _, s := range f.Services {
		for kind, k := range s.AESKeys {
			add("service key "+kind, k)
		}
	}
	group := secure.AESGroupKey([]secure.AESKey{nodes["1008"], nodes["090C"]})
	out = append(out, secret{"group key [1008 090C]", group[:]})
	inds := map[string]secure.AESKey{}
	for idm, text := range f.Keys.IndividualKeys.Cards {
		k, _ := secure.ParseAESKey(text)
		inds[idm] = k
	}
	return out, inds, group
}

// sessionSecrets derives, from one session's trace, the keys of its mutual
// authentication (α, β, β') and the session keys (Kenc, Kmac), as anyone
// holding the keys could: from Challenge 1A and the card's answer.
func sessionSecrets(t *testing.T, trace []byte, group secure.AESKey, inds map[string]secure.AESKey) []secret {
	t.Helper()
	var view struct {
		Trace []struct {
			Commands  []struct{ Hex string } `json:"commands"`
			Responses []struct{ Hex string } `json:"responses"`
		} `json:"trace"`
	}
	if err := json.Unmarshal(trace, &view); err != nil {
		t.Fatal(err)
	}
	var out []secret
	for i, call := range view.Trace {
		for _, cmd := range call.Commands {
			frame, _ := hex.DecodeString(cmd.Hex)
			c1, err := felica.ParseAuth1V2Command(frame, felica.WithLEN)
			if err != nil || i+1 >= len(view.Trace) || len(view.Trace[i+1].Responses) == 0 {
				continue
			}
			answer, _ := hex.DecodeString(view.Trace[i+1].Responses[0].Hex)
			rsp, err := felica.ParseAuth1V2Response(answer, felica.WithLEN, c1.IDm)
			if err != nil {
				continue
			}
			auth := secure.NewAESAuth(group, inds[c1.IDm.String()], c1.IDm)
			out = append(out, secret{"α of " + c1.IDm.String(), auth.Alpha[:]}, secret{"β of " + c1.IDm.String(), auth.Beta[:]})
			bp := auth.BetaPrime(rsp.Challenge3C)
			out = append(out, secret{"β' of a session", bp[:]})
			r1, _, _ := auth.AnswerAuth1(c1.Challenge1A, [16]byte{}, rsp.Challenge3C)
			out = append(out, secret{"R1 of a session", r1[:]})
			if _, sess, err := auth.CheckAuth1(r1, rsp); err == nil {
				out = append(out, secret{"Kenc of a session", sess.Kenc[:]}, secret{"Kmac of a session", sess.Kmac[:]})
			}
		}
	}
	return out
}

// TestDEMOAESSecrecy runs DEMOAES operations (a top-up whose Write v2
// answer is lost, a read, a refund, a card that does not authenticate, a
// key version the store lacks) on the tes binary at debug level, then looks
// for every key it can compute (the key file's keys, the group key, each
// card's α and β, each recorded session's β', R1, Kenc and Kmac, and the
// seal key) in the log, the raw bytes of the store file, the admin API's
// replies and /metrics: in upper- and lower-case hex and as raw bytes.
func TestDEMOAESSecrecy(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tes binary")
	}
	bin := buildTes(t, t.TempDir())
	free := freeAddrs(t, 2)
	addrs := tesAddrs{gateway: free[0], admin: free[1], data: t.TempDir()}
	proc := startTes(t, bin, addrs, "--log-level", "debug")
	s := &stack{}
	s.connect(t, "http://"+addrs.gateway, "http://"+addrs.admin)

	run := func(op tsh.Operation, idm string, kind store.PurchaseKind, amount int64, want int, faults ...tsh.Fault) {
		t.Helper()
		s.aesSeed(t, tsh.CardSeed{ProductCode: 1}, kind, amount)
		crd := aesCard(t, idm)
		if out := s.run(t, op, crd, faults...); out.StatusCode != want {
			t.Fatalf("%s on %s: %s, want %d", op.Operation, idm, describe(out), want)
		}
	}
	run(aesTopUp, aesAdultIDm, store.PurchaseTopUp, 500, 0, tsh.Fault{Kind: tsh.LoseAnswerAfterWrite})
	run(aesRead, aesAdultIDm, "", 0, 0)
	aesRefundP2 := aesRefund
	aesRefundP2.PurchaseID = "P-2"
	if _, err := s.admin.PutPurchase(t.Context(), tsh.PurchaseSeed{IssuerID: aesIssuer, PurchaseID: "P-2", CardID: cardID, Amount: 200, Kind: store.PurchaseRefund}); err != nil {
		t.Fatal(err)
	}
	run(aesRefundP2, aesAdultIDm, "", 0, 0)
	run(aesRead, aesWrongKind, "", 0, 911)
	run(aesRead, aesVersion2, "", 0, 177)
	run(aesRead, "012E4C7A11224406", "", 0, 0)

	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get("http://" + addrs.admin + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: HTTP %d %s %v", path, resp.StatusCode, body, err)
		}
		return body
	}
	corpora := map[string][]byte{}
	list := get(server.AdminBasePath + "/sessions?issuerId=" + aesIssuer + "&limit=100")
	corpora["GET /admin/v1/sessions"] = list
	var summaries []struct {
		SessionID string `json:"sessionId"`
	}
	if err := json.Unmarshal(list, &summaries); err != nil {
		var page struct {
			Sessions []struct {
				SessionID string `json:"sessionId"`
			} `json:"sessions"`
		}
		if err := json.Unmarshal(list, &page); err != nil {
			t.Fatalf("sessions listing %s: %v", list, err)
		}
		for _, p := range page.Sessions {
			summaries = append(summaries, struct {
				SessionID string `json:"sessionId"`
			}{p.SessionID})
		}
	}
	if len(summaries) < 6 {
		t.Fatalf("%d sessions listed, want 6", len(summaries))
	}
	secrets, inds, group := testKeySecrets(t)
	for _, sum := range summaries {
		trace := get(server.AdminBasePath + "/sessions/" + sum.SessionID)
		corpora["trace "+sum.SessionID] = trace
		secrets = append(secrets, sessionSecrets(t, trace, group, inds)...)
	}
	corpora["GET /admin/v1/issuers"] = get(server.AdminBasePath + "/issuers")
	corpora["GET purchase"] = get(server.AdminBasePath + "/issuers/" + aesIssuer + "/purchases/" + purchaseID)
	corpora["GET card"] = get(server.AdminBasePath + "/issuers/" + aesIssuer + "/cards/" + cardID)
	corpora["GET /metrics"] = get("/metrics")

	sessionKeys := 0
	for _, sec := range secrets {
		if strings.HasPrefix(sec.name, "Kenc") {
			sessionKeys++
		}
	}
	if sessionKeys < 4 {
		t.Fatalf("derived the session keys of %d sessions from the traces, want the 4 that authenticated", sessionKeys)
	}

	proc.kill(t)
	corpora["log (debug)"] = proc.stderr.Bytes()
	db, err := os.ReadFile(filepath.Join(addrs.data, node.StoreFile))
	if err != nil {
		t.Fatal(err)
	}
	corpora["store file "+node.StoreFile] = db
	sealText, err := os.ReadFile(filepath.Join(addrs.data, node.SealKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	seal, err := hex.DecodeString(strings.TrimSpace(string(sealText)))
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, secret{"seal key", seal})
	if !bytes.Contains(corpora["log (debug)"], []byte(`"level":"DEBUG"`)) {
		t.Fatalf("the log has no debug line:\n%s", corpora["log (debug)"])
	}

	// The places hold what they should: the traces the decoded secure
	// frames and the SAM's notes (so a leak there would be seen).
	all := bytes.Join(func() [][]byte {
		var out [][]byte
		for _, c := range corpora {
			out = append(out, c)
		}
		return out
	}(), nil)
	for _, want := range []string{"Authentication1 v2", "Write v2 transaction=", "answer authentic: status 00 00 ok data=["} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("no %q anywhere: the places looked at are not what they should be", want)
		}
	}
	for _, sec := range secrets {
		forms := [][]byte{sec.key, []byte(strings.ToUpper(hex.EncodeToString(sec.key))), []byte(hex.EncodeToString(sec.key))}
		for where, text := range corpora {
			for _, form := range forms {
				if bytes.Contains(text, form) {
					t.Errorf("%s appears in %s", sec.name, where)
					break
				}
			}
		}
	}
	t.Logf("looked for %d keys in %d places", len(secrets), len(corpora))
}

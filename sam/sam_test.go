package sam_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/sam"
)

var ctx = context.Background()

// vecKeyFile is the key file of the FELICA-SECURE.md AES exchange: nodes 1000 and
// 1008 at key version 0001, individualisation code zero.
const vecKeyFile = `{"issuerId": "VEC", "nodeKeys": [
 {"node": "1000", "version": "0001", "aes": "000102030405060708090A0B0C0D0E0F"},
 {"node": "1008", "version": "0001", "aes": "101112131415161718191A1B1C1D1E1F"}],
 "individualKeys": {"default": "00000000000000000000000000000000", "cards": {}}}`

func keyDir(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	var b []byte
	if _, err := fmt.Sscanf(strings.ReplaceAll(s, " ", ""), "%X", &b); err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// vectors reads the AES part of felica-secure-vectors.txt.
func vectors(t testing.TB) map[string][]byte {
	t.Helper()
	raw, err := os.ReadFile("../felica/secure/testdata/felica-secure-vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte)
	aes := false
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "==") {
			aes = strings.Contains(line, "AES")
			continue
		}
		if f := strings.Fields(line); aes && len(f) == 2 && !strings.HasPrefix(line, "#") {
			out[f[0]] = unhex(t, f[1])
		}
	}
	return out
}

func newSAM(t testing.TB, cfg sam.Config) *sam.Software {
	t.Helper()
	s, err := sam.NewSoftware(cfg)
	if err != nil {
		t.Fatalf("NewSoftware: %v", err)
	}
	return s
}

// TestExchangeVectors drives the software SAM through the whole AES exchange of
// FELICA-SECURE.md, with and without LEN: every frame it makes is the vector's,
// every answer of the vector opens.
func TestExchangeVectors(t *testing.T) {
	v := vectors(t)
	for _, f := range []felica.Framing{felica.WithLEN, felica.WithoutLEN} {
		t.Run(f.String(), func(t *testing.T) {
			frame := func(name string) []byte {
				if f == felica.WithoutLEN {
					return v[name][1:]
				}
				return v[name]
			}
			check := func(name string, got []byte) {
				t.Helper()
				if !bytes.Equal(got, frame(name)) {
					t.Fatalf("%s = %X\nwant %X", name, got, frame(name))
				}
			}
			s := newSAM(t, sam.Config{KeyDir: keyDir(t, map[string]string{"VEC.json": vecKeyFile}), Challenges: bytes.NewReader(unhex(t, "00112233445566778899AABBCCDDEEFF"))})
			step, err := s.BeginAuth(ctx, sam.AuthRequest{Issuer: "VEC", IDm: felica.IDm{1, 2, 3, 4, 5, 6, 7, 8},
				Nodes: []felica.NodeCode{0x1000, 0x1008}, KeyVersions: []uint16{1, 1}, Framing: f})
			if err != nil {
				t.Fatal(err)
			}
			check("auth1_cmd", step.Frame)
			if step, err = s.ContinueAuth(ctx, step.State, frame("auth1_rsp")); err != nil {
				t.Fatal(err)
			}
			check("auth2_cmd", step.Frame)
			done, err := s.FinishAuth(ctx, step.State, frame("auth2_rsp"))
			if err != nil {
				t.Fatal(err)
			}
			if done.IDi != (felica.IDm{0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80}) || done.PMi != (felica.PMm{0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7}) {
				t.Errorf("IDi %s PMi %s", done.IDi, done.PMi)
			}
			state := done.State
			steps := []struct {
				cmd, rsp string
				seal     func([]byte) (sam.Step, error)
				data     string
			}{
				{"read_cmd", "read_rsp", func(st []byte) (sam.Step, error) {
					return s.SealRead(ctx, st, []felica.BlockElement{{Service: 1}, {Service: 1, Block: 1}})
				}, "E8030000000000000000000000000000" + strings.Repeat("00", 16)},
				{"write_cmd", "write_rsp", func(st []byte) (sam.Step, error) {
					return s.SealWrite(ctx, st, []felica.BlockElement{{Service: 1, Block: 1}}, unhex(t, "0102030405060708090A0B0C0D0E0F10"))
				}, ""},
				{"read2_cmd", "read2_rsp", func(st []byte) (sam.Step, error) {
					return s.SealRead(ctx, st, []felica.BlockElement{{Service: 1, Block: 1}})
				}, "0102030405060708090A0B0C0D0E0F10"},
			}
			for _, tc := range steps {
				step, err := tc.seal(state)
				if err != nil {
					t.Fatalf("%s: %v", tc.cmd, err)
				}
				check(tc.cmd, step.Frame)
				opened, err := s.Open(ctx, step.State, frame(tc.rsp))
				if err != nil {
					t.Fatalf("%s: %v", tc.rsp, err)
				}
				if !opened.Status.OK() || fmt.Sprintf("%X", opened.Data) != tc.data {
					t.Errorf("%s: %s %X", tc.rsp, opened.Status, opened.Data)
				}
				// The answer opens only once.
				if _, err := s.Open(ctx, opened.State, frame(tc.rsp)); !errors.Is(err, sam.ErrNotAuthentic) {
					t.Errorf("%s opened twice: %v", tc.rsp, err)
				}
				state = opened.State
			}
		})
	}
}

// cardSession talks to a DEMOAES virtual card through the SAM with the built-in
// test keys.
type cardSession struct {
	t     *testing.T
	s     *sam.Software
	c     *card.Card
	state []byte
}

func (cs *cardSession) send(frame []byte) []byte {
	cs.t.Helper()
	resp, err := cs.c.Transceive(ctx, frame)
	if err != nil {
		cs.t.Fatalf("card: %v", err)
	}
	return resp
}

func demoAESCard(t *testing.T, idm string) *card.Card {
	t.Helper()
	cat, err := card.DemoAES()
	if err != nil {
		t.Fatal(err)
	}
	img, ok := cat.Image(idm)
	if !ok {
		t.Fatalf("no card %s", idm)
	}
	c, err := card.New(cat.Layout, img, card.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authenticate runs the flow's authentication: Request Service v2 for the key
// versions, then the three SAM calls. It returns the first SAM error.
func authenticate(t *testing.T, s *sam.Software, c *card.Card) (*cardSession, error) {
	t.Helper()
	cs := &cardSession{t: t, s: s, c: c}
	nodes := []felica.NodeCode{0x1008, 0x090C}
	rsFrame, _ := felica.RequestServiceV2Command{IDm: c.IDm(), Nodes: nodes}.Append(nil, felica.WithLEN)
	rs, err := felica.ParseRequestServiceV2Response(cs.send(rsFrame), felica.WithLEN, c.IDm())
	if err != nil {
		t.Fatal(err)
	}
	step, err := s.BeginAuth(ctx, sam.AuthRequest{Issuer: "DEMOAES", IDm: c.IDm(), Nodes: nodes, KeyVersions: rs.AESKeyVersions})
	if err != nil {
		return nil, err
	}
	if step, err = s.ContinueAuth(ctx, step.State, cs.send(step.Frame)); err != nil {
		return nil, err
	}
	done, err := s.FinishAuth(ctx, step.State, cs.send(step.Frame))
	if err != nil {
		return nil, err
	}
	cs.state = done.State
	return cs, nil
}

// TestDemoAESCards: the sample cards of demo-aes.json against the built-in test
// keys: 01 and 06 authenticate, 04 (individualisation code not in the store) does
// not (911), 05 (key version 0002) has no key (177).
func TestDemoAESCards(t *testing.T) {
	s := newSAM(t, sam.Config{TestKeys: true})
	tests := []struct {
		idm  string
		want error
	}{
		{"012E4C7A11224401", nil},
		{"012E4C7A11224402", nil},
		{"012E4C7A11224404", sam.ErrNotAuthentic},
		{"012E4C7A11224405", sam.ErrUnknownKeyVersion},
		{"012E4C7A11224406", nil},
	}
	for _, tc := range tests {
		_, err := authenticate(t, s, demoAESCard(t, tc.idm))
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", tc.idm, err, tc.want)
		}
	}
}

// TestBatch: a money write and a settle read sealed in one batch, sent together,
// answered together, opened in order.
func TestBatch(t *testing.T) {
	s := newSAM(t, sam.Config{TestKeys: true})
	c := demoAESCard(t, "012E4C7A11224401")
	cs, err := authenticate(t, s, c)
	if err != nil {
		t.Fatal(err)
	}
	balance, history := bytes.Repeat([]byte{0x11}, 16), bytes.Repeat([]byte{0x22}, 16)
	w, err := s.SealWrite(ctx, cs.state, []felica.BlockElement{{Service: 0}, {Service: 1}}, append(balance, history...))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.SealRead(ctx, w.State, []felica.BlockElement{{Service: 0}, {Service: 1}})
	if err != nil {
		t.Fatal(err)
	}
	wAnswer, rAnswer := cs.send(w.Frame), cs.send(r.Frame)
	ow, err := s.Open(ctx, r.State, wAnswer)
	if err != nil || !ow.Status.OK() || ow.Code != felica.CodeWriteV2Response {
		t.Fatalf("open write answer: %+v %v", ow.Status, err)
	}
	or, err := s.Open(ctx, ow.State, rAnswer)
	if err != nil || !or.Status.OK() || !bytes.Equal(or.Data, append(balance, history...)) {
		t.Fatalf("open read answer: %s %X %v", or.Status, or.Data, err)
	}
	// A lost answer is skipped: seal two reads, open only the second.
	r1, _ := s.SealRead(ctx, or.State, []felica.BlockElement{{}})
	r2, err := s.SealRead(ctx, r1.State, []felica.BlockElement{{Service: 1, Block: 7}})
	if err != nil {
		t.Fatal(err)
	}
	cs.send(r1.Frame)
	if _, err := s.Open(ctx, r2.State, cs.send(r2.Frame)); err != nil {
		t.Fatalf("second answer after a lost one: %v", err)
	}
	// A block-level refusal is a status, not an error.
	bad, _ := s.SealRead(ctx, r2.State, []felica.BlockElement{{Service: 1, Block: 8}})
	o, err := s.Open(ctx, bad.State, cs.send(bad.Frame))
	if err != nil || o.Status != (felica.Status{SF1: 1, SF2: felica.SF2BlockNumber}) {
		t.Errorf("read past the history: %s %v", o.Status, err)
	}
}

// TestErrors: each sentinel where it belongs.
func TestErrors(t *testing.T) {
	s := newSAM(t, sam.Config{TestKeys: true})
	c := demoAESCard(t, "012E4C7A11224401")
	cs, err := authenticate(t, s, c)
	if err != nil {
		t.Fatal(err)
	}
	other := newSAM(t, sam.Config{TestKeys: true})
	read, err := s.SealRead(ctx, cs.state, []felica.BlockElement{{}})
	if err != nil {
		t.Fatal(err)
	}
	answer := cs.send(read.Frame)
	flipped := bytes.Clone(answer)
	flipped[6] ^= 1
	tampered := bytes.Clone(read.State)
	tampered[len(tampered)-1] ^= 1
	idm := c.IDm()
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"unknown issuer", first(s.BeginAuth(ctx, sam.AuthRequest{Issuer: "NOPE", IDm: idm, Nodes: []felica.NodeCode{0x1008}, KeyVersions: []uint16{1}})), sam.ErrUnknownIssuer},
		{"unknown node", first(s.BeginAuth(ctx, sam.AuthRequest{Issuer: "DEMOAES", IDm: idm, Nodes: []felica.NodeCode{0x1048}, KeyVersions: []uint16{1}})), sam.ErrUnknownKeyVersion},
		{"key version FFFF", first(s.BeginAuth(ctx, sam.AuthRequest{Issuer: "DEMOAES", IDm: idm, Nodes: []felica.NodeCode{0x1008}, KeyVersions: []uint16{0xFFFF}})), sam.ErrUnknownKeyVersion},
		{"versions not one per node", first(s.BeginAuth(ctx, sam.AuthRequest{Issuer: "DEMOAES", IDm: idm, Nodes: []felica.NodeCode{0x1008}})), sam.ErrBadRequest},
		{"17 nodes", first(s.BeginAuth(ctx, sam.AuthRequest{Issuer: "DEMOAES", IDm: idm, Nodes: make([]felica.NodeCode, 17), KeyVersions: make([]uint16, 17)})), sam.ErrBadRequest},
		{"block names node 2 of 2", first(s.SealRead(ctx, cs.state, []felica.BlockElement{{Service: 2}})), sam.ErrBadRequest},
		{"no blocks", first(s.SealWrite(ctx, cs.state, nil, nil)), sam.ErrBadRequest},
		{"flipped answer", second(s.Open(ctx, read.State, flipped)), sam.ErrNotAuthentic},
		{"answer to no command", second(s.Open(ctx, cs.state, answer)), sam.ErrNotAuthentic},
		{"not a secure answer", second(s.Open(ctx, read.State, read.Frame)), sam.ErrMalformedAnswer},
		{"tampered state", second(s.Open(ctx, tampered, answer)), sam.ErrBadState},
		{"another SAM's state", second(other.Open(ctx, read.State, answer)), sam.ErrBadState},
		{"empty state", second(s.Open(ctx, nil, answer)), sam.ErrBadState},
		{"session state to ContinueAuth", first(s.ContinueAuth(ctx, cs.state, answer)), sam.ErrBadState},
		{"session state to FinishAuth", third(s.FinishAuth(ctx, cs.state, answer)), sam.ErrBadState},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	if o, err := s.Open(ctx, read.State, answer); err != nil || !o.Status.OK() {
		t.Errorf("the good answer after all that: %v", err)
	}
}

func first(_ sam.Step, err error) error          { return err }
func second(_ sam.Opened, err error) error       { return err }
func third(_ sam.Authenticated, err error) error { return err }

// TestSealKeyCarriesStates: two SAMs with the same seal key (a restart) share
// states; the key file must be private.
func TestSealKeyCarriesStates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "seal.key")
	if err := os.WriteFile(path, []byte(strings.Repeat("ab", 32)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sam.LoadSealKeyFile(path); !errors.Is(err, sam.ErrKeyStore) {
		t.Fatalf("a world-readable seal key: %v", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := sam.LoadSealKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s1 := newSAM(t, sam.Config{TestKeys: true, SealKey: key})
	s2 := newSAM(t, sam.Config{TestKeys: true, SealKey: key})
	c := demoAESCard(t, "012E4C7A11224401")
	cs, err := authenticate(t, s1, c)
	if err != nil {
		t.Fatal(err)
	}
	read, err := s2.SealRead(ctx, cs.state, []felica.BlockElement{{}})
	if err != nil {
		t.Fatalf("a state of s1 in s2: %v", err)
	}
	if _, err := s1.Open(ctx, read.State, cs.send(read.Frame)); err != nil {
		t.Fatal(err)
	}
}

// TestKeyStore: the key directory's rules and Reload.
func TestKeyStore(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		mode  os.FileMode
		want  error
	}{
		{"good", map[string]string{"VEC.json": vecKeyFile}, 0o600, nil},
		{"readable by the group", map[string]string{"VEC.json": vecKeyFile}, 0o640, sam.ErrKeyStore},
		{"readable by others", map[string]string{"VEC.json": vecKeyFile}, 0o604, sam.ErrKeyStore},
		{"named after another issuer", map[string]string{"OTHER.json": vecKeyFile}, 0o600, sam.ErrKeyStore},
		{"bad key", map[string]string{"VEC.json": strings.Replace(vecKeyFile, "000102", "0001", 1)}, 0o600, sam.ErrKeyStore},
		{"unknown field", map[string]string{"VEC.json": strings.Replace(vecKeyFile, `"issuerId"`, `"x": 1, "issuerId"`, 1)}, 0o600, sam.ErrKeyStore},
		{"version FFFF", map[string]string{"VEC.json": strings.Replace(vecKeyFile, `"version": "0001"`, `"version": "FFFF"`, 1)}, 0o600, sam.ErrKeyStore},
		{"other files ignored", map[string]string{"VEC.json": vecKeyFile, "README": "x"}, 0o600, nil},
	}
	for _, tc := range tests {
		dir := keyDir(t, tc.files)
		for name := range tc.files {
			if err := os.Chmod(filepath.Join(dir, name), tc.mode); err != nil {
				t.Fatal(err)
			}
		}
		ks, err := sam.LoadKeyDir(dir)
		if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "0A0B0C") {
			t.Errorf("%s: the error shows key material: %v", tc.name, err)
		}
		if err == nil && fmt.Sprint(ks.Issuers()) != "[VEC]" {
			t.Errorf("%s: issuers %v", tc.name, ks.Issuers())
		}
	}
}

// TestReload: a reload swaps the keys whole; a failed one keeps the old keys.
func TestReload(t *testing.T) {
	dir := keyDir(t, map[string]string{"VEC.json": vecKeyFile})
	s := newSAM(t, sam.Config{KeyDir: dir, TestKeys: true})
	if got := fmt.Sprint(s.Issuers()); got != "[DEMOAES VEC]" {
		t.Fatalf("issuers %s", got)
	}
	req := sam.AuthRequest{Issuer: "VEC", Nodes: []felica.NodeCode{0x1008}, KeyVersions: []uint16{2}}
	if _, err := s.BeginAuth(ctx, req); !errors.Is(err, sam.ErrUnknownKeyVersion) {
		t.Fatalf("version 2 before reload: %v", err)
	}
	v2 := strings.Replace(vecKeyFile, `"version": "0001", "aes": "1011`, `"version": "0002", "aes": "1011`, 1)
	if err := os.WriteFile(filepath.Join(dir, "VEC.json"), []byte(v2), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BeginAuth(ctx, req); err != nil {
		t.Fatalf("version 2 after reload: %v", err)
	}
	if err := os.Chmod(filepath.Join(dir, "VEC.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); !errors.Is(err, sam.ErrKeyStore) {
		t.Fatalf("reload of a world-readable file: %v", err)
	}
	if _, err := s.BeginAuth(ctx, req); err != nil {
		t.Fatalf("the old keys after a failed reload: %v", err)
	}
}

// TestTestKeysAreDemoAES: the built-in test keys are the "keys" of demo-aes.json.
func TestTestKeysAreDemoAES(t *testing.T) {
	raw, err := os.ReadFile("../felica/card/demo-aes.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Keys json.RawMessage }
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	embedded, err := os.ReadFile("testkeys/DEMOAES.json")
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if json.Unmarshal(f.Keys, &a) != nil || json.Unmarshal(embedded, &b) != nil || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("sam/testkeys/DEMOAES.json differs from the keys of demo-aes.json")
	}
}

// TestNothingPrintsKeys: the SAM, its key store and its errors never show a key.
func TestNothingPrintsKeys(t *testing.T) {
	s := newSAM(t, sam.Config{TestKeys: true})
	ks, err := sam.TestKeys()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{s, ks} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%x"} {
			out := fmt.Sprintf(verb, v)
			if strings.Contains(strings.ToUpper(out), "1930555E") || strings.Contains(out, "25 48 85") {
				t.Errorf("%T %s shows a key: %s", v, verb, out)
			}
		}
	}
}

package card_test

import (
	"bytes"
	"errors"
	"math/rand"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/quick"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/felica/secure"
	"github.com/tes-project/tes/internal/sharedref"
)

const sharedDemoAES = "../../../shared/cards/demo-aes.json"

func TestDemoAESEqualsSharedFile(t *testing.T) {
	sharedref.Need(t, sharedDemoAES)
	raw, err := os.ReadFile(sharedDemoAES)
	if err != nil {
		t.Fatal(err)
	}
	copyRaw, err := os.ReadFile("demo-aes.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, copyRaw) {
		t.Errorf("felica/card/demo-aes.json is not a byte-for-byte copy of %s", sharedDemoAES)
	}
}

// The DEMOAES nodes flows authenticate: balance and history, read-write.
var demoAESNodes = []felica.NodeCode{0x1008, 0x090C}

func demoAESCard(t testing.TB, idm string, s card.Settings) (*card.Card, card.Image) {
	t.Helper()
	cat, err := card.DemoAES()
	if err != nil {
		t.Fatalf("DemoAES: %v", err)
	}
	img, ok := cat.Image(idm)
	if !ok {
		t.Fatalf("no DEMOAES card %s", idm)
	}
	c, err := card.New(cat.Layout, img, s)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c, img
}

func demoAESKeys(t testing.TB) []secure.AESKey {
	return []secure.AESKey{aesKey(t, "1930555EF431874A9553F36154B62B36"), aesKey(t, "FE63F342A956D970AD10A671B923C09D")}
}

// vectorSecureCard is the card of FELICA-SECURE.md's full exchanges: IDm I, area
// 1000 (AES key 000102…0F), service 1008 (AES key 101112…1F) whose block 0 is
// E803…, and for DES system key 0123456789ABCDEF, area 0000 FEDCBA9876543210,
// service 1008 0011223344556677. rnd replays the card's challenges.
func vectorSecureCard(t *testing.T, rnd string) *card.Card {
	t.Helper()
	aesArea, aesSvc := aesKey(t, "000102030405060708090A0B0C0D0E0F"), aesKey(t, "101112131415161718191A1B1C1D1E1F")
	desKey := func(s string) *secure.DESKey {
		k, err := secure.ParseDESKey(s)
		if err != nil {
			t.Fatal(err)
		}
		return &k
	}
	layout := card.Layout{
		SystemCode: 0x80DF,
		PMm:        felica.PMm{0x10, 0x0B, 0x4B, 0x42, 0x84, 0x85, 0xD0, 0xFF},
		SystemKeys: card.NodeKeys{DES: desKey("0123456789ABCDEF")},
		Areas: []card.Area{
			{Code: 0x0000, End: 0xFFFE, Keys: card.NodeKeys{DES: desKey("FEDCBA9876543210")}},
			{Code: 0x1000, End: 0x13FF, KeyVersion: 1, Keys: card.NodeKeys{AES: &aesArea}},
		},
		Services: []card.Service{{Name: "balance", Number: 0x40, Kind: card.KindRandom, ReadWrite: 0x1008, Blocks: 4, KeyVersion: 1,
			ReadWriteKeys: card.NodeKeys{AES: &aesSvc, DES: desKey("0011223344556677")}}},
	}
	img := card.Image{IDm: mustIDm(t, "0102030405060708"), IDi: mustIDm(t, "1020304050607080"),
		PMi:    felica.PMm{0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7},
		Blocks: map[string][][felica.BlockSize]byte{"balance": {[16]byte(unhex(t, "E8030000000000000000000000000000"))}}}
	c, err := card.New(layout, img, card.Settings{Rand: &fixedRand{b: unhex(t, rnd)}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// secureVectors reads felica-secure-vectors.txt (a copy is in felica/secure/testdata).
func secureVectors(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("../secure/testdata/felica-secure-vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]string)
	section := ""
	for _, line := range strings.Split(string(raw), "\n") {
		switch {
		case strings.HasPrefix(line, "=="):
			section = strings.Fields(strings.Trim(line, "= "))[0]
		case strings.HasPrefix(line, "#"), strings.TrimSpace(line) == "":
		default:
			f := strings.Fields(line)
			out[section+":"+f[0]] = f[1]
		}
	}
	return out
}

// TestSecureExchangeVectors plays the reader's frames of the full AES and DES
// exchanges to the card and expects the card's frames byte for byte.
func TestSecureExchangeVectors(t *testing.T) {
	v := secureVectors(t)
	for _, tc := range []struct {
		name, rnd string
		steps     []string
	}{
		{"AES", "0F1E2D3C4B5A69788796A5B4C3D2E1F0" + "A1B2C3D4", []string{"auth1", "auth2", "read", "write", "read2"}},
		{"DES", "8877665544332211", []string{"auth1", "auth2", "read", "write"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := vectorSecureCard(t, tc.rnd)
			for _, step := range tc.steps {
				got := answer(t, c, unhex(t, v[tc.name+":"+step+"_cmd"]))
				equalHex(t, step+"_rsp", got, v[tc.name+":"+step+"_rsp"])
			}
			if b := block(t, c, "balance", 1); !bytes.Equal(b, unhex(t, "0102030405060708090A0B0C0D0E0F10")) {
				t.Errorf("block 1 after the write = %X", b)
			}
		})
	}
}

// TestSecureSilence: the card stays silent, and unchanged, on what does not
// authenticate, then carries on with the session as if nothing had come.
func TestSecureSilence(t *testing.T) {
	v := secureVectors(t)
	cmd := func(name string) []byte { return unhex(t, v["AES:"+name]) }
	flip := func(b []byte, i int) []byte { b = bytes.Clone(b); b[i] ^= 1; return b }
	c := vectorSecureCard(t, "0F1E2D3C4B5A69788796A5B4C3D2E1F0A1B2C3D4")
	// Before any authentication.
	silent(t, c, cmd("read_cmd"))
	silent(t, c, cmd("auth2_cmd"))
	answer(t, c, cmd("auth1_cmd"))
	silent(t, c, flip(cmd("auth2_cmd"), 12)) // wrong challenge 2B
	silent(t, c, cmd("read_cmd"))            // no session yet
	answer(t, c, cmd("auth2_cmd"))           // the right one still works
	before := c.Snapshot()
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"flipped ciphertext", flip(cmd("write_cmd"), 6)},
		{"flipped MAC", flip(cmd("write_cmd"), len(cmd("write_cmd"))-1)},
		{"TN changed", flip(cmd("write_cmd"), 2)},
		{"write sealed as a read", append([]byte{cmd("write_cmd")[0], 0x44}, cmd("write_cmd")[2:]...)},
		{"a DES read in an AES session", unhex(t, v["DES:read_cmd"])},
	} {
		silent(t, c, tc.frame)
		if !reflect.DeepEqual(before, c.Snapshot()) {
			t.Fatalf("%s changed the card", tc.name)
		}
	}
	equalHex(t, "read_rsp", answer(t, c, cmd("read_cmd")), v["AES:read_rsp"])
	silent(t, c, cmd("read_cmd")) // replayed: stale TN
	equalHex(t, "write_rsp", answer(t, c, cmd("write_cmd")), v["AES:write_rsp"])
	silent(t, c, cmd("write_cmd")) // replayed write: nothing written twice
	// Reset Mode ends the session.
	answer(t, c, build(t, felica.ResetModeCommand{IDm: c.IDm()}))
	silent(t, c, cmd("read2_cmd"))
}

// TestSecureMalformedPlaintext: a good MAC over a cut block list gets no answer.
func TestSecureMalformedPlaintext(t *testing.T) {
	c, img := demoAESCard(t, "012E4C7A11224406", card.Settings{})
	m := authenticateAES(t, c, demoAESNodes, demoAESKeys(t), img.IndividualKey)
	m.tn++
	sealed, mac, err := m.session.Seal(felica.CodeReadV2, m.tn, unhex(t, "02 8000 80"))
	if err != nil {
		t.Fatal(err)
	}
	silent(t, c, build(t, felica.ReadV2Command{Transaction: m.tn, Payload: sealed, MAC: mac}))
	if got := m.read(felica.BlockElement{}); !got.Status.OK() {
		t.Errorf("the session did not survive: %s", got.Status)
	}
}

// TestDemoAESAccess: keyed services refuse Without Encryption access with A5 and
// answer Read v2 / Write v2 after authentication; block-level errors come inside
// the secure answer.
func TestDemoAESAccess(t *testing.T) {
	c, img := demoAESCard(t, "012E4C7A11224401", card.Settings{})
	for _, code := range []felica.NodeCode{0x1008, 0x100A, 0x090C, 0x090E} {
		if r := read(t, c, []felica.NodeCode{code}, elems(0)...); r.Status != (felica.Status{SF1: 1, SF2: felica.SF2AccessDenied}) {
			t.Errorf("read %s without encryption: %s", code, r.Status)
		}
	}
	if st := write(t, c, []felica.NodeCode{0x1008}, elems(0), record(1)); st != (felica.Status{SF1: 1, SF2: felica.SF2AccessDenied}) {
		t.Errorf("write 1008 without encryption: %s", st)
	}
	if r := read(t, c, []felica.NodeCode{0x008B}, elems(0)...); !r.Status.OK() {
		t.Errorf("read info: %s", r.Status)
	}
	m := authenticateAES(t, c, demoAESNodes, demoAESKeys(t), img.IndividualKey)
	got := m.read(felica.BlockElement{Service: 0}, felica.BlockElement{Service: 1, Block: 0})
	if !got.Status.OK() || !bytes.Equal(got.Block(0), img.Blocks["balance"][0][:]) || !bytes.Equal(got.Block(1), img.Blocks["history"][0][:]) {
		t.Fatalf("read v2 = %s %X", got.Status, got.Data)
	}
	balance, history := record(0x42), record(0x43)
	if st := m.write([]felica.BlockElement{{Service: 0}, {Service: 1}}, append(balance, history...)); !st.OK() {
		t.Fatalf("write v2: %s", st)
	}
	if !bytes.Equal(block(t, c, "balance", 0), balance) || !bytes.Equal(block(t, c, "history", 0), history) ||
		!bytes.Equal(block(t, c, "history", 1), img.Blocks["history"][0][:]) {
		t.Error("the money write did not land as one balance block and one pushed record")
	}
	for _, tc := range []struct {
		name   string
		blocks []felica.BlockElement
		write  bool
		want   felica.Status
	}{
		{"index past the node list", []felica.BlockElement{{Service: 2}}, false, felica.Status{SF1: 1, SF2: felica.SF2ServiceIndex}},
		{"block past the service", []felica.BlockElement{{Service: 1, Block: 8}}, false, felica.Status{SF1: 1, SF2: felica.SF2BlockNumber}},
		{"key change mode", []felica.BlockElement{{Access: felica.AccessKeyChange}}, true, felica.Status{SF1: 1, SF2: felica.SF2IllegalAccess}},
		{"second element bad", []felica.BlockElement{{}, {Block: 1}}, true, felica.Status{SF1: 2, SF2: felica.SF2BlockNumber}},
	} {
		var st felica.Status
		if tc.write {
			st = m.write(tc.blocks, make([]byte, 16*len(tc.blocks)))
		} else {
			st = m.read(tc.blocks...).Status
		}
		if st != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, st, tc.want)
		}
	}
	if !bytes.Equal(block(t, c, "balance", 0), balance) {
		t.Error("a refused write changed the balance")
	}
}

// TestDemoAESReadOnlyNodes: authenticated over the read-only codes, reads work and
// writes get A5.
func TestDemoAESReadOnlyNodes(t *testing.T) {
	c, img := demoAESCard(t, "012E4C7A11224401", card.Settings{})
	m := authenticateAES(t, c, []felica.NodeCode{0x100A, 0x090E},
		[]secure.AESKey{aesKey(t, "13751EB9AC6D36C8A23D0A238C1837C5"), aesKey(t, "A5A19803A1E6D0C46BB0AFC978EF2B18")}, img.IndividualKey)
	if r := m.read(felica.BlockElement{}); !r.Status.OK() {
		t.Errorf("read: %s", r.Status)
	}
	if st := m.write([]felica.BlockElement{{}}, record(1)); st != (felica.Status{SF1: 1, SF2: felica.SF2AccessDenied}) {
		t.Errorf("write: %s", st)
	}
}

// TestDemoAESCards: what Request Service v2 reports and who authenticates, card by
// card, as the labels of demo-aes.json promise.
func TestDemoAESCards(t *testing.T) {
	zero := secure.AESKey{}
	tests := []struct {
		idm        string
		versions   []uint16
		individual *secure.AESKey // what the key store gives; nil: the card's own
		ok         bool
	}{
		{"012E4C7A11224401", []uint16{1, 1}, nil, true},
		{"012E4C7A11224404", []uint16{1, 1}, &zero, false},
		{"012E4C7A11224405", []uint16{2, 1}, &zero, false},
		{"012E4C7A11224406", []uint16{1, 1}, &zero, true},
	}
	for _, tc := range tests {
		c, img := demoAESCard(t, tc.idm, card.Settings{})
		rs, err := felica.ParseRequestServiceV2Response(answer(t, c, build(t, felica.RequestServiceV2Command{IDm: c.IDm(), Nodes: []felica.NodeCode{0x1008, 0x090C, 0x0089, 0x1234}})), felica.WithLEN, c.IDm())
		want := append(append([]uint16(nil), tc.versions...), felica.KeyVersionNone, felica.KeyVersionNone)
		if err != nil || rs.EncryptionID != 0x4F || !reflect.DeepEqual(rs.AESKeyVersions, want) || rs.DESKeyVersions != nil {
			t.Errorf("%s: Request Service v2 = %v, %v", tc.idm, rs, err)
		}
		ind := img.IndividualKey
		if tc.individual != nil {
			ind = *tc.individual
		}
		_, err = tryAuthenticateAES(t, c, demoAESNodes, demoAESKeys(t), ind)
		if ok := err == nil; ok != tc.ok {
			t.Errorf("%s: authenticate = %v, want ok %v", tc.idm, err, tc.ok)
		}
	}
}

// TestSecureFaults: the faults fire on Write v2 as on Write Without Encryption.
func TestSecureFaults(t *testing.T) {
	for _, tc := range []struct {
		kind    card.FaultKind
		applied bool
	}{{card.LoseAnswerAfterWrite, true}, {card.FailBeforeWrite, false}} {
		c, img := demoAESCard(t, "012E4C7A11224401", card.Settings{})
		m := authenticateAES(t, c, demoAESNodes, demoAESKeys(t), img.IndividualKey)
		if err := c.Arm(card.Fault{Kind: tc.kind}); err != nil {
			t.Fatal(err)
		}
		silent(t, c, m.writeFrame([]felica.BlockElement{{}}, record(7)))
		if got := bytes.Equal(block(t, c, "balance", 0), record(7)); got != tc.applied {
			t.Errorf("%s: write applied %v", tc.kind, got)
		}
		// The lost answer consumed TN+1 on the card when the write was applied.
		m.tn++
		if r := m.read(felica.BlockElement{}); !r.Status.OK() {
			t.Errorf("%s: the session did not go on: %s", tc.kind, r.Status)
		}
	}
	// AtCommand counts the authentication frames too.
	c, img := demoAESCard(t, "012E4C7A11224401", card.Settings{})
	if err := c.Arm(card.Fault{Kind: card.FailBeforeWrite, AtCommand: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := tryAuthenticateAES(t, c, demoAESNodes, demoAESKeys(t), img.IndividualKey); !errors.Is(err, card.ErrNoAnswer) {
		t.Errorf("authentication with its 2nd frame dropped: %v", err)
	}
}

// TestSecureRoundTrip is the property: any block list written through an
// authenticated session reads back the same through another, and matches the
// card's blocks (random services; cyclic records as the card pushes them).
func TestSecureRoundTrip(t *testing.T) {
	property := func(seed int64) bool {
		r := rand.New(rand.NewSource(seed))
		c, img := demoAESCard(t, "012E4C7A11224401", card.Settings{Rand: r})
		m := authenticateAES(t, c, demoAESNodes, demoAESKeys(t), img.IndividualKey)
		// Random writes: to the balance (1 block) and up to 8 history records.
		n := 1 + r.Intn(9)
		blocks := make([]felica.BlockElement, 0, n)
		data := make([]byte, 0, 16*n)
		blocks = append(blocks, felica.BlockElement{Service: 0})
		data = append(data, genBlock(r)...)
		for i := 1; i < n; i++ {
			blocks = append(blocks, felica.BlockElement{Service: 1})
			data = append(data, genBlock(r)...)
		}
		if st := m.write(blocks, data); !st.OK() {
			t.Logf("write: %s", st)
			return false
		}
		// Read everything back through a fresh session, in a random order.
		m = authenticateAES(t, c, demoAESNodes, demoAESKeys(t), img.IndividualKey)
		reads := []felica.BlockElement{{Service: 0}}
		for i := 0; i < 8; i++ {
			reads = append(reads, felica.BlockElement{Service: 1, Block: uint16(i)})
		}
		r.Shuffle(len(reads), func(i, j int) { reads[i], reads[j] = reads[j], reads[i] })
		got := m.read(reads...)
		if !got.Status.OK() {
			return false
		}
		for i, e := range reads {
			name := map[uint8]string{0: "balance", 1: "history"}[e.Service]
			if !bytes.Equal(got.Block(i), block(t, c, name, int(e.Block))) {
				t.Logf("%s block %d: read %X", name, e.Block, got.Block(i))
				return false
			}
		}
		// The written data is there: balance, and the records newest first.
		if !bytes.Equal(block(t, c, "balance", 0), data[:16]) {
			return false
		}
		for i := 1; i < n; i++ {
			if !bytes.Equal(block(t, c, "history", i-1), data[16*i:16*i+16]) {
				return false
			}
		}
		return true
	}
	if err := quick.Check(property, &quick.Config{MaxCount: 50}); err != nil {
		t.Error(err)
	}
}

func genBlock(r *rand.Rand) []byte { b := make([]byte, 16); r.Read(b); return b }

// TestRequestResponseMode: 0, then 1 after Authentication1 v2, 2 in a session.
func TestRequestResponseMode(t *testing.T) {
	c, img := demoAESCard(t, "012E4C7A11224401", card.Settings{})
	mode := func() byte {
		r, err := felica.ParseRequestResponseResponse(answer(t, c, build(t, felica.RequestResponseCommand{IDm: c.IDm()})), felica.WithLEN, c.IDm())
		if err != nil {
			t.Fatal(err)
		}
		return r.Mode
	}
	if m := mode(); m != 0 {
		t.Errorf("mode %d before", m)
	}
	authenticateAES(t, c, demoAESNodes, demoAESKeys(t), img.IndividualKey)
	if m := mode(); m != 2 {
		t.Errorf("mode %d in a session", m)
	}
}

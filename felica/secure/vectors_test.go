package secure_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/secure"
)

// The inputs of the full-exchange vectors of FELICA-SECURE.md.
const (
	vecIDm   = "0102030405060708"
	vecR1    = "00112233445566778899AABBCCDDEEFF"
	vecR2    = "0F1E2D3C4B5A69788796A5B4C3D2E1F0"
	vecC3C   = "A1B2C3D4"
	vecKey0  = "000102030405060708090A0B0C0D0E0F" // node 1000
	vecKey1  = "101112131415161718191A1B1C1D1E1F" // node 1008
	vecIDiPM = "1020304050607080" + "A0A1A2A3A4A5A6A7"
	vecBlk0  = "E8030000000000000000000000000000"
	vecBlk1  = "0102030405060708090A0B0C0D0E0F10"
)

// vectorFile reads felica-secure-vectors.txt into "AES:name" → hex, so that
// the tests below compare against the shared file itself, not a copy.
func vectorFile(t testing.TB) map[string]string {
	t.Helper()
	// The tests run in felica/secure; the shared folder is beside the worktree.
	raw := readShared(t, "felica-secure-vectors.txt")
	out := make(map[string]string)
	section := ""
	for _, line := range strings.Split(raw, "\n") {
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

func mustAESKey(t testing.TB, s string) secure.AESKey {
	t.Helper()
	k, err := secure.ParseAESKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustDESKey(t testing.TB, s string) secure.DESKey {
	t.Helper()
	k, err := secure.ParseDESKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPublishedSealVector is felica-rs secure_v2_encrypt_matches_reference_vector
// (and its decrypt twin): code 48, TN bytes 41 CF, TID 5EC8B5971704, C3C 0,
// Kenc = Kmac = 0, a 38-byte payload.
func TestPublishedSealVector(t *testing.T) {
	s := secure.AESSession{TID: [6]byte(unhex(t, "5EC8B5971704"))}
	plain := unhex(t, "00000001 0000"+strings.Repeat("0123456789ABCDEF", 4))
	want := unhex(t, "41CFAE0D2F92B2259287E05646E140E5924EE27F79CB69A2047DA5F9353EED59E35FBC90A5D731D25A0FCDBDD6802174")
	tn := binary.LittleEndian.Uint16(want[:2])
	sealed, mac, err := s.Seal(0x48, tn, plain)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(append(unhex(t, "41CF"), sealed...), mac[:]...); !bytes.Equal(got, want) {
		t.Errorf("seal = %X\nwant   %X", got, want)
	}
	if 12+len(plain) != 0x32 {
		t.Errorf("frame LEN %02X, want 32", 12+len(plain))
	}
	opened, err := s.Open(0x48, tn, want[2:len(want)-8], [8]byte(want[len(want)-8:]))
	if err != nil || !bytes.Equal(opened, plain) {
		t.Errorf("open = %X, %v", opened, err)
	}
}

// TestPublishedGroupKeys is felica-rs generate_service_key_aes_reproduces_card_vectors
// ("confirmed live"): each node key is its code big-endian ×8, except 1008, all zero.
func TestPublishedGroupKeys(t *testing.T) {
	nodeKey := func(code uint16) secure.AESKey {
		var k secure.AESKey
		if code == 0x1008 {
			return k
		}
		for i := 0; i < 16; i += 2 {
			binary.BigEndian.PutUint16(k[i:], code)
		}
		return k
	}
	tests := []struct {
		nodes []uint16
		want  string
	}{
		{[]uint16{0x1008}, "3925042E238282F085BCEE62593C2385"},
		{[]uint16{0x1008, 0x100C}, "586A2E06EE16AA2C6AE5B6CDFF6A5039"},
		{[]uint16{0x100C}, "651049AE89581DDC3F302EA4E4A0F911"},
		{[]uint16{0x100C, 0x1012}, "5E86F6C0574EBAD952FAD9142E1AA6BB"},
		{[]uint16{0x3111}, "94459E3640EDBCE4746D83EECE80C065"},
	}
	for _, tc := range tests {
		keys := make([]secure.AESKey, len(tc.nodes))
		for i, n := range tc.nodes {
			keys[i] = nodeKey(n)
		}
		got := secure.AESGroupKey(keys)
		if !bytes.Equal(got[:], unhex(t, tc.want)) {
			t.Errorf("group key of %04X = %X, want %s", tc.nodes, got[:], tc.want)
		}
	}
}

// aesExchange is the reader and the card of the AES full-exchange vector.
type aesExchange struct {
	auth    secure.AESAuth
	r1, r2  [16]byte
	c3c     [4]byte
	idm     felica.IDm
	session secure.AESSession
}

func newAESExchange(t testing.TB, individual string) aesExchange {
	group := secure.AESGroupKey([]secure.AESKey{mustAESKey(t, vecKey0), mustAESKey(t, vecKey1)})
	idm := felica.IDm(unhex(t, vecIDm))
	x := aesExchange{
		auth: secure.NewAESAuth(group, mustAESKey(t, individual), idm),
		r1:   u16(t, vecR1), r2: u16(t, vecR2), c3c: [4]byte(unhex(t, vecC3C)), idm: idm,
	}
	x.session = secure.NewAESSession(x.r1, x.r2, x.c3c)
	return x
}

// sealV2 builds a whole AES secure frame with the codec's layout.
func sealV2(t testing.TB, s secure.AESSession, code felica.Code, tn uint16, plain string) string {
	t.Helper()
	sealed, mac, err := s.Seal(code, tn, unhex(t, plain))
	if err != nil {
		t.Fatal(err)
	}
	frame := []byte{byte(12 + len(sealed)), byte(code), byte(tn), byte(tn >> 8)}
	frame = append(append(frame, sealed...), mac[:]...)
	return strings.ToUpper(bytesHex(frame))
}

func bytesHex(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

// TestAESExchangeVectors replays every value of the AES full exchange:
// intermediates, both sides of the authentication and each secure frame.
func TestAESExchangeVectors(t *testing.T) {
	v := vectorFile(t)
	x := newAESExchange(t, "00000000000000000000000000000000")
	group := secure.AESGroupKey([]secure.AESKey{mustAESKey(t, vecKey0), mustAESKey(t, vecKey1)})
	c1a := x.auth.Challenge1A(x.r1)
	r1, c1b, c2a := x.auth.AnswerAuth1(c1a, x.r2, x.c3c)
	rsp1 := felica.Auth1V2Response{IDm: x.idm, Challenge1B: c1b, Challenge2A: c2a, Challenge3C: x.c3c}
	c2b, readerSession, err := x.auth.CheckAuth1(x.r1, rsp1)
	if err != nil {
		t.Fatalf("CheckAuth1: %v", err)
	}
	frame := func(a interface {
		Append([]byte, felica.Framing) ([]byte, error)
	}) string {
		b, err := a.Append(nil, felica.WithLEN)
		if err != nil {
			t.Fatal(err)
		}
		return bytesHex(b)
	}
	aliceWithInd := newAESExchange(t, "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF")
	tests := []struct {
		name string
		got  string
	}{
		{"K_group", bytesHex(group[:])},
		{"alpha", bytesHex(x.auth.Alpha[:])},
		{"beta", bytesHex(x.auth.Beta[:])},
		{"beta'", func() string { b := x.auth.BetaPrime(x.c3c); return bytesHex(b[:]) }()},
		{"K_enc", bytesHex(x.session.Kenc[:])},
		{"K_mac", bytesHex(x.session.Kmac[:])},
		{"TID", bytesHex(x.session.TID[:])},
		{"alpha(K_ind=A0..AF)", bytesHex(aliceWithInd.auth.Alpha[:])},
		{"beta(K_ind=A0..AF)", bytesHex(aliceWithInd.auth.Beta[:])},
		{"auth1_cmd", frame(felica.Auth1V2Command{IDm: x.idm, Nodes: []felica.NodeCode{0x1000, 0x1008}, Challenge1A: c1a})},
		{"auth1_rsp", frame(rsp1)},
		{"auth2_cmd", frame(felica.Auth2V2Command{IDm: x.idm, Challenge2B: c2b})},
		{"auth2_rsp", sealV2(t, x.session, felica.CodeAuth2V2Response, 0, vecIDiPM)},
		{"read_cmd", sealV2(t, readerSession, felica.CodeReadV2, 1, "02 8100 8101")},
		{"read_rsp", sealV2(t, x.session, felica.CodeReadV2Response, 2, "0000 02"+vecBlk0+strings.Repeat("00", 16))},
		{"write_cmd", sealV2(t, readerSession, felica.CodeWriteV2, 3, "01 8101"+vecBlk1)},
		{"write_rsp", sealV2(t, x.session, felica.CodeWriteV2Response, 4, "0000")},
		{"read2_cmd", sealV2(t, readerSession, felica.CodeReadV2, 5, "01 8101")},
		{"read2_rsp", sealV2(t, x.session, felica.CodeReadV2Response, 6, "0000 01"+vecBlk1)},
	}
	for _, tc := range tests {
		want, ok := v["AES:"+tc.name]
		if !ok {
			t.Fatalf("%s: not in felica-secure-vectors.txt", tc.name)
		}
		if tc.got != want {
			t.Errorf("%s = %s, want %s", tc.name, tc.got, want)
		}
	}
	if r1 != x.r1 {
		t.Errorf("card recovered R1 %X, want %X", r1, x.r1)
	}
	if !x.auth.CheckChallenge2B(c2b, x.r2) {
		t.Error("card refused the reader's challenge 2B")
	}
	if readerSession != x.session {
		t.Error("reader and card derived different sessions")
	}
}

// TestAESOpenVectors opens every answer and command of the exchange with the
// session keys and finds the plaintext the exchange sent.
func TestAESOpenVectors(t *testing.T) {
	v := vectorFile(t)
	s := newAESExchange(t, "00000000000000000000000000000000").session
	tests := []struct{ name, plain string }{
		{"auth2_rsp", vecIDiPM},
		{"read_cmd", "0281008101"},
		{"read_rsp", "000002" + vecBlk0 + strings.Repeat("00", 16)},
		{"write_cmd", "018101" + vecBlk1},
		{"write_rsp", "0000"},
		{"read2_cmd", "018101"},
		{"read2_rsp", "000001" + vecBlk1},
	}
	for _, tc := range tests {
		f := unhex(t, v["AES:"+tc.name])
		tn := binary.LittleEndian.Uint16(f[2:4])
		got, err := s.Open(felica.Code(f[1]), tn, f[4:len(f)-8], [8]byte(f[len(f)-8:]))
		if err != nil || bytesHex(got) != tc.plain {
			t.Errorf("%s: open = %X, %v; want %s", tc.name, got, err, tc.plain)
		}
	}
}

// TestAESOpenRejects: a changed bit, another code or another TN fail the MAC.
func TestAESOpenRejects(t *testing.T) {
	s := newAESExchange(t, "00000000000000000000000000000000").session
	f := unhex(t, vectorFile(t)["AES:read_rsp"])
	sealed, mac := f[4:len(f)-8], [8]byte(f[len(f)-8:])
	flipped := bytes.Clone(sealed)
	flipped[5] ^= 1
	badMAC := mac
	badMAC[7] ^= 0x80
	tests := []struct {
		name   string
		code   felica.Code
		tn     uint16
		sealed []byte
		mac    [8]byte
	}{
		{"flipped ciphertext", felica.CodeReadV2Response, 2, flipped, mac},
		{"flipped MAC", felica.CodeReadV2Response, 2, sealed, badMAC},
		{"as a Write v2 answer", felica.CodeWriteV2Response, 2, sealed, mac},
		{"replayed as TN 4", felica.CodeReadV2Response, 4, sealed, mac},
		{"cut short", felica.CodeReadV2Response, 2, sealed[:len(sealed)-1], mac},
	}
	for _, tc := range tests {
		got, err := s.Open(tc.code, tc.tn, tc.sealed, tc.mac)
		if !errors.Is(err, secure.ErrBadMAC) || got != nil {
			t.Errorf("%s: %X, %v; want ErrBadMAC", tc.name, got, err)
		}
	}
	if !bytes.Equal(sealed, f[4:len(f)-8]) {
		t.Error("Open changed its input")
	}
}

// TestAESWrongKeysFail: a card with another individualisation code or node
// key answers with a challenge 1B the reader refuses.
func TestAESWrongKeysFail(t *testing.T) {
	reader := newAESExchange(t, "00000000000000000000000000000000")
	for _, card := range []secure.AESAuth{
		newAESExchange(t, "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF").auth,
		secure.NewAESAuth(secure.AESGroupKey([]secure.AESKey{mustAESKey(t, vecKey1)}), secure.AESKey{}, reader.idm),
	} {
		_, c1b, c2a := card.AnswerAuth1(reader.auth.Challenge1A(reader.r1), reader.r2, reader.c3c)
		_, _, err := reader.auth.CheckAuth1(reader.r1, felica.Auth1V2Response{Challenge1B: c1b, Challenge2A: c2a, Challenge3C: reader.c3c})
		if !errors.Is(err, secure.ErrAuthFailed) {
			t.Errorf("CheckAuth1 = %v, want ErrAuthFailed", err)
		}
	}
	if reader.auth.CheckChallenge2B([16]byte{}, reader.r2) {
		t.Error("card accepted a zero challenge 2B")
	}
}

// TestDESExchangeVectors replays the DES full exchange of FELICA-SECURE.md.
func TestDESExchangeVectors(t *testing.T) {
	v := vectorFile(t)
	idm := felica.IDm(unhex(t, vecIDm))
	group := secure.DESGroupKey(mustDESKey(t, "0123456789ABCDEF"), []secure.DESKey{mustDESKey(t, "FEDCBA9876543210")})
	user := secure.DESUserKey(group, []secure.DESKey{mustDESKey(t, "0011223344556677")})
	auth := secure.NewDESAuth(group, user, idm)
	r1, r2 := u8(t, "1122334455667788"), u8(t, "8877665544332211")
	c1a := auth.Challenge1A(r1)
	gotR1, c1b, c2a := auth.AnswerAuth1(c1a, r2)
	rsp1 := felica.Auth1Response{IDm: idm, Challenge1B: c1b, Challenge2A: c2a}
	c2b, session, err := auth.CheckAuth1(r1, rsp1)
	if err != nil {
		t.Fatalf("CheckAuth1: %v", err)
	}
	if gotR1 != r1 || !auth.CheckChallenge2B(c2b, r2) {
		t.Fatal("the card side does not agree with the reader side")
	}
	frame := func(a interface {
		Append([]byte, felica.Framing) ([]byte, error)
	}) string {
		b, err := a.Append(nil, felica.WithLEN)
		if err != nil {
			t.Fatal(err)
		}
		return bytesHex(b)
	}
	seal := func(code felica.Code, tn uint16, payload string) string {
		enc, err := session.Seal(code, tn, unhex(t, payload))
		if err != nil {
			t.Fatal(err)
		}
		return bytesHex(append([]byte{byte(2 + len(enc)), byte(code)}, enc...))
	}
	tests := []struct{ name, got string }{
		{"K_group", bytesHex(group[:])},
		{"K_user", bytesHex(user[:])},
		{"L", bytesHex(auth.L[:])},
		{"alpha", bytesHex(auth.Alpha[:])},
		{"beta", bytesHex(auth.Beta[:])},
		{"auth1_cmd", frame(felica.Auth1Command{IDm: idm, Areas: []felica.NodeCode{0x0000}, Services: []felica.NodeCode{0x1008}, Challenge1A: c1a})},
		{"auth1_rsp", frame(rsp1)},
		{"auth2_cmd", frame(felica.Auth2Command{IDm: idm, Challenge2B: c2b})},
		{"auth2_rsp", seal(felica.CodeAuth2Response, 0, vecIDiPM)},
		{"read_cmd", seal(felica.CodeReadDES, 1, "01 8000")},
		{"read_rsp", seal(felica.CodeReadDESResponse, 2, "0000 01"+vecBlk0)},
		{"write_cmd", seal(felica.CodeWriteDES, 3, "01 8001"+vecBlk1)},
		{"write_rsp", seal(felica.CodeWriteDESResponse, 4, "0000")},
	}
	for _, tc := range tests {
		want, ok := v["DES:"+tc.name]
		if !ok {
			t.Fatalf("%s: not in felica-secure-vectors.txt", tc.name)
		}
		if tc.got != want {
			t.Errorf("%s = %s, want %s", tc.name, tc.got, want)
		}
	}
	// Open each sealed frame back: TN and the padded payload.
	opens := []struct {
		name  string
		tn    uint16
		plain string
	}{
		{"auth2_rsp", 0, vecIDiPM},
		{"read_cmd", 1, "018000" + "0505050505"},
		{"read_rsp", 2, "000001" + vecBlk0 + "0505050505"},
		{"write_cmd", 3, "018001" + vecBlk1 + "0505050505"},
		{"write_rsp", 4, "0000" + "060606060606"},
	}
	for _, tc := range opens {
		f := unhex(t, v["DES:"+tc.name])
		tn, plain, err := session.Open(felica.Code(f[1]), f[2:])
		if err != nil || tn != tc.tn || bytesHex(plain) != tc.plain {
			t.Errorf("%s: open = %d %X %v; want %d %s", tc.name, tn, plain, err, tc.tn, tc.plain)
		}
		f[len(f)-1] ^= 1
		if _, _, err := session.Open(felica.Code(f[1]), f[2:]); !errors.Is(err, secure.ErrBadMAC) {
			t.Errorf("%s: changed frame opens: %v", tc.name, err)
		}
	}
}

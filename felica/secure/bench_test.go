package secure_test

import (
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/secure"
)

// BenchmarkAESMutualAuth is one whole AES mutual authentication, both sides:
// group key and α/β on each side, Challenge 1A, the card's answer, the
// reader's check and Challenge 2B, the card's check, both sessions.
func BenchmarkAESMutualAuth(b *testing.B) {
	nodeKeys := []secure.AESKey{mustAESKey(b, vecKey0), mustAESKey(b, vecKey1)}
	idm := felica.IDm(unhex(b, vecIDm))
	r1, r2, c3c := u16(b, vecR1), u16(b, vecR2), [4]byte(unhex(b, vecC3C))
	b.ReportAllocs()
	for b.Loop() {
		reader := secure.NewAESAuth(secure.AESGroupKey(nodeKeys), secure.AESKey{}, idm)
		card := secure.NewAESAuth(secure.AESGroupKey(nodeKeys), secure.AESKey{}, idm)
		_, c1b, c2a := card.AnswerAuth1(reader.Challenge1A(r1), r2, c3c)
		c2b, _, err := reader.CheckAuth1(r1, felica.Auth1V2Response{IDm: idm, Challenge1B: c1b, Challenge2A: c2a, Challenge3C: c3c})
		if err != nil || !card.CheckChallenge2B(c2b, r2) {
			b.Fatal("authentication failed", err)
		}
		_ = secure.NewAESSession(r1, r2, c3c)
	}
}

// BenchmarkWriteV2SealOpen seals a Write v2 of two blocks (the money write:
// balance and history) and opens it as the card does.
func BenchmarkWriteV2SealOpen(b *testing.B) {
	s := secure.NewAESSession(u16(b, vecR1), u16(b, vecR2), [4]byte(unhex(b, vecC3C)))
	plain, err := felica.SecureWriteRequest{
		Blocks: []felica.BlockElement{{Service: 0}, {Service: 1}},
		Data:   make([]byte, 32),
	}.AppendPlain(nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		sealed, mac, err := s.Seal(felica.CodeWriteV2, 7, plain)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Open(felica.CodeWriteV2, 7, sealed, mac); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDESMutualAuth is the legacy DES authentication, both sides.
func BenchmarkDESMutualAuth(b *testing.B) {
	idm := felica.IDm(unhex(b, vecIDm))
	sys, area, svc := mustDESKey(b, "0123456789ABCDEF"), mustDESKey(b, "FEDCBA9876543210"), mustDESKey(b, "0011223344556677")
	r1, r2 := u8(b, "1122334455667788"), u8(b, "8877665544332211")
	b.ReportAllocs()
	for b.Loop() {
		g := secure.DESGroupKey(sys, []secure.DESKey{area})
		a := secure.NewDESAuth(g, secure.DESUserKey(g, []secure.DESKey{svc}), idm)
		_, c1b, c2a := a.AnswerAuth1(a.Challenge1A(r1), r2)
		c2b, _, err := a.CheckAuth1(r1, felica.Auth1Response{IDm: idm, Challenge1B: c1b, Challenge2A: c2a})
		if err != nil || !a.CheckChallenge2B(c2b, r2) {
			b.Fatal("authentication failed", err)
		}
	}
}

package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"log/slog"

	"github.com/tes-project/tes/felica"
)

// MACSize is the size of the (encrypted) MAC at the end of every AES secure frame.
const MACSize = 8

// MaxSealedV2 is the longest plaintext an AES secure frame carries: 255 bytes
// minus LEN, code, TN and the MAC.
const MaxSealedV2 = felica.MaxFrameLen - 12

// groupKeySeed is S0 of the AES group key chain.
var groupKeySeed = [16]byte{0x01, 0x01, 15: 0x80}

// newAES makes the AES-128 cipher of a 16-byte key; it cannot fail.
func newAES(k [16]byte) cipher.Block {
	b, err := aes.NewCipher(k[:])
	if err != nil {
		panic("secure: AES-128 refused a 16-byte key: " + err.Error()) // unreachable
	}
	return b
}

func aesEncrypt(k, in [16]byte) [16]byte {
	var out [16]byte
	newAES(k).Encrypt(out[:], in[:])
	return out
}

func aesDecrypt(k, in [16]byte) [16]byte {
	var out [16]byte
	newAES(k).Decrypt(out[:], in[:])
	return out
}

// AESGroupKey chains the node keys of an Authentication1 v2 node list, in
// node-list order: S0 = 01 01 00…00 80, Sj = AES_{K_j}(Sj-1), the group key
// is Sn. Only the listed nodes count; there is no implicit system or parent key.
func AESGroupKey(nodeKeys []AESKey) AESKey {
	s := groupKeySeed
	for _, k := range nodeKeys {
		s = aesEncrypt(k, s)
	}
	return s
}

// AESAuth holds the two keys of one AES mutual authentication, α and β, both
// derived from the group key, the card's individualisation code and its IDm.
// Both sides use it: the reader to build Challenge 1A and check the card's
// answer, the card to answer. It prints as redacted.
type AESAuth struct {
	Alpha, Beta AESKey
}

// NewAESAuth derives α and β: H = group ⊕ individual,
// α = AES_H(01 02 00000000 IDm 01 00), β = AES_H(02 02 00000000 IDm 01 00).
func NewAESAuth(group, individual AESKey, idm felica.IDm) AESAuth {
	h := xor16(group, individual)
	defer clear(h[:])
	block := func(p byte) [16]byte {
		var b [16]byte
		b[0], b[1] = p, 0x02
		copy(b[6:14], idm[:])
		b[14] = 0x01
		return b
	}
	return AESAuth{Alpha: aesEncrypt(h, block(0x01)), Beta: aesEncrypt(h, block(0x02))}
}

// BetaPrime is β ⊕ (C3C ‖ 00×12), the key of Challenges 1B and 2A.
func (a AESAuth) BetaPrime(c3c [4]byte) AESKey {
	var mask [16]byte
	copy(mask[:], c3c[:])
	return xor16(a.Beta, mask)
}

// Challenge1A is the reader's challenge: AES_α(R1).
func (a AESAuth) Challenge1A(r1 [16]byte) [16]byte { return aesEncrypt(a.Alpha, r1) }

// CheckAuth1 is the reader's check of the card's Authentication1 v2 answer:
// Challenge 1B must be AES_β'(R1) (compared in constant time), else
// ErrAuthFailed. It returns Challenge 2B, AES_α(R2), to send in
// Authentication2 v2, and the session keys.
func (a AESAuth) CheckAuth1(r1 [16]byte, rsp felica.Auth1V2Response) ([16]byte, AESSession, error) {
	bp := a.BetaPrime(rsp.Challenge3C)
	defer clear(bp[:])
	want := aesEncrypt(bp, r1)
	if subtle.ConstantTimeCompare(want[:], rsp.Challenge1B[:]) != 1 {
		return [16]byte{}, AESSession{}, fmt.Errorf("%w: challenge 1B", ErrAuthFailed)
	}
	r2 := aesDecrypt(bp, rsp.Challenge2A)
	defer clear(r2[:])
	return aesEncrypt(a.Alpha, r2), NewAESSession(r1, r2, rsp.Challenge3C), nil
}

// AnswerAuth1 is the card's side of Authentication1 v2: it recovers R1 from
// Challenge 1A and returns it with Challenges 1B = AES_β'(R1) and
// 2A = AES_β'(R2), for the card's random R2 and C3C. A card with the wrong
// keys computes a wrong R1; the reader notices in CheckAuth1.
func (a AESAuth) AnswerAuth1(c1a, r2 [16]byte, c3c [4]byte) (r1, c1b, c2a [16]byte) {
	bp := a.BetaPrime(c3c)
	defer clear(bp[:])
	r1 = aesDecrypt(a.Alpha, c1a)
	return r1, aesEncrypt(bp, r1), aesEncrypt(bp, r2)
}

// CheckChallenge2B is the card's check of Authentication2 v2: Challenge 2B
// must be AES_α(R2); compared in constant time.
func (a AESAuth) CheckChallenge2B(c2b, r2 [16]byte) bool {
	want := aesEncrypt(a.Alpha, r2)
	return subtle.ConstantTimeCompare(want[:], c2b[:]) == 1
}

// Format prints the keys redacted, whatever the verb.
func (a AESAuth) Format(f fmt.State, _ rune) { fmt.Fprint(f, "AESAuth"+redacted) }

// LogValue keeps the keys out of structured logs.
func (AESAuth) LogValue() slog.Value { return slog.StringValue(redacted) }

// AESSession is the secure-messaging state both sides derive once mutual
// authentication succeeds: Kenc = AES_R2(01 03 00…00 01 00),
// Kmac = AES_R2(02 03 00…00 01 00), TID = R1[2..7] and C3C. The
// transaction number is the caller's to keep. It prints as redacted.
type AESSession struct {
	Kenc, Kmac AESKey
	TID        [6]byte
	C3C        [4]byte
}

// NewAESSession derives the session from the two challenges and C3C.
func NewAESSession(r1, r2 [16]byte, c3c [4]byte) AESSession {
	s := AESSession{
		Kenc: aesEncrypt(r2, [16]byte{0: 0x01, 1: 0x03, 14: 0x01}),
		Kmac: aesEncrypt(r2, [16]byte{0: 0x02, 1: 0x03, 14: 0x01}),
		C3C:  c3c,
	}
	copy(s.TID[:], r1[2:8])
	return s
}

// Format prints the session redacted, whatever the verb.
func (s AESSession) Format(f fmt.State, _ rune) { fmt.Fprint(f, "AESSession"+redacted) }

// LogValue keeps the session out of structured logs.
func (AESSession) LogValue() slog.Value { return slog.StringValue(redacted) }

// Clear zeroes the session's keys and values.
func (s *AESSession) Clear() { *s = AESSession{} }

// iv is 01 LEN CODE TN(2, LE) TID(6) C3C[1..3] 00 00; LEN is the frame's
// LEN byte, 12 + the plaintext's length.
func (s AESSession) iv(code felica.Code, tn uint16, plainLen int) [16]byte {
	var iv [16]byte
	iv[0] = 0x01
	iv[1] = byte(12 + plainLen)
	iv[2] = byte(code)
	binary.LittleEndian.PutUint16(iv[3:5], tn)
	copy(iv[5:11], s.TID[:])
	copy(iv[11:14], s.C3C[1:4])
	return iv
}

// mac is CMAC_Kmac(B0 ‖ P)[0..7], B0 = 19 IV[1..13] len(P) (2, big-endian).
func (s AESSession) mac(iv [16]byte, plain []byte) [MACSize]byte {
	msg := make([]byte, 16, 16+len(plain))
	msg[0] = 0x19
	copy(msg[1:14], iv[1:14])
	binary.BigEndian.PutUint16(msg[14:16], uint16(len(plain)))
	msg = append(msg, plain...)
	full := CMAC(newAES(s.Kmac), msg)
	clear(msg)
	return [MACSize]byte(full[:MACSize])
}

// ofb XORs the keystream AES_Kenc(S_i-1), S_0 = IV, into the payload and, from
// the next 16-byte boundary on, into the MAC. It encrypts and decrypts.
func (s AESSession) ofb(iv [16]byte, payload []byte, mac *[MACSize]byte) {
	b := newAES(s.Kenc)
	stream := iv
	for off := 0; off < len(payload); off += 16 {
		b.Encrypt(stream[:], stream[:])
		subtle.XORBytes(payload[off:], payload[off:], stream[:])
	}
	b.Encrypt(stream[:], stream[:])
	subtle.XORBytes(mac[:], mac[:], stream[:MACSize])
	clear(stream[:])
}

// Seal encrypts a secure frame's plaintext for the frame code and transaction
// number tn and returns the ciphertext (as long as plain) and the encrypted
// MAC, the two parts that follow TN in the frame. It fails only when plain is
// too long for one frame.
func (s AESSession) Seal(code felica.Code, tn uint16, plain []byte) ([]byte, [MACSize]byte, error) {
	if len(plain) > MaxSealedV2 {
		return nil, [MACSize]byte{}, fmt.Errorf("%w: %d bytes of plaintext, at most %d fit a frame", ErrMalformed, len(plain), MaxSealedV2)
	}
	iv := s.iv(code, tn, len(plain))
	mac := s.mac(iv, plain)
	sealed := append([]byte(nil), plain...)
	s.ofb(iv, sealed, &mac)
	return sealed, mac, nil
}

// Open decrypts a secure frame's ciphertext and checks its MAC for the frame
// code and transaction number tn, in constant time. On ErrBadMAC nothing is
// returned. sealed is not changed.
func (s AESSession) Open(code felica.Code, tn uint16, sealed []byte, mac [MACSize]byte) ([]byte, error) {
	if len(sealed) > MaxSealedV2 {
		return nil, fmt.Errorf("%w: %d bytes of ciphertext, at most %d fit a frame", ErrMalformed, len(sealed), MaxSealedV2)
	}
	iv := s.iv(code, tn, len(sealed))
	plain := append([]byte(nil), sealed...)
	s.ofb(iv, plain, &mac)
	want := s.mac(iv, plain)
	if subtle.ConstantTimeCompare(want[:], mac[:]) != 1 {
		clear(plain)
		return nil, fmt.Errorf("%w: %s, transaction %04X", ErrBadMAC, code, tn)
	}
	return plain, nil
}

package secure

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"log/slog"

	"github.com/tes-project/tes/felica"
)

// DESBlockSize is the DES block size: payloads are padded to it.
const DESBlockSize = 8

// MaxSealedDES is the longest padded plaintext (TN, TID and payload) a DES
// secure frame carries: 255 bytes minus LEN, code and the MAC, rounded down to
// whole blocks.
const MaxSealedDES = (felica.MaxFrameLen - 10) / DESBlockSize * DESBlockSize

// newDES makes the single-DES cipher of an 8-byte key; it cannot fail.
func newDES(k [8]byte) cipher.Block {
	b, err := des.NewCipher(k[:])
	if err != nil {
		panic("secure: DES refused an 8-byte key: " + err.Error()) // unreachable
	}
	return b
}

func desEncrypt(k, in [8]byte) [8]byte {
	var out [8]byte
	newDES(k).Encrypt(out[:], in[:])
	return out
}

// new3DES makes 2-key triple DES EDE with keys (k1, k2, k1).
func new3DES(k1, k2 [8]byte) cipher.Block {
	var k [24]byte
	copy(k[0:], k1[:])
	copy(k[8:], k2[:])
	copy(k[16:], k1[:])
	defer clear(k[:])
	b, err := des.NewTripleDESCipher(k[:])
	if err != nil {
		panic("secure: 3DES refused a 24-byte key: " + err.Error()) // unreachable
	}
	return b
}

func tdesEncrypt(k1, k2, in [8]byte) [8]byte {
	var out [8]byte
	new3DES(k1, k2).Encrypt(out[:], in[:])
	return out
}

func tdesDecrypt(k1, k2, in [8]byte) [8]byte {
	var out [8]byte
	new3DES(k1, k2).Decrypt(out[:], in[:])
	return out
}

// DESGroupKey chains the system key and the area keys of an Authentication1
// area list, in list order: G0 = Ksys, Gi = DES_{Karea_i}(Gi-1).
func DESGroupKey(system DESKey, areas []DESKey) DESKey {
	g := [8]byte(system)
	for _, k := range areas {
		g = desEncrypt(k, g)
	}
	return g
}

// DESUserKey chains the service keys of an Authentication1 service list from
// the group key: U0 = Kgroup, Uj = DES_{Ksrv_j}(Uj-1). Services without a key
// are left out by the caller.
func DESUserKey(group DESKey, services []DESKey) DESKey {
	u := [8]byte(group)
	for _, k := range services {
		u = desEncrypt(k, u)
	}
	return u
}

// DESAuth holds the keys of one DES mutual authentication: L = Kgroup ⊕ IDm,
// α = DES_L(Kuser), β = DES_α(L). It prints as redacted.
type DESAuth struct {
	L, Alpha, Beta DESKey
}

// NewDESAuth derives L, α and β.
func NewDESAuth(group, user DESKey, idm felica.IDm) DESAuth {
	var a DESAuth
	for i := range a.L {
		a.L[i] = group[i] ^ idm[i]
	}
	a.Alpha = desEncrypt(a.L, user)
	a.Beta = desEncrypt(a.Alpha, a.L)
	return a
}

// Challenge1A is the reader's challenge: 3DES_{α,L}(R1).
func (a DESAuth) Challenge1A(r1 [8]byte) [8]byte { return tdesEncrypt(a.Alpha, a.L, r1) }

// CheckAuth1 is the reader's check of the card's Authentication1 answer:
// Challenge 1B must be 3DES_{L,β}(R1) (constant time), else ErrAuthFailed.
// It returns Challenge 2B = 3DES_{α,L}(R2) and the session.
func (a DESAuth) CheckAuth1(r1 [8]byte, rsp felica.Auth1Response) ([8]byte, DESSession, error) {
	want := tdesEncrypt(a.L, a.Beta, r1)
	if subtle.ConstantTimeCompare(want[:], rsp.Challenge1B[:]) != 1 {
		return [8]byte{}, DESSession{}, fmt.Errorf("%w: challenge 1B", ErrAuthFailed)
	}
	r2 := tdesDecrypt(a.L, a.Beta, rsp.Challenge2A)
	defer clear(r2[:])
	return tdesEncrypt(a.Alpha, a.L, r2), NewDESSession(r1, r2), nil
}

// AnswerAuth1 is the card's side of Authentication1: it recovers R1 and
// returns it with Challenges 1B = 3DES_{L,β}(R1) and 2A = 3DES_{L,β}(R2).
func (a DESAuth) AnswerAuth1(c1a, r2 [8]byte) (r1, c1b, c2a [8]byte) {
	r1 = tdesDecrypt(a.Alpha, a.L, c1a)
	return r1, tdesEncrypt(a.L, a.Beta, r1), tdesEncrypt(a.L, a.Beta, r2)
}

// CheckChallenge2B is the card's check of Authentication2: Challenge 2B must
// be 3DES_{α,L}(R2); constant time.
func (a DESAuth) CheckChallenge2B(c2b, r2 [8]byte) bool {
	want := tdesEncrypt(a.Alpha, a.L, r2)
	return subtle.ConstantTimeCompare(want[:], c2b[:]) == 1
}

// Format prints the keys redacted, whatever the verb.
func (a DESAuth) Format(f fmt.State, _ rune) { fmt.Fprint(f, "DESAuth"+redacted) }

// LogValue keeps the keys out of structured logs.
func (DESAuth) LogValue() slog.Value { return slog.StringValue(redacted) }

// DESSession is the legacy secure-messaging state: the session key R2 (single
// DES) and TID = R1[2..7]. It prints as redacted.
type DESSession struct {
	Key DESKey
	TID [6]byte
}

// NewDESSession derives the session from the two challenges.
func NewDESSession(r1, r2 [8]byte) DESSession {
	s := DESSession{Key: r2}
	copy(s.TID[:], r1[2:8])
	return s
}

// Format prints the session redacted, whatever the verb.
func (s DESSession) Format(f fmt.State, _ rune) { fmt.Fprint(f, "DESSession"+redacted) }

// LogValue keeps the session out of structured logs.
func (DESSession) LogValue() slog.Value { return slog.StringValue(redacted) }

// Clear zeroes the session.
func (s *DESSession) Clear() { *s = DESSession{} }

// desMAC chains M0 = LEN CODE 00…00, Mi = DES_{Bi}(Mi-1) over the padded
// plaintext's blocks, each block serving as the key.
func desMAC(frameLen byte, code felica.Code, padded []byte) [8]byte {
	m := [8]byte{frameLen, byte(code)}
	for off := 0; off < len(padded); off += DESBlockSize {
		m = desEncrypt([8]byte(padded[off:off+DESBlockSize]), m)
	}
	return m
}

// Seal builds what follows the code in a DES secure frame (the Authentication2
// answer, Read 14/15, Write 16/17): P = TN (2, LE) TID payload, padded to 8
// bytes with k bytes of value k when it is not already, then the MAC, all
// encrypted with DES-CBC under the session key from a zero IV.
func (s DESSession) Seal(code felica.Code, tn uint16, payload []byte) ([]byte, error) {
	n := 8 + len(payload)
	pad := (DESBlockSize - n%DESBlockSize) % DESBlockSize
	if n+pad > MaxSealedDES {
		return nil, fmt.Errorf("%w: %d bytes of payload do not fit a frame", ErrMalformed, len(payload))
	}
	out := make([]byte, 0, n+pad+DESBlockSize)
	out = binary.LittleEndian.AppendUint16(out, tn)
	out = append(out, s.TID[:]...)
	out = append(out, payload...)
	for range pad {
		out = append(out, byte(pad))
	}
	mac := desMAC(byte(2+len(out)+DESBlockSize), code, out)
	out = append(out, mac[:]...)
	cipher.NewCBCEncrypter(newDES(s.Key), make([]byte, DESBlockSize)).CryptBlocks(out, out)
	return out, nil
}

// Open decrypts what follows the code in a DES secure frame, checks the MAC
// (constant time) and the TID, and returns the transaction number and the
// payload with its padding (the payload formats are self-delimiting; the
// padding cannot be told from data). sealed is not changed.
func (s DESSession) Open(code felica.Code, sealed []byte) (uint16, []byte, error) {
	if len(sealed) < 2*DESBlockSize || len(sealed)%DESBlockSize != 0 || len(sealed) > MaxSealedDES+DESBlockSize {
		return 0, nil, fmt.Errorf("%w: %d bytes of ciphertext", ErrMalformed, len(sealed))
	}
	plain := make([]byte, len(sealed))
	cipher.NewCBCDecrypter(newDES(s.Key), make([]byte, DESBlockSize)).CryptBlocks(plain, sealed)
	body, mac := plain[:len(plain)-DESBlockSize], plain[len(plain)-DESBlockSize:]
	want := desMAC(byte(2+len(sealed)), code, body)
	if subtle.ConstantTimeCompare(want[:], mac) != 1 || subtle.ConstantTimeCompare(body[2:8], s.TID[:]) != 1 {
		clear(plain)
		return 0, nil, fmt.Errorf("%w: %s", ErrBadMAC, code)
	}
	return binary.LittleEndian.Uint16(body[:2]), body[8:], nil
}

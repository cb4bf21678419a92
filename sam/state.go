package sam

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/secure"
)

// The sealed session state: what a SAM must remember between two calls (the
// session keys, the transaction number, TID and C3C, the node list), encrypted
// and authenticated with AES-256-GCM under a key derived from the sealing key.
//
//	blob  = version(1) nonce(12) GCM(state)   AAD: "tes-sam-state" version
//	state = phase framing issuer idm nodes alpha beta r1 kenc kmac tid c3c tn pending

const (
	stateVersion = 1
	nonceSize    = 12
	// SealKeySize is the size of a sealing key.
	SealKeySize = 32
	// maxPending bounds the commands sealed and not yet answered.
	maxPending = 32
)

var stateAAD = []byte("tes-sam-state\x01")

// phase is where the authentication stands.
type phase uint8

const (
	phaseAuth1   phase = 1 // Authentication1 v2 sent
	phaseAuth2   phase = 2 // Authentication2 v2 sent
	phaseSession phase = 3 // authenticated
)

// pending is a secure command sealed and not yet answered.
type pending struct {
	code felica.Code // the answer's code
	tn   uint16      // the command's TN
}

// state is the clear form of the sealed state; it lives only inside one call.
type state struct {
	phase   phase
	framing felica.Framing
	issuer  string
	idm     felica.IDm
	nodes   []felica.NodeCode
	auth    secure.AESAuth // phase 1
	r1      [16]byte       // phase 1
	session secure.AESSession
	tn      uint16 // the highest TN used or seen
	pending []pending
}

// clear zeroes the secrets.
func (s *state) clear() {
	s.auth = secure.AESAuth{}
	clear(s.r1[:])
	s.session.Clear()
}

// Format keeps the state out of prints.
func (s *state) Format(f fmt.State, _ rune) { fmt.Fprint(f, "sam.state[redacted]") }

func (s *state) marshal() []byte {
	b := make([]byte, 0, 160+len(s.issuer)+2*len(s.nodes)+3*len(s.pending))
	b = append(b, byte(s.phase), byte(s.framing), byte(len(s.issuer)))
	b = append(b, s.issuer...)
	b = append(b, s.idm[:]...)
	b = append(b, byte(len(s.nodes)))
	for _, n := range s.nodes {
		b = binary.LittleEndian.AppendUint16(b, uint16(n))
	}
	b = append(b, s.auth.Alpha[:]...)
	b = append(b, s.auth.Beta[:]...)
	b = append(b, s.r1[:]...)
	b = append(b, s.session.Kenc[:]...)
	b = append(b, s.session.Kmac[:]...)
	b = append(b, s.session.TID[:]...)
	b = append(b, s.session.C3C[:]...)
	b = binary.LittleEndian.AppendUint16(b, s.tn)
	b = append(b, byte(len(s.pending)))
	for _, p := range s.pending {
		b = append(b, byte(p.code))
		b = binary.LittleEndian.AppendUint16(b, p.tn)
	}
	return b
}

var errStateFormat = errors.New("state layout")

func (s *state) unmarshal(b []byte) error {
	take := func(n int) []byte {
		if n > len(b) {
			b = nil
			return nil
		}
		out := b[:n]
		b = b[n:]
		return out
	}
	head := take(3)
	if head == nil {
		return errStateFormat
	}
	s.phase, s.framing = phase(head[0]), felica.Framing(head[1])
	s.issuer = string(take(int(head[2])))
	copy(s.idm[:], take(8))
	nn := take(1)
	if nn == nil {
		return errStateFormat
	}
	s.nodes = make([]felica.NodeCode, nn[0])
	for i := range s.nodes {
		if v := take(2); v != nil {
			s.nodes[i] = felica.NodeCode(binary.LittleEndian.Uint16(v))
		}
	}
	for _, dst := range [][]byte{s.auth.Alpha[:], s.auth.Beta[:], s.r1[:], s.session.Kenc[:], s.session.Kmac[:], s.session.TID[:], s.session.C3C[:]} {
		copy(dst, take(len(dst)))
	}
	tn := take(2)
	np := take(1)
	if tn == nil || np == nil {
		return errStateFormat
	}
	s.tn = binary.LittleEndian.Uint16(tn)
	s.pending = make([]pending, np[0])
	for i := range s.pending {
		p := take(3)
		if p == nil {
			return errStateFormat
		}
		s.pending[i] = pending{code: felica.Code(p[0]), tn: binary.LittleEndian.Uint16(p[1:])}
	}
	if len(b) != 0 || s.phase < phaseAuth1 || s.phase > phaseSession {
		return errStateFormat
	}
	return nil
}

// sealer seals and opens states with one AEAD.
type sealer struct {
	aead cipher.AEAD
}

// newSealer derives the state key from the sealing key with HKDF-SHA256, so that
// the sealing key itself is used for nothing else.
func newSealer(sealKey []byte) (*sealer, error) {
	if len(sealKey) < SealKeySize {
		return nil, fmt.Errorf("%w: a sealing key needs at least %d bytes, got %d", ErrBadRequest, SealKeySize, len(sealKey))
	}
	k, err := hkdf.Key(sha256.New, sealKey, nil, "tes sam session state v1", 32)
	if err != nil {
		return nil, fmt.Errorf("sam: derive the state key: %w", err)
	}
	defer clear(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("sam: state cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sam: state cipher: %w", err)
	}
	return &sealer{aead: aead}, nil
}

func (z *sealer) seal(s *state) ([]byte, error) {
	plain := s.marshal()
	defer clear(plain)
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plain)+z.aead.Overhead())
	out[0] = stateVersion
	if _, err := rand.Read(out[1 : 1+nonceSize]); err != nil {
		return nil, fmt.Errorf("sam: state nonce: %w", err)
	}
	return z.aead.Seal(out, out[1:1+nonceSize], plain, stateAAD), nil
}

func (z *sealer) open(blob []byte) (*state, error) {
	if len(blob) < 1+nonceSize+z.aead.Overhead() || blob[0] != stateVersion {
		return nil, fmt.Errorf("%w: not a sealed state of version %d", ErrBadState, stateVersion)
	}
	plain, err := z.aead.Open(nil, blob[1:1+nonceSize], blob[1+nonceSize:], stateAAD)
	if err != nil {
		return nil, fmt.Errorf("%w: does not open under this SAM's sealing key", ErrBadState)
	}
	defer clear(plain)
	var s state
	if err := s.unmarshal(plain); err != nil {
		s.clear()
		return nil, fmt.Errorf("%w: %w", ErrBadState, err)
	}
	return &s, nil
}

// LoadSealKeyFile reads a sealing key (the --seal-key file): 64 hex digits or 32
// raw bytes, in a file readable by its owner only.
func LoadSealKeyFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("%w: seal key: %w", ErrKeyStore, err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: seal key %s has mode %04o, readable by others than its owner: chmod 600 it", ErrKeyStore, path, perm)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: seal key: %w", ErrKeyStore, err)
	}
	defer clear(raw)
	if text := bytes.TrimSpace(raw); len(text) == 2*SealKeySize {
		k := make([]byte, SealKeySize)
		if _, err := hex.Decode(k, text); err == nil {
			return k, nil
		}
		clear(k)
	}
	if len(raw) == SealKeySize {
		return append([]byte(nil), raw...), nil
	}
	return nil, fmt.Errorf("%w: seal key %s: want %d hex digits or %d bytes", ErrKeyStore, path, 2*SealKeySize, SealKeySize)
}

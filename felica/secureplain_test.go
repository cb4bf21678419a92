package felica_test

import (
	"bytes"
	"errors"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/tes-project/tes/felica"
)

// TestSecurePlainVectors parses the plaintexts of the FELICA-SECURE.md
// exchanges (decrypted with the session keys there) and builds them back.
func TestSecurePlainVectors(t *testing.T) {
	block0 := "E8030000000000000000000000000000"
	block1 := "0102030405060708090A0B0C0D0E0F10"
	tests := []struct {
		name   string
		plain  string
		padded bool
		parse  func([]byte, bool) (any, error)
		want   any
		// built is the plaintext the builder makes (without DES padding).
		built string
	}{
		{"AES read 1008 blocks 0,1", "02 8100 8101", false, plainReq, felica.SecureReadRequest{Blocks: []felica.BlockElement{{Service: 1}, {Service: 1, Block: 1}}}, ""},
		{"AES write block 1", "01 8101" + block1, false, plainWrite,
			felica.SecureWriteRequest{Blocks: []felica.BlockElement{{Service: 1, Block: 1}}, Data: unhex(t, block1)}, ""},
		{"AES write reply", "0000", false, plainWriteReply, felica.SecureWriteReply{}, ""},
		{"read reply 1 block", "0000 01" + block0, false, plainReadReply, felica.SecureReadReply{Data: unhex(t, block0)}, ""},
		{"read reply error", "01A8", false, plainReadReply, felica.SecureReadReply{Status: felica.Status{SF1: 1, SF2: 0xA8}}, ""},
		{"DES read, padded", "01 8000 0505050505", true, plainReq, felica.SecureReadRequest{Blocks: []felica.BlockElement{{}}}, "01 8000"},
		{"DES read reply, padded", "0000 01 E8030000000000000000000000000000 0505050505", true, plainReadReply,
			felica.SecureReadReply{Data: unhex(t, block0)}, "0000 01" + block0},
		{"DES write, padded", "01 8001" + block1 + "0505050505", true, plainWrite,
			felica.SecureWriteRequest{Blocks: []felica.BlockElement{{Block: 1}}, Data: unhex(t, block1)}, "01 8001" + block1},
		{"DES write reply, padded", "0000 060606060606", true, plainWriteReply, felica.SecureWriteReply{}, "0000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.parse(unhex(t, tc.plain), tc.padded)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("parse = %#v, want %#v", got, tc.want)
			}
			built, err := got.(plainAppender).AppendPlain([]byte("keep"))
			want := tc.built
			if want == "" {
				want = tc.plain
			}
			if err != nil || !bytes.Equal(built, append([]byte("keep"), unhex(t, want)...)) {
				t.Errorf("build = %X, %v; want keep + %s", built, err, want)
			}
		})
	}
}

type plainAppender interface {
	AppendPlain(dst []byte) ([]byte, error)
}

func plainReq(p []byte, padded bool) (any, error) { return felica.ParseSecureReadRequest(p, padded) }
func plainWrite(p []byte, padded bool) (any, error) {
	return felica.ParseSecureWriteRequest(p, padded)
}
func plainReadReply(p []byte, padded bool) (any, error) {
	return felica.ParseSecureReadReply(p, padded)
}
func plainWriteReply(p []byte, padded bool) (any, error) {
	return felica.ParseSecureWriteReply(p, padded)
}

// TestSecurePlainErrors: malformed plaintexts fail with a *FrameError whose
// offset counts from the plaintext's first byte; padding is allowed only when
// asked for, and only up to 7 bytes.
func TestSecurePlainErrors(t *testing.T) {
	tests := []struct {
		name   string
		plain  string
		padded bool
		parse  func([]byte, bool) (any, error)
		want   error
		offset int
	}{
		{"empty read", "", false, plainReq, felica.ErrTruncated, 0},
		{"read block list cut", "02 8100", false, plainReq, felica.ErrTruncated, 1},
		{"read trailing", "01 8100 05", false, plainReq, felica.ErrTrailingData, 3},
		{"read padding of 8", "01 8100 0808080808080808", true, plainReq, felica.ErrTrailingData, 3},
		{"write data short", "01 8100 0011", false, plainWrite, felica.ErrCountMismatch, 3},
		{"write data long", "01 8100 00112233445566778899AABBCCDDEEFF 00", false, plainWrite, felica.ErrCountMismatch, 3},
		{"read reply short data", "0000 02 00112233445566778899AABBCCDDEEFF", true, plainReadReply, felica.ErrCountMismatch, 3},
		{"write reply cut", "00", false, plainWriteReply, felica.ErrTruncated, 0},
		{"write reply trailing", "000000", false, plainWriteReply, felica.ErrTrailingData, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.parse(unhex(t, tc.plain), tc.padded)
			var fe *felica.FrameError
			if !errors.Is(err, tc.want) || !errors.As(err, &fe) || fe.Offset != tc.offset {
				t.Fatalf("err = %v, want %v at %d", err, tc.want, tc.offset)
			}
		})
	}
}

// TestSecurePlainBuildLimits: the builders refuse what no secure frame carries.
func TestSecurePlainBuildLimits(t *testing.T) {
	tests := []struct {
		name string
		v    plainAppender
		want error
	}{
		{"read no block", felica.SecureReadRequest{}, felica.ErrBlockCount},
		{"read 16 blocks", felica.SecureReadRequest{Blocks: elems(16)}, felica.ErrBlockCount},
		{"read node index 16", felica.SecureReadRequest{Blocks: []felica.BlockElement{{Service: 16}}}, felica.ErrServiceIndex},
		{"write 14 blocks", felica.SecureWriteRequest{Blocks: elems(14), Data: make([]byte, 14*16)}, felica.ErrBlockCount},
		{"write data short", felica.SecureWriteRequest{Blocks: elems(1), Data: make([]byte, 15)}, felica.ErrCountMismatch},
		{"read reply no data", felica.SecureReadReply{}, felica.ErrBlockCount},
		{"read reply 16 blocks", felica.SecureReadReply{Data: make([]byte, 16*16)}, felica.ErrBlockCount},
		{"read reply error with data", felica.SecureReadReply{Status: felica.Status{SF1: 1, SF2: 0xA8}, Data: make([]byte, 16)}, felica.ErrBlockCount},
	}
	for _, tc := range tests {
		got, err := tc.v.AppendPlain([]byte("keep"))
		if !errors.Is(err, tc.want) || string(got) != "keep" {
			t.Errorf("%s: %q, %v; want keep, %v", tc.name, got, err, tc.want)
		}
	}
}

// TestSecurePlainRoundTrip: parse(build(v)) == v, also with DES padding added.
func TestSecurePlainRoundTrip(t *testing.T) {
	check := func(name string, gen func(r *rand.Rand) plainAppender, parse func([]byte, bool) (any, error)) {
		property := func(seed int64, padded bool) bool {
			r := rand.New(rand.NewSource(seed))
			v := gen(r)
			p, err := v.AppendPlain(nil)
			if err != nil {
				t.Logf("%s: build %#v: %v", name, v, err)
				return false
			}
			if padded {
				for k := (8 - len(p)%8) % 8; k > 0; k-- {
					p = append(p, byte(r.Intn(256)))
				}
			}
			got, err := parse(p, padded)
			if err != nil || !reflect.DeepEqual(got, v) {
				t.Logf("%s: %X parsed as %#v, %v; built from %#v", name, p, got, err, v)
				return false
			}
			return true
		}
		if err := quick.Check(property, &quick.Config{MaxCount: 300}); err != nil {
			t.Error(name, err)
		}
	}
	check("read", func(r *rand.Rand) plainAppender {
		return felica.SecureReadRequest{Blocks: genBlocks(r, 16, 1, 15)}
	}, plainReq)
	check("write", func(r *rand.Rand) plainAppender {
		b := genBlocks(r, 16, 1, 13)
		return felica.SecureWriteRequest{Blocks: b, Data: genBytes(r, 16*len(b))}
	}, plainWrite)
	check("read reply", func(r *rand.Rand) plainAppender {
		v := felica.SecureReadReply{Status: genStatus(r)}
		if v.Status.OK() {
			v.Data = genBytes(r, 16*(1+r.Intn(15)))
		}
		return v
	}, plainReadReply)
	check("write reply", func(r *rand.Rand) plainAppender {
		return felica.SecureWriteReply{Status: genStatus(r)}
	}, plainWriteReply)
}

package felica_test

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
)

// appender is what every command and response struct is.
type appender interface {
	Append(dst []byte, f felica.Framing) ([]byte, error)
}

// parseFunc parses a frame into its struct; responses are checked against testIDm.
type parseFunc func(frame []byte, f felica.Framing) (appender, error)

var testIDm = felica.IDm{1, 2, 3, 4, 5, 6, 7, 8}

// unhex decodes hex written with spaces and an "I" for testIDm, as FELICA.md
// writes it; a leading "LL" becomes the right LEN byte.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	s = strings.ReplaceAll(s, "I", "0102030405060708")
	s = strings.ReplaceAll(s, " ", "")
	fixLEN := strings.HasPrefix(s, "LL")
	if fixLEN {
		s = "00" + s[2:]
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	if fixLEN {
		b[0] = byte(len(b))
	}
	return b
}

// mac8 decodes an 8-byte MAC.
func mac8(t testing.TB, s string) [felica.SecureMACSize]byte {
	return [felica.SecureMACSize]byte(unhex(t, s))
}

func pc[T appender](fn func([]byte, felica.Framing) (T, error)) parseFunc {
	return func(b []byte, f felica.Framing) (appender, error) { return fn(b, f) }
}

func pr[T appender](fn func([]byte, felica.Framing, felica.IDm) (T, error)) parseFunc {
	return func(b []byte, f felica.Framing) (appender, error) { return fn(b, f, testIDm) }
}

var (
	readData = "10010100010000000000000000100023 D1020B5370D1010755036162 2E636F6D"
	write32  = strings.Repeat("00112233445566778899AABBCCDDEEFF", 2)
)

// vectors are the frames of FELICA.md with the structs they stand for.
func vectors(t testing.TB) []struct {
	name  string
	frame []byte
	parse parseFunc
	want  appender
} {
	idmSpec, _ := felica.ParseIDm("0123456789ABCDEF")
	idmReset, _ := felica.ParseIDm("01020304050607FF")
	ff := felica.PMm{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	return []struct {
		name  string
		frame []byte
		parse parseFunc
		want  appender
	}{
		{"polling any system", unhex(t, "0600FFFF0000"), pc(felica.ParsePollingCommand),
			felica.PollingCommand{SystemCode: 0xFFFF}},
		{"polling response", unhex(t, "1201 I FFFFFFFFFFFFFFFF"), pc(felica.ParsePollingResponse),
			felica.PollingResponse{IDm: testIDm, PMm: ff}},
		{"polling system code asked", unhex(t, "0600FFFF0100"), pc(felica.ParsePollingCommand),
			felica.PollingCommand{SystemCode: 0xFFFF, RequestCode: felica.RequestSystemCode}},
		{"polling response with system code", unhex(t, "1401 I FFFFFFFFFFFFFFFF 12FC"), pc(felica.ParsePollingResponse),
			felica.PollingResponse{IDm: testIDm, PMm: ff, RequestData: 0x12FC, HasRequestData: true}},
		{"polling response with request data", unhex(t, "1401014011111111B66001188B868FBECBFFFE00"), pc(felica.ParsePollingResponse),
			felica.PollingResponse{IDm: felica.IDm{0x01, 0x40, 0x11, 0x11, 0x11, 0x11, 0xB6, 0x60},
				PMm: felica.PMm{0x01, 0x18, 0x8B, 0x86, 0x8F, 0xBE, 0xCB, 0xFF}, RequestData: 0xFE00, HasRequestData: true}},
		{"request service", unhex(t, "0F02 I 02 0900 4900"), pc(felica.ParseRequestServiceCommand),
			felica.RequestServiceCommand{IDm: testIDm, Nodes: []felica.NodeCode{0x0009, 0x0049}}},
		{"request service response", unhex(t, "0F03 I 02 0100 1100"), pr(felica.ParseRequestServiceResponse),
			felica.RequestServiceResponse{IDm: testIDm, KeyVersions: []uint16{0x0001, 0x0011}}},
		{"request service node absent", unhex(t, "0D03 I 01 FFFF"), pr(felica.ParseRequestServiceResponse),
			felica.RequestServiceResponse{IDm: testIDm, KeyVersions: []uint16{felica.KeyVersionNone}}},
		{"request response", unhex(t, "0A04 I"), pc(felica.ParseRequestResponseCommand),
			felica.RequestResponseCommand{IDm: testIDm}},
		{"request response response", unhex(t, "0B05 I 00"), pr(felica.ParseRequestResponseResponse),
			felica.RequestResponseResponse{IDm: testIDm}},
		{"read 000B blocks 0,1", unhex(t, "1206 I 01 0B00 02 8000 8001"), pc(felica.ParseReadCommand),
			felica.ReadCommand{IDm: testIDm, Services: []felica.NodeCode{0x000B}, Blocks: []felica.BlockElement{{Block: 0}, {Block: 1}}}},
		{"read response", unhex(t, "2D07 I 0000 02"+readData), pr(felica.ParseReadResponse),
			felica.ReadResponse{IDm: testIDm, Data: unhex(t, readData)}},
		{"read two list entries", unhex(t, "1406 I 02 0B00 0B00 02 8000 8101"), pc(felica.ParseReadCommand),
			felica.ReadCommand{IDm: testIDm, Services: []felica.NodeCode{0x000B, 0x000B}, Blocks: []felica.BlockElement{{Block: 0}, {Service: 1, Block: 1}}}},
		{"read block 0 of 2nd service", unhex(t, "1206 I 02 0B00 4B00 01 8100"), pc(felica.ParseReadCommand),
			felica.ReadCommand{IDm: testIDm, Services: []felica.NodeCode{0x000B, 0x004B}, Blocks: []felica.BlockElement{{Service: 1}}}},
		{"read error response", unhex(t, "0C07 I 01A6"), pr(felica.ParseReadResponse),
			felica.ReadResponse{IDm: testIDm, Status: felica.Status{SF1: 1, SF2: 0xA6}}},
		{"write 0009 blocks 0,1", unhex(t, "3208 I 01 0900 02 8000 8001"+write32), pc(felica.ParseWriteCommand),
			felica.WriteCommand{IDm: testIDm, Services: []felica.NodeCode{0x0009}, Blocks: []felica.BlockElement{{Block: 0}, {Block: 1}}, Data: unhex(t, write32)}},
		{"write two services", unhex(t, "3408 I 02 0900 4900 02 8000 8101"+write32), pc(felica.ParseWriteCommand),
			felica.WriteCommand{IDm: testIDm, Services: []felica.NodeCode{0x0009, 0x0049}, Blocks: []felica.BlockElement{{Block: 0}, {Service: 1, Block: 1}}, Data: unhex(t, write32)}},
		{"write one block", unhex(t, "2008 I 01 0B00 01 8000 00112233445566778899AABBCCDDEEFF"), pc(felica.ParseWriteCommand),
			felica.WriteCommand{IDm: testIDm, Services: []felica.NodeCode{0x000B}, Blocks: []felica.BlockElement{{}}, Data: unhex(t, "00112233445566778899AABBCCDDEEFF")}},
		{"write ok", unhex(t, "0C09 I 0000"), pr(felica.ParseWriteResponse),
			felica.WriteResponse{IDm: testIDm}},
		{"write error", unhex(t, "0C09 I 01A1"), pr(felica.ParseWriteResponse),
			felica.WriteResponse{IDm: testIDm, Status: felica.Status{SF1: 0x01, SF2: felica.SF2ServiceCount}}},
		{"search index 0", unhex(t, "0C0A I 0000"), pc(felica.ParseSearchServiceCodeCommand),
			felica.SearchServiceCodeCommand{IDm: testIDm}},
		{"search root area", unhex(t, "0E0B I 0000 FEFF"), pr(felica.ParseSearchServiceCodeResponse),
			felica.SearchServiceCodeResponse{IDm: testIDm, Node: 0x0000, End: 0xFFFE}},
		{"search index 1", unhex(t, "0C0A I 0100"), pc(felica.ParseSearchServiceCodeCommand),
			felica.SearchServiceCodeCommand{IDm: testIDm, Index: 1}},
		{"search service", unhex(t, "0C0B I 0900"), pr(felica.ParseSearchServiceCodeResponse),
			felica.SearchServiceCodeResponse{IDm: testIDm, Node: 0x0009}},
		{"search past the end", unhex(t, "0C0A I 0010"), pc(felica.ParseSearchServiceCodeCommand),
			felica.SearchServiceCodeCommand{IDm: testIDm, Index: 0x1000}},
		{"search end of list", unhex(t, "0C0B I FFFF"), pr(felica.ParseSearchServiceCodeResponse),
			felica.SearchServiceCodeResponse{IDm: testIDm, Node: felica.SystemNode}},
		{"request system code", unhex(t, "0A0C I"), pc(felica.ParseRequestSystemCodeCommand),
			felica.RequestSystemCodeCommand{IDm: testIDm}},
		{"request system code response", unhex(t, "0F0D I 02 0000 12FC"), pr(felica.ParseRequestSystemCodeResponse),
			felica.RequestSystemCodeResponse{IDm: testIDm, SystemCodes: []felica.SystemCode{0x0000, 0x12FC}}},
		{"request spec version", unhex(t, "0C3C 0123456789ABCDEF 0000"), pc(felica.ParseRequestSpecVersionCommand),
			felica.RequestSpecVersionCommand{IDm: idmSpec}},
		{"request spec version response", unhex(t, "123D 0123456789ABCDEF 0000 00 0085 01 0085"),
			func(b []byte, f felica.Framing) (appender, error) {
				return felica.ParseRequestSpecVersionResponse(b, f, idmSpec)
			},
			felica.RequestSpecVersionResponse{IDm: idmSpec, BasicVersion: 0x8500, OptionVersions: []uint16{0x8500}}},
		{"reset mode", unhex(t, "0C3E 01020304050607FF 0000"), pc(felica.ParseResetModeCommand),
			felica.ResetModeCommand{IDm: idmReset}},
		{"reset mode ok", unhex(t, "0C3F 01020304050607FF 0000"),
			func(b []byte, f felica.Framing) (appender, error) {
				return felica.ParseResetModeResponse(b, f, idmReset)
			},
			felica.ResetModeResponse{IDm: idmReset}},
		{"reset mode error", unhex(t, "0C3F 01020304050607FF 0102"),
			func(b []byte, f felica.Framing) (appender, error) {
				return felica.ParseResetModeResponse(b, f, idmReset)
			},
			felica.ResetModeResponse{IDm: idmReset, Status: felica.Status{SF1: 0x01, SF2: 0x02}}},
		{"authentication1", unhex(t, "1810 I 01 0010 01 0008 1122334455667788"), pc(felica.ParseAuth1Command),
			felica.Auth1Command{IDm: testIDm, Areas: []felica.NodeCode{0x1000}, Services: []felica.NodeCode{0x0800},
				Challenge1A: [8]byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}}},
		{"authentication1 response", unhex(t, "1A11 I AABBCCDDEEFF0011 1133557799BBDDFF"), pr(felica.ParseAuth1Response),
			felica.Auth1Response{IDm: testIDm, Challenge1B: [8]byte{0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00, 0x11},
				Challenge2A: [8]byte{0x11, 0x33, 0x55, 0x77, 0x99, 0xBB, 0xDD, 0xFF}}},
		// FELICA-SECURE.md and felica-secure-vectors.txt: the full AES and DES exchanges.
		{"read v2 (FELICA-SECURE)", unhex(t, "11440100A60B00F83FC477FB126B837F16"), pc(felica.ParseReadV2Command),
			felica.ReadV2Command{Transaction: 1, Payload: unhex(t, "A60B00F83F"), MAC: mac8(t, "C477FB126B837F16")}},
		{"read v2 response", unhex(t, "2F450200CF40B5FFE349D428D787B13066E946B99313D9D0A4ECAEA49713500B09278A43B3EEFAC2AD0F3B1FC1B775"), pc(felica.ParseReadV2Response),
			felica.ReadV2Response{Transaction: 2, Payload: unhex(t, "CF40B5FFE349D428D787B13066E946B99313D9D0A4ECAEA49713500B09278A43B3EEFA"), MAC: mac8(t, "C2AD0F3B1FC1B775")}},
		{"write v2", unhex(t, "1F4603005881EF4A297FAE8DD9DE8A6FFF5F0AFD7BF96292D92ECAFA6F4BAC"), pc(felica.ParseWriteV2Command),
			felica.WriteV2Command{Transaction: 3, Payload: unhex(t, "5881EF4A297FAE8DD9DE8A6FFF5F0AFD7BF962"), MAC: mac8(t, "92D92ECAFA6F4BAC")}},
		{"write v2 response", unhex(t, "0E4704008875B92F88DC7C05F7D9"), pc(felica.ParseWriteV2Response),
			felica.WriteV2Response{Transaction: 4, Payload: [2]byte{0x88, 0x75}, MAC: mac8(t, "B92F88DC7C05F7D9")}},
		{"second read v2", unhex(t, "0F44050097ADA7C6CD44F12390F43F"), pc(felica.ParseReadV2Command),
			felica.ReadV2Command{Transaction: 5, Payload: unhex(t, "97ADA7"), MAC: mac8(t, "C6CD44F12390F43F")}},
		{"second read v2 response", unhex(t, "1F450600573AF0133E43E414AFA62FA741EF77151FEEA174F62CFE2FDC9A83"), pc(felica.ParseReadV2Response),
			felica.ReadV2Response{Transaction: 6, Payload: unhex(t, "573AF0133E43E414AFA62FA741EF77151FEEA1"), MAC: mac8(t, "74F62CFE2FDC9A83")}},
		{"read (DES)", unhex(t, "1A1444848E2B9A6262A8DE8FF68CB3A23B734B34E4D5D8EE5E69"), pc(felica.ParseReadDESCommand),
			felica.ReadDESCommand{Encrypted: unhex(t, "44848E2B9A6262A8DE8FF68CB3A23B734B34E4D5D8EE5E69")}},
		{"read (DES) response", unhex(t, "2A15D905F4366602AA612A1EE6041020BCBAB2A23EDEF4BB08DE613176FC66A67FBFEC8157EE19342FA4"), pc(felica.ParseReadDESResponse),
			felica.ReadDESResponse{Encrypted: unhex(t, "D905F4366602AA612A1EE6041020BCBAB2A23EDEF4BB08DE613176FC66A67FBFEC8157EE19342FA4")}},
		{"write (DES)", unhex(t, "2A16CD5E93B6250722597DC90ADC1F93F04BF70E82ADE9E8F27C11D1B28B1CC3F77DB54DEE02554D938B"), pc(felica.ParseWriteDESCommand),
			felica.WriteDESCommand{Encrypted: unhex(t, "CD5E93B6250722597DC90ADC1F93F04BF70E82ADE9E8F27C11D1B28B1CC3F77DB54DEE02554D938B")}},
		{"write (DES) response", unhex(t, "1A17C53E99D455AF2120BDC66C30E86738DCA8AD8A215FE2D443"), pc(felica.ParseWriteDESResponse),
			felica.WriteDESResponse{Encrypted: unhex(t, "C53E99D455AF2120BDC66C30E86738DCA8AD8A215FE2D443")}},
		{"authentication1 v2 (FELICA-SECURE)", unhex(t, "20400102030405060708000200100810CCB23F9A3903C56D412AB62C7ABEE49D"), pc(felica.ParseAuth1V2Command),
			felica.Auth1V2Command{IDm: testIDm, Nodes: []felica.NodeCode{0x1000, 0x1008}, Challenge1A: [16]byte(unhex(t, "CCB23F9A3903C56D412AB62C7ABEE49D"))}},
		{"authentication1 v2 response", unhex(t, "2E4101020304050607080EEAE93ECD15ABF7A15DBB1D9EB0E93BBF6E126B8618BF56EFA1F703A4B657A0A1B2C3D4"), pr(felica.ParseAuth1V2Response),
			felica.Auth1V2Response{IDm: testIDm, Challenge1B: [16]byte(unhex(t, "0EEAE93ECD15ABF7A15DBB1D9EB0E93B")), Challenge2A: [16]byte(unhex(t, "BF6E126B8618BF56EFA1F703A4B657A0")), Challenge3C: [4]byte{0xA1, 0xB2, 0xC3, 0xD4}}},
		{"authentication2 v2", unhex(t, "1A420102030405060708CF63A2914893FC00B7D676C3D35A333B"), pc(felica.ParseAuth2V2Command),
			felica.Auth2V2Command{IDm: testIDm, Challenge2B: [16]byte(unhex(t, "CF63A2914893FC00B7D676C3D35A333B"))}},
		{"authentication2 v2 response", unhex(t, "1C430000F055ACF8FEFC10F16DA44E9BE174E20B99BE0C915CEC9547"), pc(felica.ParseAuth2V2Response),
			felica.Auth2V2Response{Payload: [16]byte(unhex(t, "F055ACF8FEFC10F16DA44E9BE174E20B")), MAC: mac8(t, "99BE0C915CEC9547")}},
		{"authentication1 (DES, FELICA-SECURE)", unhex(t, "18100102030405060708010000010810865BC144885A2CD8"), pc(felica.ParseAuth1Command),
			felica.Auth1Command{IDm: testIDm, Areas: []felica.NodeCode{0x0000}, Services: []felica.NodeCode{0x1008}, Challenge1A: [8]byte(unhex(t, "865BC144885A2CD8"))}},
		{"authentication1 (DES) response", unhex(t, "1A1101020304050607083E8ECC5F860FA4FA9DCFD53AE26EA0F7"), pr(felica.ParseAuth1Response),
			felica.Auth1Response{IDm: testIDm, Challenge1B: [8]byte(unhex(t, "3E8ECC5F860FA4FA")), Challenge2A: [8]byte(unhex(t, "9DCFD53AE26EA0F7"))}},
		{"authentication2 (DES)", unhex(t, "12120102030405060708CE66781535DA8DC2"), pc(felica.ParseAuth2Command),
			felica.Auth2Command{IDm: testIDm, Challenge2B: [8]byte(unhex(t, "CE66781535DA8DC2"))}},
		{"authentication2 (DES) response", unhex(t, "2213D72EF5D8ECCF192735E0B8DF57D5841C50DCA9D1C5BC13F8DADAE7D247967E14"), pc(felica.ParseAuth2Response),
			felica.Auth2Response{Encrypted: [32]byte(unhex(t, "D72EF5D8ECCF192735E0B8DF57D5841C50DCA9D1C5BC13F8DADAE7D247967E14"))}},
	}
}

// TestVectors parses each FELICA.md frame into its struct and builds the
// struct back into the same bytes, with and without LEN.
func TestVectors(t *testing.T) {
	for _, v := range vectors(t) {
		t.Run(v.name, func(t *testing.T) {
			for _, tc := range []struct {
				f     felica.Framing
				frame []byte
			}{{felica.WithLEN, v.frame}, {felica.WithoutLEN, v.frame[1:]}} {
				got, err := v.parse(tc.frame, tc.f)
				if err != nil {
					t.Fatalf("%s: parse: %v", tc.f, err)
				}
				if !reflect.DeepEqual(got, v.want) {
					t.Errorf("%s: parse =\n%#v\nwant\n%#v", tc.f, got, v.want)
				}
				prefix := []byte("keep")
				built, err := v.want.Append(prefix, tc.f)
				if err != nil {
					t.Fatalf("%s: build: %v", tc.f, err)
				}
				if !bytes.Equal(built[:4], []byte("keep")) || !bytes.Equal(built[4:], tc.frame) {
					t.Errorf("%s: build = %X, want keep + %X", tc.f, built, tc.frame)
				}
			}
		})
	}
}

// TestVectorsLEN checks that each vector's LEN byte is its length, so a
// typo in the table cannot pass as a codec property.
func TestVectorsLEN(t *testing.T) {
	for _, v := range vectors(t) {
		if int(v.frame[0]) != len(v.frame) {
			t.Errorf("%s: LEN %d, %d bytes", v.name, v.frame[0], len(v.frame))
		}
	}
}

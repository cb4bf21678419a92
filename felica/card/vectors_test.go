package card_test

import (
	"bytes"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
)

// vectorLayout is the card FELICA.md's vectors talk to: system 12FC, PMm all FF,
// service 0x0009/0x000B (key version 0001) and 0x0049/0x004B (0011), two blocks each.
func vectorLayout() card.Layout {
	return card.Layout{
		SystemCode: 0x12FC,
		PMm:        felica.PMm{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},
		Areas:      []card.Area{{Code: 0x0000, End: 0xFFFE}},
		Services: []card.Service{
			{Name: "a", Number: 0, Kind: card.KindRandom, ReadWrite: 0x0009, ReadOnly: 0x000B, Blocks: 2, KeyVersion: 0x0001},
			{Name: "b", Number: 1, Kind: card.KindRandom, ReadWrite: 0x0049, ReadOnly: 0x004B, Blocks: 2, KeyVersion: 0x0011},
		},
	}
}

func vectorCard(t *testing.T, idm string) *card.Card {
	t.Helper()
	img := card.Image{IDm: mustIDm(t, idm), Blocks: map[string][][felica.BlockSize]byte{
		"a": {
			[16]byte(unhex(t, "10010100010000000000000000100023")),
			[16]byte(unhex(t, "D1020B5370D10107550361622E636F6D")),
		},
		"b": {[16]byte(record(0xB0))},
	}}
	c, err := card.New(vectorLayout(), img, card.Settings{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// TestFELICAVectors replays the vectors of FELICA.md byte for byte.
func TestFELICAVectors(t *testing.T) {
	const data32 = "00112233445566778899AABBCCDDEEFF FFEEDDCCBBAA99887766554433221100"
	tests := []struct {
		name, idm, command, response string
	}{
		{"polling any system", "0102030405060708", "0600FFFF0000", "12010102030405060708FFFFFFFFFFFFFFFF"},
		{"polling system code asked", "0102030405060708", "0600FFFF0100", "14010102030405060708FFFFFFFFFFFFFFFF12FC"},
		{"polling own system", "0102030405060708", "060012FC0000", "12010102030405060708FFFFFFFFFFFFFFFF"},
		{"request service", "0102030405060708", "0F02 I 02 0900 4900", "0F03 I 02 0100 1100"},
		{"request service node absent", "0102030405060708", "0D02 I 01 0902", "0D03 I 01 FFFF"},
		{"request service root area", "0102030405060708", "0D02 I 01 0000", "0D03 I 01 0000"},
		{"request response", "0102030405060708", "0A04 I", "0B05 I 00"},
		{"read 000B blocks 0,1", "0102030405060708", "1206 I 01 0B00 02 8000 8001",
			"2D07 I 0000 02 10010100010000000000000000100023 D1020B5370D10107550361622E636F6D"},
		{"read two list entries", "0102030405060708", "1406 I 02 0B00 0B00 02 8000 8101",
			"2D07 I 0000 02 10010100010000000000000000100023 D1020B5370D10107550361622E636F6D"},
		{"read block 0 of the 2nd service", "0102030405060708", "1206 I 02 0B00 4B00 01 8100",
			"1D07 I 0000 01 B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0B0"},
		{"read 3-byte element", "0102030405060708", "1106 I 01 0B00 01 000001", "0C07 I 01A8"},
		{"write 0009 blocks 0,1", "0102030405060708", "3208 I 01 0900 02 8000 8001" + data32, "0C09 I 0000"},
		{"write two services", "0102030405060708", "3408 I 02 0900 4900 02 8000 8101" + data32, "0C09 I 0000"},
		{"write one block to read-only", "0102030405060708", "2008 I 01 0B00 01 8000 00112233445566778899AABBCCDDEEFF", "0C09 I 01A5"},
		{"search index 0", "0102030405060708", "0C0A I 0000", "0E0B I 0000 FEFF"},
		{"search index 1", "0102030405060708", "0C0A I 0100", "0C0B I 0900"},
		{"search index 4", "0102030405060708", "0C0A I 0400", "0C0B I 4B00"},
		{"search past the end", "0102030405060708", "0C0A I 0010", "0C0B I FFFF"},
		{"request system code", "0102030405060708", "0A0C I", "0D0D I 01 12FC"},
		{"request specification version", "0123456789ABCDEF", "0C3C 0123456789ABCDEF 0000", "123D 0123456789ABCDEF 0000 00 0085 01 0085"},
		{"reset mode", "01020304050607FF", "0C3E 01020304050607FF 0000", "0C3F 01020304050607FF 0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := vectorCard(t, tt.idm)
			got := answer(t, c, unhex(t, tt.command))
			if want := unhex(t, tt.response); !bytes.Equal(got, want) {
				t.Errorf("answer\n got % X\nwant % X", got, want)
			}
		})
	}
}

// TestFELICAVectorWritesLand checks that the vector writes change the blocks they name.
func TestFELICAVectorWritesLand(t *testing.T) {
	c := vectorCard(t, "0102030405060708")
	answer(t, c, unhex(t, "3408 I 02 0900 4900 02 8000 8101 "+
		"00112233445566778899AABBCCDDEEFF FFEEDDCCBBAA99887766554433221100"))
	if got := block(t, c, "a", 0); !bytes.Equal(got, unhex(t, "00112233445566778899AABBCCDDEEFF")) {
		t.Errorf("a[0] = % X", got)
	}
	if got := block(t, c, "004B", 1); !bytes.Equal(got, unhex(t, "FFEEDDCCBBAA99887766554433221100")) {
		t.Errorf("b[1] = % X", got)
	}
	if got := block(t, c, "a", 1); !bytes.Equal(got, unhex(t, "D1020B5370D10107550361622E636F6D")) {
		t.Errorf("a[1] changed: % X", got)
	}
}

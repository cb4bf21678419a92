package felica_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/tes-project/tes/felica"
)

// TestBlockElementEncoding checks the FELICA.md element examples by building a
// Read of two services with the one element and parsing it back.
func TestBlockElementEncoding(t *testing.T) {
	tests := []struct {
		elem felica.BlockElement
		want string
	}{
		{felica.BlockElement{Block: 12}, "800C"},
		{felica.BlockElement{Block: 12, Access: 3}, "B00C"},
		{felica.BlockElement{Block: 12, Access: 3, Service: 1}, "B10C"},
		{felica.BlockElement{Block: 255}, "80FF"},
		{felica.BlockElement{Block: 256}, "000001"},
		{felica.BlockElement{Block: 256, Access: 3, Service: 1}, "310001"},
		{felica.BlockElement{Block: 65535}, "00FFFF"},
		{felica.BlockElement{Block: 7, Access: felica.AccessKeyChange, Service: 15}, "CF07"},
	}
	services := make([]felica.NodeCode, 16)
	for _, tc := range tests {
		cmd := felica.ReadCommand{IDm: testIDm, Services: services, Blocks: []felica.BlockElement{tc.elem}}
		frame, err := cmd.Append(nil, felica.WithLEN)
		if err != nil {
			t.Fatalf("%v: %v", tc.elem, err)
		}
		want := unhex(t, tc.want)
		if tail := frame[len(frame)-len(want):]; !bytes.Equal(tail, want) {
			t.Errorf("%v encodes as %X, want %X", tc.elem, tail, want)
		}
		if tc.elem.EncodedLen() != len(want) {
			t.Errorf("%v EncodedLen %d, want %d", tc.elem, tc.elem.EncodedLen(), len(want))
		}
		back, err := felica.ParseReadCommand(frame, felica.WithLEN)
		if err != nil || !reflect.DeepEqual(back.Blocks, cmd.Blocks) {
			t.Errorf("%v parses back as %v, %v", tc.elem, back.Blocks, err)
		}
	}
}

// TestBlockElementLongFormOfSmallBlock: the 3-byte form of block 1 parses.
func TestBlockElementLongFormOfSmallBlock(t *testing.T) {
	cmd, err := felica.ParseReadCommand(unhex(t, "LL06 I 01 0B00 01 000100"), felica.WithLEN)
	if err != nil {
		t.Fatal(err)
	}
	if want := []felica.BlockElement{{Block: 1}}; !reflect.DeepEqual(cmd.Blocks, want) {
		t.Errorf("Blocks = %v, want %v", cmd.Blocks, want)
	}
}

// TestCommandParsersLeaveLimitsToTheCard: counts and indexes the builder
// refuses still parse, so the card can answer A1/A2/A3.
func TestCommandParsersLeaveLimitsToTheCard(t *testing.T) {
	frames := map[string]string{
		"service index past the list": "LL06 I 01 0B00 01 8300",
		"no services":                 "LL06 I 00 01 8000",
		"17 services":                 "LL06 I 11" + string(bytes.Repeat([]byte("0B00"), 17)) + "01 8000",
		"16 blocks":                   "LL06 I 01 0B00 10" + string(bytes.Repeat([]byte("8000"), 16)),
		"access mode 7":               "LL06 I 01 0B00 01 F000",
	}
	for name, frame := range frames {
		if _, err := felica.ParseReadCommand(unhex(t, frame), felica.WithLEN); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

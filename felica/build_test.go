package felica_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/tes-project/tes/felica"
)

func nodes(n int) []felica.NodeCode { return make([]felica.NodeCode, n) }

func elems(n int) []felica.BlockElement { return make([]felica.BlockElement, n) }

// TestBuildLimits checks that builders refuse what the format or FELICA.md's
// limits forbid, and leave dst as it was.
func TestBuildLimits(t *testing.T) {
	tests := []struct {
		name string
		cmd  appender
		want error
	}{
		{"read no service", felica.ReadCommand{Services: nodes(0), Blocks: elems(1)}, felica.ErrServiceCount},
		{"read 17 services", felica.ReadCommand{Services: nodes(17), Blocks: elems(1)}, felica.ErrServiceCount},
		{"read no block", felica.ReadCommand{Services: nodes(1)}, felica.ErrBlockCount},
		{"read 16 blocks", felica.ReadCommand{Services: nodes(1), Blocks: elems(16)}, felica.ErrBlockCount},
		{"read service index past list", felica.ReadCommand{Services: nodes(2), Blocks: []felica.BlockElement{{Service: 2}}}, felica.ErrServiceIndex},
		{"read access mode 8", felica.ReadCommand{Services: nodes(1), Blocks: []felica.BlockElement{{Access: 8}}}, felica.ErrAccessMode},
		{"write 14 blocks", felica.WriteCommand{Services: nodes(1), Blocks: elems(14), Data: make([]byte, 14*16)}, felica.ErrBlockCount},
		{"write data short", felica.WriteCommand{Services: nodes(1), Blocks: elems(2), Data: make([]byte, 31)}, felica.ErrCountMismatch},
		{"write 13 blocks 16 services", felica.WriteCommand{Services: nodes(16), Blocks: elems(13), Data: make([]byte, 13*16)}, felica.ErrFrameTooLong},
		{"request service 0 nodes", felica.RequestServiceCommand{}, felica.ErrServiceCount},
		{"request service 33 nodes", felica.RequestServiceCommand{Nodes: nodes(33)}, felica.ErrServiceCount},
		{"request service v2 33 nodes", felica.RequestServiceV2Command{Nodes: nodes(33)}, felica.ErrServiceCount},
		{"request service response 0", felica.RequestServiceResponse{}, felica.ErrServiceCount},
		{"v2 response DES count", felica.RequestServiceV2Response{AESKeyVersions: []uint16{1}, DESKeyVersions: []uint16{}}, felica.ErrCountMismatch},
		{"polling time slot 2", felica.PollingCommand{TimeSlot: 2}, felica.ErrBadParameter},
		{"read response 15.5 blocks", felica.ReadResponse{Data: make([]byte, 24)}, felica.ErrBlockCount},
		{"read response ok without data", felica.ReadResponse{}, felica.ErrBlockCount},
		{"read response error with data", felica.ReadResponse{Status: felica.Status{SF1: 1, SF2: 0xA8}, Data: make([]byte, 16)}, felica.ErrBlockCount},
		{"read response 16 blocks", felica.ReadResponse{Data: make([]byte, 16*16)}, felica.ErrFrameTooLong},
		{"search end for a service", felica.SearchServiceCodeResponse{Node: 0x0009, End: 0x00FF}, felica.ErrMalformed},
		{"mode 4", felica.RequestResponseResponse{Mode: 4}, felica.ErrBadParameter},
		{"no system codes", felica.RequestSystemCodeResponse{}, felica.ErrCountMismatch},
		{"auth1 no nodes", felica.Auth1Command{}, felica.ErrServiceCount},
		{"auth1 17 nodes", felica.Auth1Command{Areas: nodes(1), Services: nodes(16)}, felica.ErrServiceCount},
		{"auth1 v2 no nodes", felica.Auth1V2Command{}, felica.ErrServiceCount},
	}
	for _, tc := range tests {
		for _, f := range []felica.Framing{felica.WithLEN, felica.WithoutLEN} {
			dst := []byte("keep")
			out, err := tc.cmd.Append(dst, f)
			if !errors.Is(err, tc.want) {
				t.Errorf("%s (%s): err = %v, want %v", tc.name, f, err, tc.want)
			}
			var fe *felica.FrameError
			if !errors.As(err, &fe) || fe.Offset != -1 {
				t.Errorf("%s (%s): %v is not a build *FrameError", tc.name, f, err)
			}
			if !bytes.Equal(out, []byte("keep")) {
				t.Errorf("%s (%s): dst became %q", tc.name, f, out)
			}
		}
	}
}

// TestBuildAtTheLimits: the largest frames FELICA.md allows do build, and
// the framing without LEN is one byte shorter.
func TestBuildAtTheLimits(t *testing.T) {
	tests := []struct {
		name string
		cmd  appender
		len  int
	}{
		{"read 15 blocks", felica.ReadCommand{Services: nodes(1), Blocks: elems(15)}, 1 + 1 + 8 + 1 + 2 + 1 + 30},
		{"read 16 services", felica.ReadCommand{Services: nodes(16), Blocks: elems(1)}, 1 + 1 + 8 + 1 + 32 + 1 + 2},
		{"write 13 blocks", felica.WriteCommand{Services: nodes(1), Blocks: elems(13), Data: make([]byte, 13*16)}, 14 + 13*18},
		{"read response 15 blocks", felica.ReadResponse{Data: make([]byte, 15*16)}, 13 + 15*16},
		{"request service 32 nodes", felica.RequestServiceCommand{Nodes: nodes(32)}, 11 + 64},
	}
	for _, tc := range tests {
		withLEN, err := tc.cmd.Append(nil, felica.WithLEN)
		if err != nil || len(withLEN) != tc.len || int(withLEN[0]) != tc.len {
			t.Errorf("%s: %d bytes (LEN %d), %v; want %d", tc.name, len(withLEN), withLEN[0], err, tc.len)
		}
		withoutLEN, err := tc.cmd.Append(nil, felica.WithoutLEN)
		if err != nil || !bytes.Equal(withoutLEN, withLEN[1:]) {
			t.Errorf("%s without LEN: %X, %v", tc.name, withoutLEN, err)
		}
	}
}

func TestReadResponseBlocks(t *testing.T) {
	frame := unhex(t, "2D07 I 0000 02"+readData)
	r, err := felica.ParseReadResponse(frame, felica.WithLEN, testIDm)
	if err != nil {
		t.Fatal(err)
	}
	if r.Count() != 2 || !bytes.Equal(r.Block(1), frame[29:45]) || r.Block(2) != nil || r.Block(-1) != nil {
		t.Fatalf("Count %d Block(1) %X", r.Count(), r.Block(1))
	}
	if &r.Data[0] != &frame[13] {
		t.Errorf("Data is a copy, want it to alias the frame")
	}
	w, err := felica.ParseWriteCommand(unhex(t, "3208 I 01 0900 02 8000 8001"+write32), felica.WithLEN)
	if err != nil || !bytes.Equal(w.Block(0), unhex(t, "00112233445566778899AABBCCDDEEFF")) || w.Block(2) != nil {
		t.Errorf("WriteCommand.Block: %X, %v", w.Block(0), err)
	}
}

func TestCodes(t *testing.T) {
	if felica.CodeRead.Response() != felica.CodeReadResponse || felica.CodeReadResponse.Command() != felica.CodeRead {
		t.Error("Response/Command")
	}
	if !felica.CodeAuth2V2Response.IsResponse() || felica.CodeAuth2V2.IsResponse() || felica.Code(0x20).Known() {
		t.Error("IsResponse/Known")
	}
	if s := felica.CodeWriteResponse.String(); s != "Write Without Encryption response" {
		t.Errorf("String = %q", s)
	}
	if s := felica.Code(0x20).String(); s != "code 0x20" {
		t.Errorf("String = %q", s)
	}
}

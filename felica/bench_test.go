package felica_test

import (
	"testing"

	"github.com/tes-project/tes/felica"
)

var (
	benchServices = []felica.NodeCode{0x008B}
	benchBlocks   = []felica.BlockElement{{Block: 0}, {Block: 1}}
	benchData     = make([]byte, 32)
)

func BenchmarkAppendReadCommand(b *testing.B) {
	cmd := felica.ReadCommand{IDm: testIDm, Services: benchServices, Blocks: benchBlocks}
	buf := make([]byte, 0, felica.MaxFrameLen)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cmd.Append(buf[:0], felica.WithLEN); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendReadCommandNewBuffer is the cost when the caller passes nil:
// the one allocation of the frame itself.
func BenchmarkAppendReadCommandNewBuffer(b *testing.B) {
	cmd := felica.ReadCommand{IDm: testIDm, Services: benchServices, Blocks: benchBlocks}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cmd.Append(nil, felica.WithLEN); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendWriteCommand(b *testing.B) {
	cmd := felica.WriteCommand{IDm: testIDm, Services: []felica.NodeCode{0x1009}, Blocks: benchBlocks, Data: benchData}
	buf := make([]byte, 0, felica.MaxFrameLen)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := cmd.Append(buf[:0], felica.WithLEN); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseReadResponse(b *testing.B) {
	frame, err := felica.ReadResponse{IDm: testIDm, Data: benchData}.Append(nil, felica.WithLEN)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := felica.ParseReadResponse(frame, felica.WithLEN, testIDm); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseWriteResponse(b *testing.B) {
	frame, err := felica.WriteResponse{IDm: testIDm}.Append(nil, felica.WithLEN)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := felica.ParseWriteResponse(frame, felica.WithLEN, testIDm); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseReadCommand is the card's side: it allocates the service
// and block lists.
func BenchmarkParseReadCommand(b *testing.B) {
	frame, err := felica.ReadCommand{IDm: testIDm, Services: benchServices, Blocks: benchBlocks}.Append(nil, felica.WithLEN)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := felica.ParseReadCommand(frame, felica.WithLEN); err != nil {
			b.Fatal(err)
		}
	}
}

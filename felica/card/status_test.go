package card_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
)

// keyedLayout is the DEMO layout plus a keyed service, 0x1048 RW / 0x104A RO.
func keyedLayout(t *testing.T) card.Layout {
	l := demoCatalog(t).Layout
	l.Services = append(l.Services, card.Service{Name: "secret", Number: 65, Kind: card.KindRandom, ReadWrite: 0x1048, ReadOnly: 0x104A, Blocks: 1, KeyVersion: 2})
	return l
}

// accessFrame hand-encodes a Read (06) or Write (08) with any counts, so that the
// card's range checks can be reached; the codec's builders refuse such lists.
// elements are raw block list elements in hex; a write carries zero data.
func accessFrame(t *testing.T, code byte, idm felica.IDm, services []felica.NodeCode, elements string) []byte {
	frame := []byte{0, code}
	frame = append(frame, idm[:]...)
	frame = append(frame, byte(len(services)))
	for _, s := range services {
		frame = binary.LittleEndian.AppendUint16(frame, uint16(s))
	}
	list := strings.Fields(elements)
	frame = append(frame, byte(len(list)))
	frame = append(frame, unhex(t, elements)...)
	if code == byte(felica.CodeWrite) {
		frame = append(frame, make([]byte, felica.BlockSize*len(list))...)
	}
	if len(frame) > felica.MaxFrameLen {
		t.Fatalf("test frame of %d bytes", len(frame))
	}
	frame[0] = byte(len(frame))
	return frame
}

func repeat(element string, n int) string {
	return strings.TrimSpace(strings.Repeat(element+" ", n))
}

func TestStatusFlags(t *testing.T) {
	codes := func(c ...felica.NodeCode) []felica.NodeCode { return c }
	seventeen := make([]felica.NodeCode, 17)
	for i := range seventeen {
		seventeen[i] = balanceRO
	}
	const (
		read  = byte(felica.CodeRead)
		write = byte(felica.CodeWrite)
	)
	tests := []struct {
		name     string
		code     byte
		settings card.Settings
		services []felica.NodeCode
		elements string
		sf1, sf2 byte
	}{
		{"ok", read, card.Settings{}, codes(balanceRO), "8000", 0, 0},
		{"A1 no service", read, card.Settings{}, codes(), "8000", 1, 0xA1},
		{"A1 seventeen services", read, card.Settings{}, seventeen, "8000", 1, 0xA1},
		{"A1 before A2", write, card.Settings{}, codes(), "", 1, 0xA1},
		{"A2 no block", read, card.Settings{}, codes(balanceRO), "", 1, 0xA2},
		{"A2 sixteen blocks", read, card.Settings{}, codes(balanceRO), repeat("8000", 16), 1, 0xA2},
		{"fifteen blocks ok", read, card.Settings{}, codes(balanceRO), repeat("8000", 15), 0, 0},
		{"A2 past the card's read limit", read, card.Settings{MaxReadBlocks: 4}, codes(balanceRO), repeat("8000", 5), 1, 0xA2},
		{"at the card's read limit", read, card.Settings{MaxReadBlocks: 4}, codes(balanceRO), repeat("8000", 4), 0, 0},
		{"A2 past the card's write limit", write, card.Settings{MaxWriteBlocks: 2}, codes(historyRW), repeat("8000", 3), 1, 0xA2},
		{"A2 before element checks", read, card.Settings{MaxReadBlocks: 1}, codes(balanceRO), "8100 8000", 1, 0xA2},
		{"A3 second element", read, card.Settings{}, codes(balanceRO), "8000 8100", 2, 0xA3},
		{"A3 before A7", read, card.Settings{}, codes(balanceRO), "C100", 1, 0xA3},
		{"A7 cashback on read", read, card.Settings{}, codes(balanceRO), "9000", 1, 0xA7},
		{"A7 key change on write", write, card.Settings{}, codes(balanceRW), "C000", 1, 0xA7},
		{"A7 before A4", read, card.Settings{}, codes(0x1000), "C000", 1, 0xA7},
		{"A4 area", read, card.Settings{}, codes(0x1000), "8000", 1, 0xA4},
		{"A4 root area", read, card.Settings{}, codes(0x0000), "8000", 1, 0xA4},
		{"A4 system", read, card.Settings{}, codes(felica.SystemNode), "8000", 1, 0xA4},
		{"A4 unknown attribute", read, card.Settings{}, codes(0x1002), "8000", 1, 0xA4},
		{"A4 before A6", write, card.Settings{}, codes(0x1400), "8000", 1, 0xA4},
		{"A6 no such service", read, card.Settings{}, codes(0x1049), "8000", 1, 0xA6},
		{"A6 before A5: keyed code the card lacks", read, card.Settings{}, codes(0x1008), "8000", 1, 0xA6},
		{"A5 keyed read", read, card.Settings{}, codes(0x104A), "8000", 1, 0xA5},
		{"A5 keyed write", write, card.Settings{}, codes(0x1048), "8000", 1, 0xA5},
		{"A5 before A8", read, card.Settings{}, codes(0x104A), "8005", 1, 0xA5},
		{"A5 write to read-only", write, card.Settings{}, codes(balanceRO), "8000", 1, 0xA5},
		{"A5 write to read-only before A8", write, card.Settings{}, codes(historyRO), "8009", 1, 0xA5},
		{"A5 cashback on a random service", write, card.Settings{}, codes(balanceRW), "9000", 1, 0xA5},
		{"read-write code reads", read, card.Settings{}, codes(balanceRW), "8000", 0, 0},
		{"A8 balance block 1", read, card.Settings{}, codes(balanceRO), "8001", 1, 0xA8},
		{"A8 history block 8", write, card.Settings{}, codes(historyRW), "8008", 1, 0xA8},
		{"A8 three-byte block 256", read, card.Settings{}, codes(historyRO), "000001", 1, 0xA8},
		{"three-byte block 7", read, card.Settings{}, codes(historyRO), "000700", 0, 0},
		{"first failure wins", read, card.Settings{}, codes(balanceRO, historyRO), "8000 8008 8200", 2, 0xA8},
		{"third element ordinal", read, card.Settings{}, codes(balanceRO, infoRO), "8000 8100 8101", 3, 0xA8},
		{"third element bitmap", read, card.Settings{SF1Bitmap: true}, codes(balanceRO, infoRO), "8000 8100 8101", 0x04, 0xA8},
		{"tenth element ordinal", read, card.Settings{}, codes(historyRO), repeat("8000", 9) + " 8009", 10, 0xA8},
		{"tenth element bitmap", read, card.Settings{SF1Bitmap: true}, codes(historyRO), repeat("8000", 9) + " 8009", 0x80, 0xA8},
		{"counts bitmap", read, card.Settings{SF1Bitmap: true}, codes(), "8000", 1, 0xA1},
		{"AF past the cyclic service", write, card.Settings{}, codes(historyRW, balanceRW), repeat("8000", 8) + " 8100 8000", 10, 0xAF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, _ := demoCatalog(t).Image(adultIDm)
			c, err := card.New(keyedLayout(t), img, tt.settings)
			if err != nil {
				t.Fatal(err)
			}
			before := c.Snapshot()
			frame := accessFrame(t, tt.code, c.IDm(), tt.services, tt.elements)
			var st felica.Status
			if tt.code == read {
				r, err := felica.ParseReadResponse(answer(t, c, frame), felica.WithLEN, c.IDm())
				if err != nil {
					t.Fatal(err)
				}
				if r.Status.OK() && r.Count() != len(strings.Fields(tt.elements)) {
					t.Errorf("%d blocks read, want %d", r.Count(), len(strings.Fields(tt.elements)))
				}
				st = r.Status
			} else {
				r, err := felica.ParseWriteResponse(answer(t, c, frame), felica.WithLEN, c.IDm())
				if err != nil {
					t.Fatal(err)
				}
				st = r.Status
				if !st.OK() && !snapshotsEqual(before, c.Snapshot()) {
					t.Error("a refused write changed the card")
				}
			}
			if want := (felica.Status{SF1: tt.sf1, SF2: tt.sf2}); st != want {
				t.Errorf("status %s, want %s", st, want)
			}
		})
	}
}

func snapshotsEqual(a, b card.Image) bool {
	if a.IDm != b.IDm || len(a.Blocks) != len(b.Blocks) {
		return false
	}
	for name, blocks := range a.Blocks {
		other := b.Blocks[name]
		if len(other) != len(blocks) {
			return false
		}
		for i := range blocks {
			if blocks[i] != other[i] {
				return false
			}
		}
	}
	return true
}

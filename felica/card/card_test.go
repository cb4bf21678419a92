package card_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
)

// DEMO service codes.
const (
	infoRW, infoRO       felica.NodeCode = 0x0089, 0x008B
	balanceRW, balanceRO felica.NodeCode = 0x1009, 0x100B
	historyRW, historyRO felica.NodeCode = 0x090D, 0x090F
)

func TestPollingEveryDemoCard(t *testing.T) {
	cat := demoCatalog(t)
	for _, img := range cat.Cards {
		t.Run(img.Label, func(t *testing.T) {
			c, err := card.New(cat.Layout, img, card.Settings{})
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct {
				system      felica.SystemCode
				requestCode felica.RequestCode
				data        uint16
			}{
				{0x80DE, felica.RequestSystemCode, 0x80DE},
				{0xFFFF, felica.RequestNone, 0},
				{0xFFFF, felica.RequestSystemCode, 0x80DE},
				{0x80FF, felica.RequestNone, 0},
				{0xFFDE, felica.RequestSystemCode, 0x80DE},
				{0x80DE, felica.RequestCommPerformance, 0x0083},
			} {
				frame := build(t, felica.PollingCommand{SystemCode: tt.system, RequestCode: tt.requestCode, TimeSlot: 0x0F})
				r, err := felica.ParsePollingResponse(answer(t, c, frame), felica.WithLEN)
				if err != nil {
					t.Fatalf("polling %s/%d: %v", tt.system, tt.requestCode, err)
				}
				want := felica.PollingResponse{IDm: img.IDm, PMm: cat.Layout.PMm, RequestData: tt.data, HasRequestData: tt.requestCode != felica.RequestNone}
				if r != want {
					t.Errorf("polling %s/%d = %+v, want %+v", tt.system, tt.requestCode, r, want)
				}
			}
			for _, other := range []felica.SystemCode{0x12FC, 0x80DF, 0x81FF, 0xFE00} {
				silent(t, c, build(t, felica.PollingCommand{SystemCode: other, RequestCode: felica.RequestSystemCode}))
			}
		})
	}
}

func TestReadDemo(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{})
	r := read(t, c, []felica.NodeCode{infoRO, balanceRO, historyRO},
		felica.BlockElement{Service: 0, Block: 0},
		felica.BlockElement{Service: 1, Block: 0},
		felica.BlockElement{Service: 2, Block: 0},
		felica.BlockElement{Service: 2, Block: 1},
		felica.BlockElement{Service: 2, Block: 7},
	)
	if !r.Status.OK() {
		t.Fatalf("status %s", r.Status)
	}
	want := [][]byte{
		unhex(t, "00012C3A000000000000000000000000"),
		unhex(t, "E8030000070000000000000000000000"),
		unhex(t, "01E8030000E80300000700C086FD6A00"),
		unhex(t, "106AFFFFFF0000000006004035FC6A00"),
		make([]byte, 16),
	}
	for i, w := range want {
		if !bytes.Equal(r.Block(i), w) {
			t.Errorf("block %d = % X, want % X", i, r.Block(i), w)
		}
	}
	// The read-write and read-only codes of a service see the same blocks.
	rw := read(t, c, []felica.NodeCode{balanceRW}, elems(0)...)
	if !bytes.Equal(rw.Block(0), want[1]) {
		t.Errorf("balance through %s = % X", balanceRW, rw.Block(0))
	}
}

// topUp is the DEMO flow's money-moving write: balance and a history record in one command.
func topUp(t *testing.T, c *card.Card, balance, history []byte, historyBlock uint16) felica.Status {
	t.Helper()
	return write(t, c, []felica.NodeCode{balanceRW, historyRW},
		[]felica.BlockElement{{Service: 0, Block: 0}, {Service: 1, Block: historyBlock}},
		append(append([]byte(nil), balance...), history...))
}

func TestWriteBalanceAndHistory(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{})
	balance := unhex(t, "DC050000080000000000000000000000")
	history := unhex(t, "01F4010000DC0500000800C086FD6A00")
	if st := topUp(t, c, balance, history, 0); !st.OK() {
		t.Fatalf("status %s", st)
	}
	r := read(t, c, []felica.NodeCode{balanceRO, historyRO},
		felica.BlockElement{Service: 0}, felica.BlockElement{Service: 1, Block: 0},
		felica.BlockElement{Service: 1, Block: 1}, felica.BlockElement{Service: 1, Block: 2},
		felica.BlockElement{Service: 1, Block: 3})
	want := [][]byte{
		balance,
		history,
		unhex(t, "01E8030000E80300000700C086FD6A00"),
		unhex(t, "106AFFFFFF0000000006004035FC6A00"),
		make([]byte, 16),
	}
	for i, w := range want {
		if !bytes.Equal(r.Block(i), w) {
			t.Errorf("block %d = % X, want % X", i, r.Block(i), w)
		}
	}
}

func TestWriteAllOrNothing(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{})
	before := c.Snapshot()
	st := topUp(t, c, record(0x11), record(0x22), 8)
	if st != (felica.Status{SF1: 2, SF2: felica.SF2BlockNumber}) {
		t.Fatalf("status %s, want 02 A8", st)
	}
	if after := c.Snapshot(); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused write changed the card:\nbefore %v\nafter  %v", before, after)
	}
}

func TestCyclicPush(t *testing.T) {
	tests := []struct {
		name   string
		blocks []uint16
		want   felica.Status
		// newest is the history afterwards, newest first, as record bytes (0 = zero block);
		// the card starts with records 0xA1, 0xA2.
		history []byte
	}{
		{"one record", []uint16{0}, felica.Status{}, []byte{1, 0xA1, 0xA2, 0, 0, 0, 0, 0}},
		{"two records, first listed newest", []uint16{0, 1}, felica.Status{}, []byte{1, 2, 0xA1, 0xA2, 0, 0, 0, 0}},
		{"eight records fill it", []uint16{0, 0, 0, 0, 0, 0, 0, 0}, felica.Status{}, []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{"nine records overflow", []uint16{0, 0, 0, 0, 0, 0, 0, 0, 0}, felica.Status{SF1: 9, SF2: felica.SF2CyclicOverflow}, []byte{0xA1, 0xA2, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat := demoCatalog(t)
			img, _ := cat.Image(adultIDm)
			img.Blocks["history"] = [][felica.BlockSize]byte{[16]byte(record(0xA1)), [16]byte(record(0xA2))}
			c, err := card.New(cat.Layout, img, card.Settings{})
			if err != nil {
				t.Fatal(err)
			}
			var data []byte
			for i := range tt.blocks {
				data = append(data, record(byte(i+1))...)
			}
			if st := write(t, c, []felica.NodeCode{historyRW}, elems(tt.blocks...), data); st != tt.want {
				t.Fatalf("status %s, want %s", st, tt.want)
			}
			for i, b := range tt.history {
				if got := block(t, c, "history", i); !bytes.Equal(got, record(b)) {
					t.Errorf("history[%d] = % X, want all %02X", i, got, b)
				}
			}
		})
	}
}

func TestSearchServiceCodeDemo(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{})
	type node struct{ code, end felica.NodeCode }
	want := []node{{0x0000, 0xFFFE}, {infoRW, 0}, {infoRO, 0}, {historyRW, 0}, {historyRO, 0}, {0x1000, 0x13FF}, {balanceRW, 0}, {balanceRO, 0}, {felica.SystemNode, 0}}
	for i, w := range want {
		frame := build(t, felica.SearchServiceCodeCommand{IDm: c.IDm(), Index: uint16(i)})
		r, err := felica.ParseSearchServiceCodeResponse(answer(t, c, frame), felica.WithLEN, c.IDm())
		if err != nil {
			t.Fatal(err)
		}
		if (node{r.Node, r.End}) != w {
			t.Errorf("index %d = %s..%s, want %s..%s", i, r.Node, r.End, w.code, w.end)
		}
	}
}

func TestRequestServiceDemo(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{})
	nodes := []felica.NodeCode{0x0000, 0x1000, balanceRW, balanceRO, infoRO, historyRW, 0x1008, 0x1400, felica.SystemNode}
	frame := build(t, felica.RequestServiceCommand{IDm: c.IDm(), Nodes: nodes})
	r, err := felica.ParseRequestServiceResponse(answer(t, c, frame), felica.WithLEN, c.IDm())
	if err != nil {
		t.Fatal(err)
	}
	want := []uint16{0x0000, 0x0001, 0x0001, 0x0001, 0x0001, 0x0001, 0xFFFF, 0xFFFF, 0xFFFF}
	if !reflect.DeepEqual(r.KeyVersions, want) {
		t.Errorf("key versions = %04X, want %04X", r.KeyVersions, want)
	}
}

func TestSmallCommandsDemo(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{})
	id := c.IDm()
	sys, err := felica.ParseRequestSystemCodeResponse(answer(t, c, build(t, felica.RequestSystemCodeCommand{IDm: id})), felica.WithLEN, id)
	if err != nil || !reflect.DeepEqual(sys.SystemCodes, []felica.SystemCode{0x80DE}) {
		t.Errorf("Request System Code = %v, %v", sys.SystemCodes, err)
	}
	mode, err := felica.ParseRequestResponseResponse(answer(t, c, build(t, felica.RequestResponseCommand{IDm: id})), felica.WithLEN, id)
	if err != nil || mode.Mode != 0 {
		t.Errorf("Request Response = %d, %v", mode.Mode, err)
	}
	reset, err := felica.ParseResetModeResponse(answer(t, c, build(t, felica.ResetModeCommand{IDm: id})), felica.WithLEN, id)
	if err != nil || !reset.Status.OK() {
		t.Errorf("Reset Mode = %s, %v", reset.Status, err)
	}
}

func TestSilence(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{})
	other := mustIDm(t, "012E4C7A11223345")
	tests := []struct {
		name  string
		frame []byte
	}{
		{"read for another IDm", build(t, felica.ReadCommand{IDm: other, Services: []felica.NodeCode{balanceRO}, Blocks: elems(0)})},
		{"write for another IDm", build(t, felica.WriteCommand{IDm: other, Services: []felica.NodeCode{balanceRW}, Blocks: elems(0), Data: record(1)})},
		{"request service for another IDm", build(t, felica.RequestServiceCommand{IDm: other, Nodes: []felica.NodeCode{0}})},
		{"request system code for another IDm", build(t, felica.RequestSystemCodeCommand{IDm: other})},
		{"search for another IDm", build(t, felica.SearchServiceCodeCommand{IDm: other})},
		{"unknown command code", unhex(t, "0A20 012E4C7A11223344")},
		{"a response code", unhex(t, "0B05 012E4C7A11223344 00")},
		{"authentication1", unhex(t, "1810 012E4C7A11223344 01 0010 01 0810 1122334455667788")},
		{"authentication2", unhex(t, "1212 012E4C7A11223344 1122334455667788")},
		{"request service v2", unhex(t, "0D32 012E4C7A11223344 01 0910")},
		{"empty", nil},
		{"LEN only", []byte{1}},
		{"LEN too long", unhex(t, "0B04 012E4C7A11223344")},
		{"truncated read", unhex(t, "1006 012E4C7A11223344 01 0B10 01 80")},
		{"write data short", unhex(t, "1208 012E4C7A11223344 01 0910 01 8000")},
		{"polling unknown request code", unhex(t, "060080DE0300")},
		{"request service no node", unhex(t, "0B02 012E4C7A11223344 00")},
		{"reset mode reserved bytes", unhex(t, "0C3E 012E4C7A11223344 0100")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := c.Snapshot()
			silent(t, c, tt.frame)
			if !reflect.DeepEqual(before, c.Snapshot()) {
				t.Error("a silent command changed the card")
			}
		})
	}
}

func TestWithoutLENFraming(t *testing.T) {
	c := demoCard(t, adultIDm, card.Settings{Framing: felica.WithoutLEN})
	frame, err := felica.ReadCommand{IDm: c.IDm(), Services: []felica.NodeCode{balanceRO}, Blocks: elems(0)}.Append(nil, felica.WithoutLEN)
	if err != nil {
		t.Fatal(err)
	}
	resp := answer(t, c, frame)
	r, err := felica.ParseReadResponse(resp, felica.WithoutLEN, c.IDm())
	if err != nil || !bytes.Equal(r.Block(0), unhex(t, "E8030000070000000000000000000000")) {
		t.Errorf("read without LEN = % X, %v", resp, err)
	}
	withLEN := build(t, felica.ReadCommand{IDm: c.IDm(), Services: []felica.NodeCode{balanceRO}, Blocks: elems(0)})
	silent(t, c, withLEN)
}

func TestBlockAndSnapshot(t *testing.T) {
	cat := demoCatalog(t)
	img, _ := cat.Image(adultIDm)
	c, err := card.New(cat.Layout, img, card.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	img.Blocks["balance"][0][0] = 0xEE // the card keeps its own copy
	b := block(t, c, "balance", 0)
	if !bytes.Equal(b, unhex(t, "E8030000070000000000000000000000")) {
		t.Fatalf("balance = % X", b)
	}
	b[0] = 0xEE // and hands out copies
	for _, name := range []string{"balance", "1009", "100B", "0x100B"} {
		if got := block(t, c, name, 0); got[0] != 0xE8 {
			t.Errorf("Block(%s, 0) = % X", name, got)
		}
	}
	if _, err := c.Block("purse", 0); !errors.Is(err, card.ErrUnknownService) {
		t.Errorf("Block(purse) = %v", err)
	}
	if _, err := c.Block("1008", 0); !errors.Is(err, card.ErrUnknownService) {
		t.Errorf("Block(1008) = %v", err)
	}
	for _, i := range []int{-1, 1} {
		if _, err := c.Block("balance", i); !errors.Is(err, card.ErrBlockOutOfRange) {
			t.Errorf("Block(balance, %d) = %v", i, err)
		}
	}
	snap := c.Snapshot()
	if snap.IDm != img.IDm || len(snap.Blocks["history"]) != 8 || snap.Blocks["history"][1][0] != 0x10 {
		t.Errorf("Snapshot = %+v", snap)
	}
	if c.PMm() != cat.Layout.PMm {
		t.Errorf("PMm = %s", c.PMm())
	}
}

func TestNewRejects(t *testing.T) {
	cat := demoCatalog(t)
	img, _ := cat.Image(adultIDm)
	tooMany := img
	tooMany.Blocks = map[string][][felica.BlockSize]byte{"info": make([][felica.BlockSize]byte, 2)}
	broken := cat.Layout
	broken.Services = append([]card.Service(nil), broken.Services...)
	broken.Services[0].Blocks = 0
	tests := []struct {
		name   string
		layout card.Layout
		img    card.Image
		s      card.Settings
	}{
		{"invalid layout", broken, img, card.Settings{}},
		{"image larger than a service", cat.Layout, tooMany, card.Settings{}},
		{"unknown framing", cat.Layout, img, card.Settings{Framing: 7}},
		{"read limit past the packet", cat.Layout, img, card.Settings{MaxReadBlocks: 16}},
		{"write limit past the packet", cat.Layout, img, card.Settings{MaxWriteBlocks: 14}},
		{"negative limit", cat.Layout, img, card.Settings{MaxReadBlocks: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := card.New(tt.layout, tt.img, tt.s); err == nil {
				t.Errorf("New = %v, want an error", c)
			}
		})
	}
}

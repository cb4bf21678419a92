package card_test

import (
	"context"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
)

// BenchmarkTransceive measures one command through a DEMO card: parse, check, execute
// and build the answer, as `tes sim` and `tes bench` drive it.
func BenchmarkTransceive(b *testing.B) {
	c := demoCard(b, adultIDm, card.Settings{})
	id := c.IDm()
	frames := []struct {
		name string
		cmd  appender
	}{
		{"polling", felica.PollingCommand{SystemCode: 0x80DE, RequestCode: felica.RequestSystemCode}},
		{"read info+balance+history", felica.ReadCommand{IDm: id, Services: []felica.NodeCode{infoRO, balanceRO, historyRO},
			Blocks: []felica.BlockElement{{Service: 0}, {Service: 1}, {Service: 2}}}},
		{"write balance+history", felica.WriteCommand{IDm: id, Services: []felica.NodeCode{balanceRW, historyRW},
			Blocks: []felica.BlockElement{{Service: 0}, {Service: 1}}, Data: make([]byte, 32)}},
	}
	for _, f := range frames {
		frame := build(b, f.cmd)
		b.Run(f.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Transceive(context.Background(), frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package card_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
)

// hammer runs workers goroutines on each card; each alternates a write of balance and
// history in one command (both carrying the same counter) with a read of both, and
// reports a read that sees one without the other: a torn write.
func hammer(t *testing.T, cards []*card.Card, workers, rounds int) {
	var wg sync.WaitGroup
	errs := make(chan error, len(cards)*workers)
	for _, c := range cards {
		for w := range workers {
			wg.Go(func() {
				if err := work(c, w, rounds); err != nil {
					errs <- err
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, c := range cards {
		if balance, newest := counters(c.Snapshot()); balance != newest {
			t.Errorf("card %s: balance counter %d, newest history counter %d", c.IDm(), balance, newest)
		}
	}
}

func work(c *card.Card, worker, rounds int) error {
	id := c.IDm()
	readFrame, err := felica.ReadCommand{IDm: id, Services: []felica.NodeCode{balanceRO, historyRO},
		Blocks: []felica.BlockElement{{Service: 0}, {Service: 1}}}.Append(nil, felica.WithLEN)
	if err != nil {
		return err
	}
	for i := range rounds {
		counter := uint16(worker<<8 | i)
		data := make([]byte, 2*felica.BlockSize)
		binary.LittleEndian.PutUint16(data[4:], counter)
		binary.LittleEndian.PutUint16(data[felica.BlockSize+9:], counter)
		writeFrame, err := felica.WriteCommand{IDm: id, Services: []felica.NodeCode{balanceRW, historyRW},
			Blocks: []felica.BlockElement{{Service: 0}, {Service: 1}}, Data: data}.Append(nil, felica.WithLEN)
		if err != nil {
			return err
		}
		resp, err := c.Transceive(context.Background(), writeFrame)
		if err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if w, err := felica.ParseWriteResponse(resp, felica.WithLEN, id); err != nil || !w.Status.OK() {
			return fmt.Errorf("write answer %s, %v", w.Status, err)
		}
		resp, err = c.Transceive(context.Background(), readFrame)
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		r, err := felica.ParseReadResponse(resp, felica.WithLEN, id)
		if err != nil || !r.Status.OK() {
			return fmt.Errorf("read answer %s, %v", r.Status, err)
		}
		if b, h := binary.LittleEndian.Uint16(r.Block(0)[4:]), binary.LittleEndian.Uint16(r.Block(1)[9:]); b != h {
			return fmt.Errorf("card %s: torn write: balance counter %d, history counter %d", id, b, h)
		}
	}
	return nil
}

func counters(img card.Image) (balance, newest uint16) {
	b, h := img.Blocks["balance"][0], img.Blocks["history"][0]
	return binary.LittleEndian.Uint16(b[4:]), binary.LittleEndian.Uint16(h[9:])
}

func TestConcurrentUse(t *testing.T) {
	t.Run("many cards", func(t *testing.T) {
		cat := demoCatalog(t)
		var cards []*card.Card
		for _, img := range cat.Cards {
			c, err := card.New(cat.Layout, img, card.Settings{})
			if err != nil {
				t.Fatal(err)
			}
			cards = append(cards, c)
		}
		hammer(t, cards, 4, 50)
	})
	t.Run("one card", func(t *testing.T) {
		hammer(t, []*card.Card{demoCard(t, adultIDm, card.Settings{})}, 16, 50)
	})
}

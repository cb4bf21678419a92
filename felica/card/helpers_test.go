package card_test

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
)

// The DEMO card most tests use: active adult, 1000 yen, counter 7, two history records.
const adultIDm = "012E4C7A11223344"

func demoCatalog(t testing.TB) *card.Catalog {
	t.Helper()
	cat, err := card.Demo()
	if err != nil {
		t.Fatalf("Demo: %v", err)
	}
	return cat
}

// demoCard makes a card of the DEMO catalogue from its IDm.
func demoCard(t testing.TB, idm string, s card.Settings) *card.Card {
	t.Helper()
	cat := demoCatalog(t)
	img, ok := cat.Image(idm)
	if !ok {
		t.Fatalf("no DEMO card %s", idm)
	}
	c, err := card.New(cat.Layout, img, s)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func mustIDm(t testing.TB, s string) felica.IDm {
	t.Helper()
	id, err := felica.ParseIDm(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// unhex reads hex with spaces and the FELICA.md shorthand "I" for 0102030405060708.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	fields := strings.Fields(s)
	for i, f := range fields {
		if f == "I" {
			fields[i] = "0102030405060708"
		}
	}
	b, err := hex.DecodeString(strings.Join(fields, ""))
	if err != nil {
		t.Fatalf("unhex %q: %v", s, err)
	}
	return b
}

// appender is any codec command.
type appender interface {
	Append([]byte, felica.Framing) ([]byte, error)
}

// build appends a command with the codec, failing the test if it cannot.
func build(t testing.TB, cmd appender) []byte {
	t.Helper()
	frame, err := cmd.Append(nil, felica.WithLEN)
	if err != nil {
		t.Fatalf("build %v: %v", cmd, err)
	}
	return frame
}

// answer sends a frame that the card must answer.
func answer(t testing.TB, c *card.Card, frame []byte) []byte {
	t.Helper()
	resp, err := c.Transceive(context.Background(), frame)
	if err != nil {
		t.Fatalf("Transceive(% X): %v", frame, err)
	}
	return resp
}

// silent sends a frame that the card must not answer.
func silent(t testing.TB, c *card.Card, frame []byte) {
	t.Helper()
	resp, err := c.Transceive(context.Background(), frame)
	if !errors.Is(err, card.ErrNoAnswer) {
		t.Fatalf("Transceive(% X) = % X, %v; want ErrNoAnswer", frame, resp, err)
	}
	if resp != nil {
		t.Fatalf("Transceive(% X) answered % X with ErrNoAnswer", frame, resp)
	}
}

// read reads blocks through the codec and returns the response.
func read(t testing.TB, c *card.Card, services []felica.NodeCode, blocks ...felica.BlockElement) felica.ReadResponse {
	t.Helper()
	frame := build(t, felica.ReadCommand{IDm: c.IDm(), Services: services, Blocks: blocks})
	r, err := felica.ParseReadResponse(answer(t, c, frame), felica.WithLEN, c.IDm())
	if err != nil {
		t.Fatalf("ParseReadResponse: %v", err)
	}
	return r
}

// write writes blocks through the codec and returns the status.
func write(t testing.TB, c *card.Card, services []felica.NodeCode, blocks []felica.BlockElement, data []byte) felica.Status {
	t.Helper()
	frame := build(t, felica.WriteCommand{IDm: c.IDm(), Services: services, Blocks: blocks, Data: data})
	r, err := felica.ParseWriteResponse(answer(t, c, frame), felica.WithLEN, c.IDm())
	if err != nil {
		t.Fatalf("ParseWriteResponse: %v", err)
	}
	return r.Status
}

func block(t testing.TB, c *card.Card, service string, index int) []byte {
	t.Helper()
	b, err := c.Block(service, index)
	if err != nil {
		t.Fatalf("Block(%s, %d): %v", service, index, err)
	}
	return b
}

// elems makes normal-access block elements of service index 0.
func elems(blocks ...uint16) []felica.BlockElement {
	out := make([]felica.BlockElement, len(blocks))
	for i, b := range blocks {
		out[i] = felica.BlockElement{Block: b}
	}
	return out
}

// record makes a 16-byte block whose bytes are all b.
func record(b byte) []byte {
	out := make([]byte, felica.BlockSize)
	for i := range out {
		out[i] = b
	}
	return out
}

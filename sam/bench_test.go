package sam_test

import (
	"context"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/sam"
)

// repeat is an endless stream of one challenge, so that every run of the
// benchmark makes the same frames and the card's recorded answers fit.
type repeat [16]byte

func (r repeat) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r[i%16]
	}
	return len(p), nil
}

// BenchmarkTopUpCrypto measures the SAM's side of a whole DEMOAES TOPUP:
// BeginAuth, ContinueAuth, FinishAuth (group key, α/β, challenges, session
// keys), SealRead and Open of the balance, SealWrite of balance and
// history and Open of its answer, with the sealing and opening of the
// session state at every call. The card's answers are recorded once.
func BenchmarkTopUpCrypto(b *testing.B) {
	ctx := context.Background()
	s, err := sam.NewSoftware(sam.Config{TestKeys: true, Challenges: repeat{1, 2, 3}})
	if err != nil {
		b.Fatal(err)
	}
	cat, err := card.DemoAES()
	if err != nil {
		b.Fatal(err)
	}
	img, _ := cat.Image("012E4C7A11224401")
	c, err := card.New(cat.Layout, img, card.Settings{Rand: repeat{9, 8, 7}})
	if err != nil {
		b.Fatal(err)
	}
	req := sam.AuthRequest{Issuer: "DEMOAES", IDm: img.IDm, Nodes: []felica.NodeCode{0x1008, 0x090C}, KeyVersions: []uint16{1, 1}}
	read := []felica.BlockElement{{Service: 0, Block: 0}}
	write := []felica.BlockElement{{Service: 0, Block: 0}, {Service: 1, Block: 0}}
	data := make([]byte, 32)
	answer := func(frame []byte) []byte {
		a, err := c.Transceive(ctx, frame)
		if err != nil {
			b.Fatal(err)
		}
		return a
	}
	// Record the card's answers once.
	step, _ := s.BeginAuth(ctx, req)
	a1 := answer(step.Frame)
	step, _ = s.ContinueAuth(ctx, step.State, a1)
	a2 := answer(step.Frame)
	done, err := s.FinishAuth(ctx, step.State, a2)
	if err != nil {
		b.Fatal(err)
	}
	step, _ = s.SealRead(ctx, done.State, read)
	a3 := answer(step.Frame)
	opened, err := s.Open(ctx, step.State, a3)
	if err != nil {
		b.Fatal(err)
	}
	step, _ = s.SealWrite(ctx, opened.State, write, data)
	a4 := answer(step.Frame)
	if _, err := s.Open(ctx, step.State, a4); err != nil {
		b.Fatal(err)
	}

	b.ReportAllocs()
	for b.Loop() {
		step, _ := s.BeginAuth(ctx, req)
		step, _ = s.ContinueAuth(ctx, step.State, a1)
		done, _ := s.FinishAuth(ctx, step.State, a2)
		step, _ = s.SealRead(ctx, done.State, read)
		opened, _ := s.Open(ctx, step.State, a3)
		step, _ = s.SealWrite(ctx, opened.State, write, data)
		if _, err := s.Open(ctx, step.State, a4); err != nil {
			b.Fatal(err)
		}
	}
}

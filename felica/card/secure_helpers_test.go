package card_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/felica/secure"
)

// terminal is the reader side of an AES session, built from the codec and
// package secure only, to talk to a card the way the SAM will.
type terminal struct {
	t       testing.TB
	c       *card.Card
	session secure.AESSession
	tn      uint16
}

func aesKey(t testing.TB, s string) secure.AESKey {
	t.Helper()
	k, err := secure.ParseAESKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// authenticateAES runs Authentication1 v2 and 2 v2 over nodes with their keys;
// it fails the test when the card does not answer or authenticate.
func authenticateAES(t testing.TB, c *card.Card, nodes []felica.NodeCode, keys []secure.AESKey, individual secure.AESKey) *terminal {
	t.Helper()
	term, err := tryAuthenticateAES(t, c, nodes, keys, individual)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return term
}

func tryAuthenticateAES(t testing.TB, c *card.Card, nodes []felica.NodeCode, keys []secure.AESKey, individual secure.AESKey) (*terminal, error) {
	t.Helper()
	auth := secure.NewAESAuth(secure.AESGroupKey(keys), individual, c.IDm())
	r1 := [16]byte{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF}
	frame := build(t, felica.Auth1V2Command{IDm: c.IDm(), Nodes: nodes, Challenge1A: auth.Challenge1A(r1)})
	resp, err := c.Transceive(context.Background(), frame)
	if err != nil {
		return nil, err
	}
	rsp1, err := felica.ParseAuth1V2Response(resp, felica.WithLEN, c.IDm())
	if err != nil {
		t.Fatalf("Auth1 v2 answer: %v", err)
	}
	c2b, session, err := auth.CheckAuth1(r1, rsp1)
	if err != nil {
		return nil, err
	}
	resp, err = c.Transceive(context.Background(), build(t, felica.Auth2V2Command{IDm: c.IDm(), Challenge2B: c2b}))
	if err != nil {
		return nil, err
	}
	rsp2, err := felica.ParseAuth2V2Response(resp, felica.WithLEN)
	if err != nil {
		t.Fatalf("Auth2 v2 answer: %v", err)
	}
	if _, err := session.Open(felica.CodeAuth2V2Response, rsp2.Transaction, rsp2.Payload[:], rsp2.MAC); err != nil {
		return nil, err
	}
	return &terminal{t: t, c: c, session: session, tn: rsp2.Transaction}, nil
}

// readFrame seals a Read v2 of blocks with the next TN.
func (m *terminal) readFrame(blocks ...felica.BlockElement) []byte {
	m.t.Helper()
	plain, err := felica.SecureReadRequest{Blocks: blocks}.AppendPlain(nil)
	if err != nil {
		m.t.Fatal(err)
	}
	m.tn++
	sealed, mac, err := m.session.Seal(felica.CodeReadV2, m.tn, plain)
	if err != nil {
		m.t.Fatal(err)
	}
	return build(m.t, felica.ReadV2Command{Transaction: m.tn, Payload: sealed, MAC: mac})
}

// writeFrame seals a Write v2 with the next TN.
func (m *terminal) writeFrame(blocks []felica.BlockElement, data []byte) []byte {
	m.t.Helper()
	plain, err := felica.SecureWriteRequest{Blocks: blocks, Data: data}.AppendPlain(nil)
	if err != nil {
		m.t.Fatal(err)
	}
	m.tn++
	sealed, mac, err := m.session.Seal(felica.CodeWriteV2, m.tn, plain)
	if err != nil {
		m.t.Fatal(err)
	}
	return build(m.t, felica.WriteV2Command{Transaction: m.tn, Payload: sealed, MAC: mac})
}

// openReply checks the answer's TN is past the command's, opens it and adopts its TN.
func (m *terminal) openReply(code felica.Code, tn uint16, payload []byte, mac [8]byte) []byte {
	m.t.Helper()
	if tn <= m.tn {
		m.t.Fatalf("answer TN %04X not past %04X", tn, m.tn)
	}
	plain, err := m.session.Open(code, tn, payload, mac)
	if err != nil {
		m.t.Fatalf("open %s: %v", code, err)
	}
	m.tn = tn
	return plain
}

func (m *terminal) read(blocks ...felica.BlockElement) felica.SecureReadReply {
	m.t.Helper()
	r, err := felica.ParseReadV2Response(answer(m.t, m.c, m.readFrame(blocks...)), felica.WithLEN)
	if err != nil {
		m.t.Fatal(err)
	}
	reply, err := felica.ParseSecureReadReply(m.openReply(felica.CodeReadV2Response, r.Transaction, r.Payload, r.MAC), false)
	if err != nil {
		m.t.Fatal(err)
	}
	return reply
}

func (m *terminal) write(blocks []felica.BlockElement, data []byte) felica.Status {
	m.t.Helper()
	r, err := felica.ParseWriteV2Response(answer(m.t, m.c, m.writeFrame(blocks, data)), felica.WithLEN)
	if err != nil {
		m.t.Fatal(err)
	}
	reply, err := felica.ParseSecureWriteReply(m.openReply(felica.CodeWriteV2Response, r.Transaction, r.Payload[:], r.MAC), false)
	if err != nil {
		m.t.Fatal(err)
	}
	return reply.Status
}

// fixedRand is a card's random source that replays bytes, then repeats them.
type fixedRand struct{ b []byte }

func (r *fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.b[0]
		r.b = append(r.b[1:], r.b[0])
	}
	return len(p), nil
}

func equalHex(t testing.TB, name string, got []byte, want string) {
	t.Helper()
	if w := unhex(t, want); !bytes.Equal(got, w) {
		t.Errorf("%s = %X\nwant %X", name, got, w)
	}
}

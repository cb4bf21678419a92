package server

import (
	"bytes"
	stdjson "encoding/json"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/store"
)

// BenchmarkEncodeReply measures the gateway's answer to a call, the
// server's other share of it: the reply built and encoded into the
// response body by the gateway app's fiber configuration.
func BenchmarkEncodeReply(b *testing.B) {
	balance := int64(12345)
	cases := []struct {
		name  string
		reply engine.Reply
	}{
		// A batch of a top-up: a read and a write, as DEMO sends them.
		{"commands", engine.Reply{SessionID: "6f1c2b8e-2a4d-4c1e-9a51-2c7d3e8f9a10", Commands: []store.Command{
			{ID: "3.1", Frame: []byte{0x10, 0x06, 1, 2, 3, 4, 5, 6, 7, 8, 0x01, 0x0b, 0x10, 0x01, 0x80, 0x00}},
			{ID: "3.2", Frame: append([]byte{0x20, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x01, 0x09, 0x10, 0x01, 0x80, 0x00}, make([]byte, 16)...)},
		}}},
		// The end of an operation: no commands, the balance.
		{"final", engine.Reply{SessionID: "6f1c2b8e-2a4d-4c1e-9a51-2c7d3e8f9a10", Balance: &balance}},
	}
	s := &Server{clock: clock.System{}}
	app := s.newGateway(Config{})
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			fctx := &fasthttp.RequestCtx{}
			ctx := app.AcquireCtx(fctx)
			defer app.ReleaseCtx(ctx)
			b.ReportAllocs()
			for b.Loop() {
				fctx.Response.Reset()
				if _, err := s.sendReply(ctx, fiber.StatusOK, c.reply); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzReplyMatchesEncodingJSON checks that the gateway app encodes replies
// byte for byte as encoding/json does: HTML characters, U+2028 and invalid
// UTF-8 escaped alike, fields in the same order, empty ones left out alike.
func FuzzReplyMatchesEncodingJSON(f *testing.F) {
	f.Add("6f1c2b8e-2a4d-4c1e-9a51-2c7d3e8f9a10", 0, "Success", "3.1", []byte{0x06, 0x00, 0x80, 0xDE, 0x01, 0x00}, int64(-1), "")
	f.Add("", 921, "<script>&\u2028\u2029\x7f", "\x00\xff", []byte{}, int64(1<<53+1), "acct\"\\/")
	f.Add("s", 112, "\xed\xa0\x80 \ufffd é \U0001F600", "", []byte(nil), int64(0), "A")
	encode := (&Server{}).newGateway(Config{}).Config().JSONEncoder
	f.Fuzz(func(t *testing.T, sessionID string, code int, message, commandID string, frame []byte, balance int64, account string) {
		reply := wireReply{
			ResponseHeader: wireResponseHeader{ResponseID: sessionID, SessionID: sessionID, StatusCode: code, StatusMessage: message, Timestamp: message},
			CardAccountID:  account,
		}
		if balance >= 0 {
			reply.Balance = &balance
		}
		// sendReply never leaves Commands nil: a batch, or an empty list.
		for _, commands := range [][]wireCommand{{{CommandID: commandID, Command: upperHex(frame)}, {CommandID: message, Command: commandID}}, {}} {
			reply.Commands = commands
			got, err := encode(reply)
			if err != nil {
				t.Fatal(err)
			}
			want, err := stdjson.Marshal(reply)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encoded\n%s\nencoding/json\n%s", got, want)
			}
		}
	})
}

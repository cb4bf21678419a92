package server

import (
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

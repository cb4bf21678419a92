package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tes-project/tes/flow"
)

// BenchmarkHandleRound measures one whole operation: a start answered with
// two commands, then the continue that ends it, each committed to bbolt.
func BenchmarkHandleRound(b *testing.B) {
	h := newHarness(b, readFlow())
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := startRequest()
		req.DeviceID = fmt.Sprintf("D-%d", i)
		req.CardID = fmt.Sprintf("C-%d", i)
		i++
		first := h.engine.Handle(ctx, req)
		last := h.engine.Handle(ctx, answer(req, first))
		if last.StatusCode != flow.StatusOK {
			b.Fatalf("round ended %d", last.StatusCode)
		}
	}
}

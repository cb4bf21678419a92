package engine

import (
	"context"
	"testing"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/flow/flowtest"
	"github.com/tes-project/tes/store/boltstore"
)

// BenchmarkRunStep is what the engine adds around one step that does no
// work: a turn on the issuer's slots, handing the step to a runner, and the
// containment (a thread held for its CPU clock, the watchdog, the memory
// guard). Compare it with a step's own cost (BenchmarkStep in scripts).
func BenchmarkRunStep(b *testing.B) {
	benchmarkRunStep(b, func(context.Context, flow.Input) (flow.Result, error) {
		return flow.Result{Status: flow.StatusOK}, nil
	})
}

// BenchmarkRunStepDeepStack is BenchmarkRunStep with a step that uses
// about 32 KiB of stack, a stand-in for a Lua step with its guards (whose
// depth the server's CPU profile shows growing fresh goroutines' stacks):
// on a goroutine whose stack is still small it costs copying the stack,
// doubling, as it grows.
func BenchmarkRunStepDeepStack(b *testing.B) {
	benchmarkRunStep(b, func(context.Context, flow.Input) (flow.Result, error) {
		deepStack(32)
		return flow.Result{Status: flow.StatusOK}, nil
	})
}

// deepStack uses depth KiB of stack; noinline keeps its frames.
//
//go:noinline
func deepStack(depth int) byte {
	var frame [1 << 10]byte
	frame[depth] = byte(depth)
	if depth == 0 {
		return frame[0]
	}
	return deepStack(depth-1) + frame[depth]
}

func benchmarkRunStep(b *testing.B, step flowtest.StepFunc) {
	st, err := boltstore.Open(b.TempDir()+"/tes.db", boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	iss := flowtest.NewIssuer("DEMO", "v1", step)
	e, err := New(Config{Store: st, Flows: flowtest.NewRegistry(iss)})
	if err != nil {
		b.Fatal(err)
	}
	in := flow.Input{Request: flow.Request{IssuerID: "DEMO"}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.runStep(ctx, iss, in); err != nil {
			b.Fatal(err)
		}
	}
}

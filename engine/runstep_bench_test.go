package engine

import (
	"context"
	"testing"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/flow/flowtest"
	"github.com/tes-project/tes/store/boltstore"
)

// BenchmarkRunStep is what the engine adds around one step that does no
// work: a turn on the issuer's slots, the step's goroutine, and the
// containment (a thread held for its CPU clock, the watchdog, the memory
// guard). Compare it with a step's own cost (BenchmarkStep in scripts).
func BenchmarkRunStep(b *testing.B) {
	st, err := boltstore.Open(b.TempDir()+"/tes.db", boltstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	iss := flowtest.NewIssuer("DEMO", "v1", func(context.Context, flow.Input) (flow.Result, error) {
		return flow.Result{Status: flow.StatusOK}, nil
	})
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

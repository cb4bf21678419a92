package scripts_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/scripts"
)

// hostileDeadline stands for the engine stopping a step: the hostile
// issuer's own limit is 5s, so the caller's deadline is what stops them.
const hostileDeadline = 100 * time.Millisecond

// hostileOps are the operations of testdata/hostile/EVIL and what their
// error says: the cap or check that stopped the step, or the context
// (alternatives separated by "|" when either may come first).
var hostileOps = map[string]string{
	"LOOP":     "context deadline exceeded",
	"RECURSE":  "stack overflow",
	"DOUBLE":   "..: result longer than 1048576 bytes",
	"GROW":     "context deadline exceeded",
	"SPARSE":   "context deadline exceeded",
	"CONCAT":   "table.concat: result longer than 1048576 bytes",
	"FIND":     "context deadline exceeded",
	"GSUB":     "string.gsub: result longer than 1048576 bytes|context deadline exceeded",
	"GSUBFN":   "context deadline exceeded",
	"FORMAT":   "invalid format (width or precision too long)",
	"BATCH":    "a batch holds at most 16 commands",
	"SORT":     "context deadline exceeded",
	"UNPACK":   "",
	"PCALL":    "context deadline exceeded",
	"XPCALL":   "",
	"BIGERROR": "EVIL/bigerror.lua:9: step bad: xxxx",
}

func openHostile(t testing.TB) flow.Issuer {
	t.Helper()
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: "testdata/hostile"})
	if err != nil {
		t.Fatal(err)
	}
	iss, ok := reg.Current("EVIL")
	if !ok {
		t.Fatalf("EVIL does not load: %+v", reg.Statuses())
	}
	return iss
}

// TestHostileStepsStopAtTheDeadline runs each hostile step under a context
// with a deadline: each must come back with an error and no result, and
// the process (this test) must live on. It asserts no timing: see
// BenchmarkHostileStopAfterCancel for how soon they stop.
func TestHostileStepsStopAtTheDeadline(t *testing.T) {
	iss := openHostile(t)
	ops := make([]string, 0, len(hostileOps))
	for op := range hostileOps {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		t.Run(op, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), hostileDeadline)
			defer cancel()
			res, err := iss.Step(ctx, flow.Input{Endpoint: flow.EndpointCard, Operation: op, Ledger: newLedger(), Now: now})
			if err == nil {
				t.Fatalf("no error; result %+v", res)
			}
			if !errors.Is(err, scripts.ErrScript) || !slices.ContainsFunc(strings.Split(hostileOps[op], "|"), func(want string) bool { return strings.Contains(err.Error(), want) }) {
				t.Errorf("error %v, want ErrScript with %q", err, hostileOps[op])
			}
			if len(res.Commands) != 0 || len(res.State) != 0 || len(res.Effects) != 0 {
				t.Errorf("a result beside the error: %+v", res)
			}
			t.Log(err)
			if len(err.Error()) > 1024 {
				t.Errorf("error of %d bytes", len(err.Error()))
			}
		})
	}
	// The process lives on, and so do other issuers' flows.
	reg := openDemo(t)
	l := newLedger()
	l.cards["card-1"] = activeCard("card-1")
	if out := run(t, reg, l, demoCard(t, adult, nil), flow.EndpointCard, "READ", flow.Request{CardID: "card-1", DeviceID: "dev-1"}); out.status != 0 {
		t.Errorf("READ after the hostile steps: %+v", out)
	}
}

// BenchmarkHostileStopAfterCancel measures how long a hostile step that is
// busy in the CPU goes on after its context is cancelled: the step starts,
// runs for 20ms, is cancelled, and the time from the cancel to Step's
// return is reported (median and worst, in ms). Run it with
//
//	go test -run '^$' -bench BenchmarkHostileStopAfterCancel -benchtime 20x ./scripts/
func BenchmarkHostileStopAfterCancel(b *testing.B) {
	iss := openHostile(b)
	for _, op := range []string{"LOOP", "GROW", "FIND", "GSUBFN", "SORT", "PCALL", "XPCALL", "SPARSE"} {
		b.Run(op, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() {
					_, err := iss.Step(ctx, flow.Input{Endpoint: flow.EndpointCard, Operation: op, Ledger: newLedger(), Now: now})
					done <- err
				}()
				time.Sleep(20 * time.Millisecond)
				start := time.Now()
				cancel()
				if err := <-done; err == nil {
					b.Fatal("no error")
				}
				took = append(took, time.Since(start))
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-median")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "ms-worst")
		})
	}
}

package engine_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// TestTraceExplainsTheStep: a call's trace entry keeps the step's guard
// decisions, its effects as applied, the flow's log lines and variables;
// a fault names the step that failed.
func TestTraceExplainsTheStep(t *testing.T) {
	h := newHarness(t, func(_ context.Context, in flow.Input) (flow.Result, error) {
		if len(in.State) == 0 {
			return flow.Result{Step: "read", State: []byte{1}, Commands: [][]byte{frame(0x06)},
				Decisions: []string{"read: always → read"}, Logs: []string{"money.lua:3 reading"}, Vars: []byte(`{"n":1}`),
				Effects: []flow.Effect{{Kind: flow.RecordBalance, Balance: 700, Counter: 3}}}, nil
		}
		return flow.Result{}, &flow.StepError{Step: "write", Err: errors.New("money.lua:9: step write: boom")}
	})
	h.seedLedger()
	first := h.handle(startRequest())
	wantStatus(t, first, flow.StatusOK)
	wantStatus(t, h.handle(answer(startRequest(), first)), flow.StatusUnexpectedError)

	trace := h.mustSession(first.SessionID).Trace
	if len(trace) != 2 {
		t.Fatalf("%d trace entries, want 2", len(trace))
	}
	want := store.TraceEntry{
		Step: "read", Decisions: []string{"read: always → read"}, Logs: []string{"money.lua:3 reading"}, Vars: `{"n":1}`,
		Effects: []string{"RECORD_BALANCE balance 700 counter 3"},
	}
	got := store.TraceEntry{Step: trace[0].Step, Decisions: trace[0].Decisions, Logs: trace[0].Logs, Vars: trace[0].Vars, Effects: trace[0].Effects}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("first entry\n%+v\nwant\n%+v", got, want)
	}
	if fault := trace[1]; fault.Step != "write" || len(fault.Decisions) != 1 || !strings.Contains(fault.Decisions[0], "boom") {
		t.Errorf("fault entry %+v; want step write and the error", fault)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "flow log") || !strings.Contains(logs, "session="+first.SessionID) {
		t.Errorf("the flow's log line is not in the log with its session: %s", logs)
	}
}

// TestStoppedStepNamesTheStepItWasIn: a step the engine stops itself (here a
// panic, no flow.StepError) is traced under the step whose answers it was
// handling, which the session keeps (store.Session.Step) since its trace is
// not read to advance it; the ended session drops its flow state.
func TestStoppedStepNamesTheStepItWasIn(t *testing.T) {
	h := newHarness(t, func(_ context.Context, in flow.Input) (flow.Result, error) {
		if len(in.State) == 0 {
			return flow.Result{Step: "read", State: []byte{1}, Commands: [][]byte{frame(0x06)}}, nil
		}
		panic("flow bug")
	})
	h.seedLedger()
	first := h.handle(startRequest())
	wantStatus(t, first, flow.StatusOK)
	wantStatus(t, h.handle(answer(startRequest(), first)), flow.StatusUnexpectedError)

	s := h.mustSession(first.SessionID)
	if s.Step != "read" || s.FlowState != nil || s.State != store.SessionEnded {
		t.Errorf("session step %q, flow state %v, state %s; want read, none, ENDED", s.Step, s.FlowState, s.State)
	}
	if n := len(s.Trace); n != 2 || s.Trace[1].Step != "read" || !strings.Contains(strings.Join(s.Trace[1].Decisions, " "), "flow bug") {
		t.Errorf("trace %+v; want a fault entry of step read", s.Trace)
	}
}

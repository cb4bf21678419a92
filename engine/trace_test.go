package engine_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
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

// encodingStore is a bbolt store whose EncodeTrace notes the steps it
// encoded and whether a write transaction was running at the time.
type encodingStore struct {
	*boltstore.Store
	updating atomic.Int32
	mu       sync.Mutex
	encoded  []string // steps of the entries EncodeTrace was given
	inWriter bool     // EncodeTrace ran while an Update did
}

func (s *encodingStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.updating.Add(1)
	defer s.updating.Add(-1)
	return s.Store.Update(ctx, fn)
}

func (s *encodingStore) EncodeTrace(entries []store.TraceEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inWriter = s.inWriter || s.updating.Load() > 0
	for _, e := range entries {
		s.encoded = append(s.encoded, e.Step)
	}
	s.Store.EncodeTrace(entries)
}

// A store that encodes trace entries ahead (store.TraceEncoder) is given
// each call's entry before the write, not inside it, and stores the entry
// the call made.
func TestTraceEncodedBeforeTheWrite(t *testing.T) {
	var st *encodingStore
	h := newHarness(t, readFlow(), func(cfg *engine.Config) {
		st = &encodingStore{Store: cfg.Store.(*boltstore.Store)}
		cfg.Store = st
	})
	h.seedLedger()
	first := h.handle(startRequest())
	wantStatus(t, first, flow.StatusOK)
	st.mu.Lock()
	encoded, inWriter := slices.Clone(st.encoded), st.inWriter
	st.mu.Unlock()
	trace := h.mustSession(first.SessionID).Trace
	if len(trace) != 1 || !slices.Equal(encoded, []string{trace[0].Step}) || inWriter {
		t.Errorf("encoded entries of steps %q (inside a write: %v); the trace holds %+v", encoded, inWriter, trace)
	}
}

package scripts_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/scripts"
)

func TestRuntimeErrorsShowInStatuses(t *testing.T) {
	files := map[string]string{
		"BROKEN/issuer.yaml": "id: BROKEN\nsystemCode: \"80DE\"\noperations:\n" +
			"  - name: TYPO\n    endpoint: getCardCommands\n    flow: typo.lua\n" +
			"  - name: BOOM\n    endpoint: getCardCommands\n    flow: boom.lua\n",
		"BROKEN/typo.lua": hostileFlow("felica.wrte{ blocks = {} }"),
		"BROKEN/boom.lua": hostileFlow("local t = nil\nlocal x = t.field"),
	}
	root := copyDemo(t, "2s", "", files)
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	iss, ok := reg.Current("BROKEN")
	if !ok {
		t.Fatalf("BROKEN not loaded: %+v", reg.Statuses())
	}
	tests := []struct {
		op   string
		want string // the whole message kept as the last run-time error
	}{
		{"TYPO", "BROKEN/typo.lua:6: step bad: unknown field felica.wrte"},
		{"BOOM", "BROKEN/boom.lua:7: step bad: attempt to index a non-table object(nil) with key 'field'"},
	}
	for i, tt := range tests {
		_, err := iss.Step(context.Background(), flow.Input{Endpoint: flow.EndpointCard, Operation: tt.op, Ledger: newLedger(), Now: now})
		if !errors.Is(err, scripts.ErrScript) || !strings.Contains(err.Error(), tt.want) {
			t.Fatalf("%s: error %v, want ErrScript with %q", tt.op, err, tt.want)
		}
		st := statusOf(t, reg, "BROKEN")
		if st.RuntimeErrors != i+1 || st.LastRuntimeError != tt.want || st.LastRuntimeErrorOperation != tt.op || st.LastRuntimeErrorAt.IsZero() {
			t.Errorf("after %s: status %+v", tt.op, st)
		}
	}
	if st := statusOf(t, reg, "DEMO"); st.RuntimeErrors != 0 || st.LastRuntimeError != "" {
		t.Errorf("DEMO got BROKEN's errors: %+v", st)
	}

	// A step the caller's context stopped is the engine's to record.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := iss.Step(ctx, flow.Input{Endpoint: flow.EndpointCard, Operation: "BOOM", Ledger: newLedger(), Now: now}); err == nil {
		t.Fatal("a cancelled step succeeded")
	}
	if st := statusOf(t, reg, "BROKEN"); st.RuntimeErrors != 2 {
		t.Errorf("a step cancelled by the caller was counted: %+v", st)
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	reg.RecordRuntimeError("BROKEN", "READ", at, errors.New("step timed out"))
	reg.RecordRuntimeError("BROKEN", "READ", at, nil)
	if st := statusOf(t, reg, "BROKEN"); st.RuntimeErrors != 3 || st.LastRuntimeError != "step timed out" || !st.LastRuntimeErrorAt.Equal(at) {
		t.Errorf("after RecordRuntimeError: %+v", st)
	}
}

func statusOf(t *testing.T, reg *scripts.Registry, id string) flow.IssuerStatus {
	t.Helper()
	for _, st := range reg.Statuses() {
		if st.IssuerID == id {
			return st
		}
	}
	t.Fatalf("no status for %s", id)
	return flow.IssuerStatus{}
}

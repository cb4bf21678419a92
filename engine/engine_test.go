package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/flow/flowtest"
	"github.com/tes-project/tes/store"
)

func TestNewRequiresStoreAndFlows(t *testing.T) {
	h := newHarness(t, readFlow())
	tests := []struct {
		name string
		cfg  engine.Config
	}{
		{"no store", engine.Config{Flows: h.flows}},
		{"no flows", engine.Config{Store: h.store}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := engine.New(tt.cfg); !errors.Is(err, engine.ErrConfig) {
				t.Fatalf("New: %v, want ErrConfig", err)
			}
		})
	}
}

func TestStartContinueDone(t *testing.T) {
	var inputs []flow.Input
	h := newHarness(t, nil)
	steps := readFlow()
	h.issuer.Run = func(ctx context.Context, in flow.Input) (flow.Result, error) {
		inputs = append(inputs, in)
		return steps(ctx, in)
	}

	first := h.handle(startRequest())
	wantStatus(t, first, flow.StatusOK)
	if first.SessionID == "" || len(first.Commands) != 2 ||
		first.Commands[0].ID != "1.1" || first.Commands[1].ID != "1.2" {
		t.Fatalf("first reply %+v, want session and commands 1.1, 1.2", first)
	}
	s, _ := h.deviceSession()
	if s.ID != first.SessionID || s.State != store.SessionOpen || s.Revision != 1 || s.Steps != 1 ||
		s.Version != "v1" || s.Operation != "READ" || s.ActorID != actorID ||
		!s.ExpiresAt.Equal(epoch.Add(60*time.Second)) || len(s.Batch) != 2 {
		t.Fatalf("session after start: %+v", s)
	}

	h.clock.Advance(5 * time.Second)
	cont := answer(startRequest(), first)
	cont.ActorID = "tsh-2"
	cont.ResponseTime = 12.5
	last := h.handle(cont)
	wantStatus(t, last, flow.StatusOK)
	if last.SessionID != first.SessionID || len(last.Commands) != 0 || last.Balance == nil || *last.Balance != 1200 {
		t.Fatalf("last reply %+v, want the same session, no commands, balance 1200", last)
	}
	s, _ = h.deviceSession()
	now := epoch.Add(5 * time.Second)
	if s.State != store.SessionEnded || s.EndReason != store.EndCompleted || s.Revision != 2 || s.Steps != 2 ||
		!s.EndedAt.Equal(now) || !s.PurgeAt.Equal(now.Add(7*24*time.Hour)) || s.ActorID != "tsh-2" {
		t.Fatalf("session after the end: %+v", s)
	}
	if len(s.Trace) != 2 || s.Trace[0].Step != "poll" || len(s.Trace[0].Commands) != 2 ||
		s.Trace[1].Step != "done" || len(s.Trace[1].Responses) != 2 || s.Trace[1].Responses[0].ID != "1.1" ||
		s.Trace[1].DeviceTime != 12500*time.Microsecond {
		t.Fatalf("trace %+v", s.Trace)
	}

	if len(inputs) != 2 {
		t.Fatalf("%d steps ran, want 2", len(inputs))
	}
	if inputs[0].State != nil || inputs[0].Responses != nil || inputs[0].Operation != "READ" ||
		inputs[0].Request.CardID != cardID || !inputs[0].Now.Equal(epoch) {
		t.Fatalf("first input %+v", inputs[0])
	}
	if !bytes.Equal(inputs[1].State, []byte{1}) || len(inputs[1].Responses) != 2 ||
		!bytes.Equal(inputs[1].Responses[1], cont.Responses[1].Frame) {
		t.Fatalf("second input %+v", inputs[1])
	}
}

func TestUnknownIssuerAndOperationWriteNothing(t *testing.T) {
	tests := []struct {
		name string
		req  func() engine.Request
		want int
	}{
		{"unknown issuer", func() engine.Request { r := startRequest(); r.IssuerID = "NOPE"; return r }, flow.StatusUnknownIssuer},
		{"unknown operation", func() engine.Request { r := startRequest(); r.Operation = "FLY"; return r }, flow.StatusBadFormat},
		{"operation of another endpoint", func() engine.Request {
			r := startRequest()
			r.Endpoint = flow.EndpointReaderMode
			r.Operation = "TOPUP"
			return r
		}, flow.StatusBadFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, readFlow())
			got := h.handle(tt.req())
			wantStatus(t, got, tt.want)
			if got.SessionID != "" {
				t.Fatalf("session id %q, want none", got.SessionID)
			}
			if n := h.sessionCount(); n != 0 || h.issuer.Calls() != 0 {
				t.Fatalf("%d sessions, %d steps after %d, want none", n, h.issuer.Calls(), tt.want)
			}
		})
	}
}

func TestStartWhileOpen(t *testing.T) {
	tests := []struct {
		name   string
		change func(*engine.Request)
		want   int
	}{
		{"identical start is a retry", func(*engine.Request) {}, flow.StatusOK},
		{"explicit alias of the same operation is a retry", func(r *engine.Request) { r.Operation = "READ" }, flow.StatusOK},
		{"other purchase", func(r *engine.Request) { r.PurchaseID = "P-1"; r.Operation = "READ" }, flow.StatusOperationOngoing},
		{"other operation", func(r *engine.Request) { r.Operation = "REFUND" }, flow.StatusOperationOngoing},
		{"other card", func(r *engine.Request) { r.CardID = "CARD-OTHER" }, flow.StatusOperationOngoing},
		{"other endpoint", func(r *engine.Request) { r.Endpoint = flow.EndpointPark }, flow.StatusOperationOngoing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, readFlow())
			first := h.handle(startRequest())
			before, _ := h.deviceSession()

			req := startRequest()
			tt.change(&req)
			got := h.handle(req)
			wantStatus(t, got, tt.want)
			if got.SessionID != first.SessionID {
				t.Fatalf("session id %q, want the open one %q", got.SessionID, first.SessionID)
			}
			if tt.want == flow.StatusOK && (len(got.Commands) != 2 || got.Commands[0].ID != "1.1") {
				t.Fatalf("retry answered %+v, want the first reply", got)
			}
			after, _ := h.deviceSession()
			if after.Revision != before.Revision || h.issuer.Calls() != 1 || h.sessionCount() != 1 {
				t.Fatalf("revision %d→%d, %d steps, %d sessions: want nothing changed",
					before.Revision, after.Revision, h.issuer.Calls(), h.sessionCount())
			}
		})
	}
}

func TestStartAfterResponsesIsOngoing(t *testing.T) {
	h := newHarness(t, scripted(
		flow.Result{Commands: [][]byte{frame(1)}},
		flow.Result{Commands: [][]byte{frame(2)}},
		flow.Result{Status: flow.StatusOK},
	))
	first := h.handle(startRequest())
	second := h.handle(answer(startRequest(), first))
	if len(second.Commands) != 1 || second.Commands[0].ID != "2.1" {
		t.Fatalf("second reply %+v, want command 2.1", second)
	}
	got := h.handle(startRequest())
	wantStatus(t, got, flow.StatusOperationOngoing)
	if s, _ := h.deviceSession(); s.Revision != 2 || h.issuer.Calls() != 2 {
		t.Fatalf("revision %d, %d steps; want 2 and 2", s.Revision, h.issuer.Calls())
	}
}

func TestContinueBadRequestsChangeNothing(t *testing.T) {
	tests := []struct {
		name       string
		withoutLEN bool
		change     func(*engine.Request)
		want       int
	}{
		{"other endpoint", false, func(r *engine.Request) { r.Endpoint = flow.EndpointPark }, flow.StatusBadFormat},
		{"other card", false, func(r *engine.Request) { r.CardID = "CARD-OTHER" }, flow.StatusBadFormat},
		{"ids out of order", false, func(r *engine.Request) {
			r.Responses[0].CommandID, r.Responses[1].CommandID = r.Responses[1].CommandID, r.Responses[0].CommandID
		}, flow.StatusBadFormat},
		{"unknown id", false, func(r *engine.Request) { r.Responses[0].CommandID = "9.1" }, flow.StatusBadFormat},
		{"skips the first command", false, func(r *engine.Request) { r.Responses = r.Responses[1:] }, flow.StatusBadFormat},
		{"more responses than commands", false, func(r *engine.Request) {
			r.Responses = append(r.Responses, engine.Response{CommandID: "1.3", Frame: frame(1)})
		}, flow.StatusBadFormat},
		{"LEN too small", false, func(r *engine.Request) { r.Responses[1].Frame[0]-- }, flow.StatusBadFormat},
		{"LEN too large", false, func(r *engine.Request) { r.Responses[0].Frame[0]++ }, flow.StatusBadFormat},
		{"TSH status not a device failure", false, func(r *engine.Request) { r.StatusCode = flow.StatusBadFormat }, flow.StatusBadFormat},
		{"frames without LEN are not checked", true, func(r *engine.Request) { r.Responses[0].Frame[0] = 0xEE }, flow.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, readFlow())
			h.issuer.Config.WithoutLEN = tt.withoutLEN
			first := h.handle(startRequest())
			before, _ := h.deviceSession()

			req := answer(startRequest(), first)
			tt.change(&req)
			got := h.handle(req)
			wantStatus(t, got, tt.want)
			after, _ := h.deviceSession()
			if tt.want == flow.StatusOK {
				if after.State != store.SessionEnded || h.issuer.Calls() != 2 {
					t.Fatalf("session %s after %d steps, want ended after 2", after.State, h.issuer.Calls())
				}
				return
			}
			if got.SessionID != "" {
				t.Fatalf("112 carries session id %q, want none", got.SessionID)
			}
			if after.Revision != before.Revision || after.State != store.SessionOpen || h.issuer.Calls() != 1 {
				t.Fatalf("revision %d→%d, state %s, %d steps: want the session untouched",
					before.Revision, after.Revision, after.State, h.issuer.Calls())
			}
			// The session still accepts the right answer.
			wantStatus(t, h.handle(answer(startRequest(), first)), flow.StatusOK)
		})
	}
}

func TestContinueWithoutSession(t *testing.T) {
	h := newHarness(t, readFlow())
	orphan := startRequest()
	orphan.Responses = []engine.Response{{CommandID: "1.1", Frame: frame(1)}}
	got := h.handle(orphan)
	wantStatus(t, got, flow.StatusUnknownSession)
	if got.SessionID != "" || h.sessionCount() != 0 {
		t.Fatalf("reply %+v, %d sessions; want no session id and nothing written", got, h.sessionCount())
	}

	first := h.handle(startRequest())
	h.handle(answer(startRequest(), first))
	ended, _ := h.deviceSession()
	got = h.handle(orphan)
	wantStatus(t, got, flow.StatusUnknownSession)
	if after, _ := h.deviceSession(); got.SessionID != "" || after.Revision != ended.Revision {
		t.Fatalf("reply %+v, revision %d→%d; want no session id and nothing written", got, ended.Revision, after.Revision)
	}
}

func TestExpiry(t *testing.T) {
	h := newHarness(t, readFlow())
	first := h.handle(startRequest())
	h.clock.Advance(61 * time.Second)

	cont := answer(startRequest(), first)
	got := h.handle(cont)
	wantStatus(t, got, flow.StatusTTLExpired)
	old := h.mustSession(first.SessionID)
	if got.SessionID != first.SessionID || old.State != store.SessionEnded || old.EndReason != store.EndExpired || old.Revision != 2 {
		t.Fatalf("reply %+v, session %s/%s rev %d; want 322 and the session EXPIRED", got, old.State, old.EndReason, old.Revision)
	}
	again := h.handle(cont)
	wantStatus(t, again, flow.StatusTTLExpired)
	if h.mustSession(first.SessionID).Revision != 2 || h.issuer.Calls() != 1 {
		t.Fatal("a second 322 changed the session or ran a step")
	}

	fresh := h.handle(startRequest())
	wantStatus(t, fresh, flow.StatusOK)
	if fresh.SessionID == first.SessionID || len(fresh.Commands) != 2 {
		t.Fatalf("start after expiry: %+v, want a new session", fresh)
	}
	if s := h.mustSession(first.SessionID); s.EndReason != store.EndExpired {
		t.Fatalf("old session %s, want EXPIRED", s.EndReason)
	}
}

func TestExpiryExactlyAtTTLStillAccepts(t *testing.T) {
	h := newHarness(t, readFlow())
	first := h.handle(startRequest())
	h.clock.Advance(60 * time.Second)
	wantStatus(t, h.handle(answer(startRequest(), first)), flow.StatusOK)
}

func TestStartClosesExpiredSession(t *testing.T) {
	h := newHarness(t, readFlow())
	first := h.handle(startRequest())
	h.clock.Advance(2 * time.Minute)
	req := startRequest()
	req.Operation = "REFUND" // would be 321 if the old session were still alive
	got := h.handle(req)
	wantStatus(t, got, flow.StatusOK)
	old := h.mustSession(first.SessionID)
	if got.SessionID == first.SessionID || old.EndReason != store.EndExpired || old.Revision != 2 {
		t.Fatalf("new %q, old %s rev %d; want a new session and the old EXPIRED", got.SessionID, old.EndReason, old.Revision)
	}
	if s, _ := h.deviceSession(); s.ID != got.SessionID || s.Operation != "REFUND" {
		t.Fatalf("newest session %s %s, want the new REFUND", s.ID, s.Operation)
	}
}

func TestIdenticalReplay(t *testing.T) {
	h := newHarness(t, scripted(
		flow.Result{Commands: [][]byte{frame(1)}},
		flow.Result{Commands: [][]byte{frame(2), frame(3)}},
		flow.Result{Status: flow.StatusOK, Message: "all good"},
	))
	first := h.handle(startRequest())
	mid := answer(startRequest(), first)
	second := h.handle(mid)

	replay := mid
	replay.ActorID = "another-actor"
	replay.ResponseTime = 42
	if got := h.handle(replay); got.SessionID != second.SessionID || len(got.Commands) != 2 || got.Commands[0].ID != "2.1" {
		t.Fatalf("replay while open: %+v, want the second reply", got)
	}
	last := answer(startRequest(), second)
	final := h.handle(last)
	if final.StatusMessage != "all good" {
		t.Fatalf("final message %q, want the flow's", final.StatusMessage)
	}
	ended, _ := h.deviceSession()

	got := h.handle(last)
	if got.SessionID != final.SessionID || got.StatusCode != final.StatusCode || got.StatusMessage != final.StatusMessage {
		t.Fatalf("replay after the end: %+v, want %+v", got, final)
	}
	after, _ := h.deviceSession()
	if h.issuer.Calls() != 3 || after.Revision != ended.Revision {
		t.Fatalf("%d steps, revision %d→%d: a replay must not run or write", h.issuer.Calls(), ended.Revision, after.Revision)
	}

	// A start identical to the finished operation's start is a new operation.
	fresh := h.handle(startRequest())
	if fresh.SessionID == first.SessionID || h.issuer.Calls() != 4 {
		t.Fatalf("start after the end: %+v after %d steps, want a new session", fresh, h.issuer.Calls())
	}
}

func TestDeviceFailure(t *testing.T) {
	for _, code := range []int{flow.StatusDeviceUnreachable, flow.StatusDeviceError, flow.StatusDeviceOutOfMemory} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			h := newHarness(t, readFlow())
			first := h.handle(startRequest())
			req := answer(startRequest(), first)
			req.Responses[1].Frame = nil
			req.StatusCode = code
			req.StatusMessage = "phone said no"
			got := h.handle(req)
			wantStatus(t, got, code)
			s, _ := h.deviceSession()
			if got.SessionID != first.SessionID || s.State != store.SessionEnded || s.EndReason != store.EndDeviceFailure ||
				h.issuer.Calls() != 1 || s.Trace[len(s.Trace)-1].DeviceCode != code {
				t.Fatalf("reply %+v, session %s/%s, %d steps", got, s.State, s.EndReason, h.issuer.Calls())
			}
			if again := h.handle(req); again.StatusCode != code || again.SessionID != first.SessionID {
				t.Fatalf("replayed device failure answered %+v", again)
			}
		})
	}
}

func TestFewerResponsesIsIncomplete(t *testing.T) {
	h := newHarness(t, readFlow())
	first := h.handle(startRequest())
	req := answer(startRequest(), first)
	req.Responses = req.Responses[:1]
	got := h.handle(req)
	wantStatus(t, got, flow.StatusOperationIncomplete)
	s, _ := h.deviceSession()
	if got.SessionID != first.SessionID || s.EndReason != store.EndIncomplete || h.issuer.Calls() != 1 {
		t.Fatalf("reply %+v, end %s, %d steps", got, s.EndReason, h.issuer.Calls())
	}
}

func TestStepFaults(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tests := []struct {
		name string
		run  flowtest.StepFunc
	}{
		{"error", func(context.Context, flow.Input) (flow.Result, error) {
			return flow.Result{}, errors.New("script.lua:3: attempt to index a nil value")
		}},
		{"blocks until its context ends", func(ctx context.Context, _ flow.Input) (flow.Result, error) {
			<-ctx.Done()
			return flow.Result{}, ctx.Err()
		}},
		{"ignores its context", func(context.Context, flow.Input) (flow.Result, error) {
			<-release
			return flow.Result{Status: flow.StatusOK}, nil
		}},
		{"panics", func(context.Context, flow.Input) (flow.Result, error) { panic("boom") }},
	}
	for _, tt := range tests {
		for _, onStart := range []bool{true, false} {
			name := tt.name + map[bool]string{true: " on start", false: " on continue"}[onStart]
			t.Run(name, func(t *testing.T) {
				h := newHarness(t, readFlow())
				req := startRequest()
				if !onStart {
					req = answer(startRequest(), h.handle(req))
				}
				h.issuer.Run = tt.run
				h.issuer.Config.StepTimeout = 50 * time.Millisecond
				got := h.handle(req)
				wantStatus(t, got, flow.StatusUnexpectedError)
				s, _ := h.deviceSession()
				if got.SessionID != s.ID || s.State != store.SessionEnded || s.EndReason != store.EndFault {
					t.Fatalf("reply %+v, session %s/%s; want 921 and the session FAULT", got, s.State, s.EndReason)
				}
				logs := h.logs.String()
				if !strings.Contains(logs, "step failed") || !strings.Contains(logs, "session="+s.ID) ||
					!strings.Contains(logs, "version=v1") {
					t.Fatalf("log lacks the fault: %s", logs)
				}
				if strings.Contains(logs, cardID) || !strings.Contains(logs, "CARD…") {
					t.Fatalf("log shows the card id unmasked: %s", logs)
				}
			})
		}
	}
}

// TestStepLimitCountsCPU: the step limit (the issuer's, else 50 ms) counts
// the CPU the step uses, not the time it waits: a step that waits longer
// than its limit without working finishes, one that spins is stopped.
func TestStepLimitCountsCPU(t *testing.T) {
	spin := func(ctx context.Context, _ flow.Input) (flow.Result, error) {
		for ctx.Err() == nil {
		}
		return flow.Result{}, ctx.Err()
	}
	idle := func(ctx context.Context, _ flow.Input) (flow.Result, error) {
		select {
		case <-time.After(150 * time.Millisecond): // three limits of 50 ms, using no CPU
			return flow.Result{Status: flow.StatusOK}, nil
		case <-ctx.Done():
			return flow.Result{}, context.Cause(ctx)
		}
	}
	tests := []struct {
		name    string
		setting time.Duration
		run     flowtest.StepFunc
		want    int
		log     string
	}{
		{"spin, default limit", 0, spin, flow.StatusUnexpectedError, "its limit is 50ms"},
		{"spin, issuer's limit", 80 * time.Millisecond, spin, flow.StatusUnexpectedError, "its limit is 80ms"},
		{"wait past the limit", 0, idle, flow.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.run)
			h.issuer.Config.StepTimeout = tt.setting
			wantStatus(t, h.handle(startRequest()), tt.want)
			if logs := h.logs.String(); !strings.Contains(logs, tt.log) {
				t.Fatalf("log lacks %q: %s", tt.log, logs)
			}
		})
	}
}

func TestPinnedVersion(t *testing.T) {
	h := newHarness(t, readFlow())
	first := h.handle(startRequest())
	v2 := newIssuer("v2", readFlow())
	h.flows.Set(v2)

	wantStatus(t, h.handle(answer(startRequest(), first)), flow.StatusOK)
	if h.issuer.Calls() != 2 || v2.Calls() != 0 {
		t.Fatalf("v1 ran %d steps, v2 %d; want the continue on v1", h.issuer.Calls(), v2.Calls())
	}
	next := h.handle(startRequest())
	if s := h.mustSession(next.SessionID); s.Version != "v2" || v2.Calls() != 1 {
		t.Fatalf("new session pinned to %s, v2 ran %d; want v2", s.Version, v2.Calls())
	}
}

func TestUnloadedIssuerFinishesRunningOperations(t *testing.T) {
	h := newHarness(t, readFlow())
	first := h.handle(startRequest())
	h.flows.Remove(h.issuer.IssuerID)

	other := startRequest()
	other.DeviceID = "DEVICE-OTHER"
	wantStatus(t, h.handle(other), flow.StatusUnknownIssuer)

	last := h.handle(answer(startRequest(), first))
	wantStatus(t, last, flow.StatusOK)
	if last.SessionID != first.SessionID || last.Balance == nil || h.issuer.Calls() != 2 {
		t.Fatalf("continue after unload: %+v, %d steps; want it finished on the pinned version", last, h.issuer.Calls())
	}

	stranger := answer(other, first)
	wantStatus(t, h.handle(stranger), flow.StatusUnknownSession)
}

// forgetful is a registry that has lost every version but the serving one.
type forgetful struct{ *flowtest.Registry }

func (forgetful) Pinned(_ context.Context, issuerID, version string) (flow.Issuer, error) {
	return nil, flow.ErrVersionGone
}

func TestPinnedVersionGone(t *testing.T) {
	var reg forgetful
	h := newHarness(t, readFlow(), func(c *engine.Config) {
		reg.Registry = c.Flows.(*flowtest.Registry)
		c.Flows = reg
	})
	first := h.handle(startRequest())
	got := h.handle(answer(startRequest(), first))
	wantStatus(t, got, flow.StatusUnexpectedError)
	s, _ := h.deviceSession()
	if s.EndReason != store.EndFault || h.issuer.Calls() != 1 {
		t.Fatalf("end %s after %d steps; want FAULT without a step", s.EndReason, h.issuer.Calls())
	}
}

func TestStoreFaultAnswers921(t *testing.T) {
	h := newHarness(t, readFlow())
	if err := h.store.Close(); err != nil {
		t.Fatal(err)
	}
	got := h.handle(startRequest())
	wantStatus(t, got, flow.StatusUnexpectedError)
	if h.issuer.Calls() != 0 {
		t.Fatalf("%d steps ran on a closed store", h.issuer.Calls())
	}
}

func TestLogsShowCardIDsAtDebug(t *testing.T) {
	logs := &syncBuffer{}
	h := newHarness(t, func(context.Context, flow.Input) (flow.Result, error) {
		return flow.Result{}, errors.New("nope")
	}, func(c *engine.Config) {
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	h.handle(startRequest())
	if !strings.Contains(logs.String(), "cardId="+cardID) {
		t.Fatalf("debug log lacks the full card id: %s", logs)
	}
}

// TestStepsStoppedOverTheMemoryBudget: steps that allocate without end are
// stopped by the memory guard (921, ErrStepMemory in the log) before the
// heap passes the budget by much, and the engine goes on serving.
func TestStepsStoppedOverTheMemoryBudget(t *testing.T) {
	read := readFlow()
	hog := func(ctx context.Context, in flow.Input) (flow.Result, error) {
		if !strings.HasPrefix(in.Request.DeviceID, "HOG-") {
			return read(ctx, in)
		}
		var kept [][]byte
		for ctx.Err() == nil {
			kept = append(kept, make([]byte, 1<<20))
		}
		return flow.Result{Step: fmt.Sprint(len(kept))}, context.Cause(ctx)
	}
	h := newHarness(t, hog, func(c *engine.Config) { c.StepMemory = 16 << 20 })
	h.issuer.Config.StepTimeout = time.Minute // only the memory guard may stop it
	var wg sync.WaitGroup
	replies := make([]engine.Reply, 3)
	for i := range replies {
		wg.Go(func() {
			req := startRequest()
			req.DeviceID, req.CardID = fmt.Sprintf("HOG-%d", i), fmt.Sprintf("HOG-CARD-%d", i)
			replies[i] = h.handle(req)
		})
	}
	wg.Wait()
	for _, r := range replies {
		wantStatus(t, r, flow.StatusUnexpectedError)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "memory budget") {
		t.Fatalf("log lacks the memory budget: %s", logs)
	}
	wantStatus(t, h.handle(startRequest()), flow.StatusOK)
}

package tsh_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/tsh"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name        string
		faults      []string
		wantCode    int
		roundTrips  int
		cardBalance uint32
		check       func(t *testing.T, s *stack, out tsh.Outcome)
	}{
		{
			name: "happy path", wantCode: 0, roundTrips: 4, cardBalance: 1500,
			check: func(t *testing.T, _ *stack, out tsh.Outcome) {
				if out.Balance == nil || *out.Balance != 1500 {
					t.Errorf("balance %v, want 1500", out.Balance)
				}
				first := out.RoundTrips[0].Request
				if first.Responses != nil || first.StatusCode != nil || first.PurchaseID != purchaseID {
					t.Errorf("start request %+v: want no responses, no status, the purchase", first)
				}
				for i, rt := range out.RoundTrips[1:] {
					prev := out.RoundTrips[i]
					if len(rt.Request.Responses) != 1 || rt.Request.Responses[0].CommandID != prev.Reply.Commands[0].CommandID {
						t.Errorf("round trip %d answers %+v, want command %s", rt.N, rt.Request.Responses, prev.Reply.Commands[0].CommandID)
					}
					if rt.Request.StatusCode == nil || *rt.Request.StatusCode != 0 || rt.Request.ResponseTimeMs == nil {
						t.Errorf("round trip %d: status %v, time %v; want 0 and a time", rt.N, rt.Request.StatusCode, rt.Request.ResponseTimeMs)
					}
					if rt.Request.Responses[0].Response != prev.Commands[0].AnswerHex || prev.Commands[0].AnswerHex == "" {
						t.Errorf("round trip %d sent %q, the card answered %q", rt.N, rt.Request.Responses[0].Response, prev.Commands[0].AnswerHex)
					}
				}
				poll := out.RoundTrips[0].Commands[0]
				if !strings.Contains(poll.CommandText, "Polling") || !strings.Contains(poll.AnswerText, "012E4C7A11223344") {
					t.Errorf("polling decoded as %q / %q", poll.CommandText, poll.AnswerText)
				}
				write := out.RoundTrips[2].Commands[0]
				if !strings.Contains(write.CommandText, "1009") || !strings.Contains(write.AnswerText, "status") {
					t.Errorf("write decoded as %q / %q", write.CommandText, write.AnswerText)
				}
			},
		},
		{
			name: "lose the answer after the write", faults: []string{"lose-after-write"},
			wantCode: flow.StatusOperationFailed, roundTrips: 4, cardBalance: 1500,
			check: wantLostWrite,
		},
		{
			name: "fail before the write", faults: []string{"fail-before-write"},
			wantCode: flow.StatusOperationFailed, roundTrips: 4, cardBalance: 1000,
			check: wantLostWrite,
		},
		{
			name: "device error at round trip 2", faults: []string{"device-error:231@2"},
			wantCode: flow.StatusDeviceError, roundTrips: 2, cardBalance: 1000,
			check: func(t *testing.T, s *stack, out tsh.Outcome) {
				req := out.RoundTrips[1].Request
				if req.StatusCode == nil || *req.StatusCode != 231 {
					t.Errorf("statusCode %v, want 231", req.StatusCode)
				}
				if len(req.Responses) != 1 || req.Responses[0].Response != "" {
					t.Errorf("responses %+v, want one empty", req.Responses)
				}
				if s.issuer.Calls() != 1 {
					t.Errorf("the flow ran %d steps, want 1: a device failure ends the session", s.issuer.Calls())
				}
			},
		},
		{
			name: "device error on the write's batch", faults: []string{"device-error:232@4"},
			wantCode: flow.StatusDeviceOutOfMemory, roundTrips: 4, cardBalance: 1000,
		},
		{
			name: "duplicate continuation", faults: []string{"duplicate@2"},
			wantCode: 0, roundTrips: 4, cardBalance: 1500,
			check: func(t *testing.T, s *stack, out tsh.Outcome) {
				wantDuplicate(t, out.RoundTrips[1])
				if s.issuer.Calls() != 4 {
					t.Errorf("the flow ran %d steps, want 4: a replay does not run the step", s.issuer.Calls())
				}
				if out.Requests() != 5 {
					t.Errorf("Requests() = %d, want 5", out.Requests())
				}
			},
		},
		{
			name: "duplicate start", faults: []string{"duplicate@1"},
			wantCode: 0, roundTrips: 4, cardBalance: 1500,
			check: func(t *testing.T, _ *stack, out tsh.Outcome) { wantDuplicate(t, out.RoundTrips[0]) },
		},
		{
			name: "pause past the TTL", faults: []string{"pause:70s@3"},
			wantCode: flow.StatusTTLExpired, roundTrips: 3, cardBalance: 1000,
			check: func(t *testing.T, _ *stack, out tsh.Outcome) {
				if out.RoundTrips[2].Paused != 70*time.Second {
					t.Errorf("paused %v before round trip 3, want 70s", out.RoundTrips[2].Paused)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			c := sampleCard(t)
			opts := tsh.Options{Pause: func(_ context.Context, d time.Duration) error { s.clock.Advance(d); return nil }}
			for _, text := range tt.faults {
				f, err := tsh.ParseFault(text)
				if err != nil {
					t.Fatal(err)
				}
				opts.Faults = append(opts.Faults, f)
			}
			out, err := s.client.Run(context.Background(), topUpOp, c, opts)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if out.StatusCode != tt.wantCode || len(out.RoundTrips) != tt.roundTrips {
				t.Fatalf("status %d after %d round trips, want %d after %d: %+v", out.StatusCode, len(out.RoundTrips), tt.wantCode, tt.roundTrips, out)
			}
			if out.SessionID == "" || out.SessionID != out.RoundTrips[0].Reply.ResponseHeader.SessionID {
				t.Errorf("session %q, first reply's %q", out.SessionID, out.RoundTrips[0].Reply.ResponseHeader.SessionID)
			}
			if got := balanceOf(t, c); got != tt.cardBalance {
				t.Errorf("card balance %d, want %d", got, tt.cardBalance)
			}
			if tt.check != nil {
				tt.check(t, s, out)
			}
		})
	}
}

// wantLostWrite: the write got no answer; the device said so with "" and
// status 0.
func wantLostWrite(t *testing.T, _ *stack, out tsh.Outcome) {
	t.Helper()
	write := out.RoundTrips[2].Commands[0]
	if write.Answer != nil || write.NoAnswer == "" {
		t.Errorf("write answered %X (%q), want no answer", write.Answer, write.NoAnswer)
	}
	req := out.RoundTrips[3].Request
	if len(req.Responses) != 1 || req.Responses[0].Response != "" || req.StatusCode == nil || *req.StatusCode != 0 {
		t.Errorf("request after the write: %+v, want one empty response and status 0", req)
	}
}

func wantDuplicate(t *testing.T, rt tsh.RoundTrip) {
	t.Helper()
	if rt.Duplicate == nil {
		t.Fatal("the request was not sent twice")
	}
	first, again := rt.Reply.ResponseHeader, rt.Duplicate.ResponseHeader
	if first.ResponseID == again.ResponseID {
		t.Errorf("both replies have responseId %q", first.ResponseID)
	}
	if first.SessionID != again.SessionID || first.StatusCode != again.StatusCode || len(rt.Reply.Commands) != len(rt.Duplicate.Commands) {
		t.Errorf("replies differ: %+v and %+v", rt.Reply, *rt.Duplicate)
	}
}

func TestRunFailures(t *testing.T) {
	t.Run("no card in the field", func(t *testing.T) {
		s := newStack(t)
		out, err := s.client.Run(context.Background(), topUpOp, nil, tsh.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != flow.StatusOperationFailed || out.RoundTrips[0].Commands[0].NoAnswer == "" {
			t.Errorf("status %d, polling %+v; want 911 after an unanswered Polling", out.StatusCode, out.RoundTrips[0].Commands[0])
		}
	})
	t.Run("round trips bounded", func(t *testing.T) {
		s := newStack(t)
		_, err := s.client.Run(context.Background(), topUpOp, sampleCard(t), tsh.Options{MaxRoundTrips: 2})
		if !errors.Is(err, tsh.ErrTooManyRoundTrips) {
			t.Errorf("err %v, want ErrTooManyRoundTrips", err)
		}
	})
	t.Run("server gone", func(t *testing.T) {
		s := newStack(t)
		if err := s.srv.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := s.client.Run(context.Background(), topUpOp, sampleCard(t), tsh.Options{})
		if !errors.Is(err, tsh.ErrTransport) {
			t.Errorf("err %v, want ErrTransport", err)
		}
	})
	t.Run("unknown endpoint", func(t *testing.T) {
		s := newStack(t)
		op := topUpOp
		op.Endpoint = "getNothing"
		if _, err := s.client.Run(context.Background(), op, nil, tsh.Options{}); !errors.Is(err, tsh.ErrConfig) {
			t.Errorf("err %v, want ErrConfig", err)
		}
	})
	t.Run("card fault without a card", func(t *testing.T) {
		s := newStack(t)
		opts := tsh.Options{Faults: []tsh.Fault{{Kind: tsh.LoseAnswerAfterWrite}}}
		if _, err := s.client.Run(context.Background(), topUpOp, nil, opts); !errors.Is(err, tsh.ErrConfig) {
			t.Errorf("err %v, want ErrConfig", err)
		}
	})
}

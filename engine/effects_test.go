package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

const idm = "0123456789ABCDEF"

// finalWith is a step that ends the operation with status and effects.
func finalWith(status int, effects ...flow.Effect) flow.Result {
	return flow.Result{Status: status, Effects: effects}
}

func TestEffects(t *testing.T) {
	readerMode := func(r *engine.Request) {
		r.Endpoint = flow.EndpointReaderMode
		r.CardID = ""
		r.CardContents = &flow.CardContents{SystemCode: 0x80DE, IDm: idm, PMm: "0000000000000000"}
	}
	tests := []struct {
		name    string
		request func(*engine.Request)
		result  flow.Result
		want    int
		check   func(t *testing.T, h *harness, reply engine.Reply)
	}{
		{
			name:   "record balance",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.RecordBalance, Balance: 1500, Counter: 7}),
			check: func(t *testing.T, h *harness, _ engine.Reply) {
				c := h.card(cardID)
				if c.LastKnownBalance == nil || *c.LastKnownBalance != 1500 || c.LastCounter == nil || *c.LastCounter != 7 ||
					!c.UpdatedAt.Equal(epoch) {
					t.Fatalf("card %+v, want balance 1500, counter 7", c)
				}
			},
		},
		{
			name:   "park card",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.ParkCard, Balance: 800}),
			check: func(t *testing.T, h *harness, _ engine.Reply) {
				c := h.card(cardID)
				if c.ParkedBalance == nil || *c.ParkedBalance != 800 || c.ParkedAt == nil || !c.ParkedAt.Equal(epoch) {
					t.Fatalf("card %+v, want parked 800", c)
				}
			},
		},
		{
			name:    "create account from the request's IDm",
			request: readerMode,
			result:  finalWith(flow.StatusOK, flow.Effect{Kind: flow.CreateAccount, Balance: 2500}),
			check: func(t *testing.T, h *harness, reply engine.Reply) {
				if reply.CardAccountID == "" {
					t.Fatal("no cardAccountId in the reply")
				}
				var a store.Account
				h.put(func(tx store.Tx) error {
					var err error
					a, err = tx.AccountByIDm(issuerID, idm)
					return err
				})
				if a.CardAccountID != reply.CardAccountID || a.Balance != 2500 || a.SessionID != reply.SessionID {
					t.Fatalf("account %+v, reply %+v", a, reply)
				}
			},
		},
		{
			name:    "count a reader-mode attempt and blacklist",
			request: readerMode,
			result: finalWith(flow.StatusBlacklisted,
				flow.Effect{Kind: flow.CountReaderModeAttempt}, flow.Effect{Kind: flow.BlacklistIDm}),
			want: flow.StatusBlacklisted,
			check: func(t *testing.T, h *harness, _ engine.Reply) {
				var n int
				var on bool
				h.put(func(tx store.Tx) error {
					var err error
					if n, err = tx.ReaderModeAttempts(issuerID, deviceID, epoch); err != nil {
						return err
					}
					on, err = tx.Blacklisted(issuerID, idm)
					return err
				})
				if n != 1 || !on {
					t.Fatalf("%d attempts, blacklisted %v; want 1 and true", n, on)
				}
			},
		},
		{
			name:   "apply a pending purchase",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.PurchaseApplied, PurchaseID: "P-PENDING"}),
			check: func(t *testing.T, h *harness, _ engine.Reply) {
				if p := h.purchase("P-PENDING"); p.Status != store.PurchaseApplied {
					t.Fatalf("purchase %s, want APPLIED", p.Status)
				}
			},
		},
		{
			name:   "unknown purchase refuses everything",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.RecordBalance, Balance: 1}, flow.Effect{Kind: flow.PurchaseApplied, PurchaseID: "P-NONE"}),
			want:   flow.StatusOperationFailed,
		},
		{
			name:   "apply an applied purchase",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.PurchaseApplied, PurchaseID: "P-APPLIED"}),
			want:   flow.StatusOperationFailed,
		},
		{
			name:   "pending an applied purchase",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.PurchasePending, PurchaseID: "P-APPLIED"}),
			want:   flow.StatusOperationFailed,
		},
		{
			name:   "write sent for an applied purchase",
			result: flow.Result{Commands: [][]byte{frame(1)}, Effects: []flow.Effect{{Kind: flow.WriteSent, PurchaseID: "P-APPLIED", Counter: 3}}},
			want:   flow.StatusOperationFailed,
		},
		{
			name:   "purchase of another card",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.PurchaseApplied, PurchaseID: "P-OTHER"}),
			want:   flow.StatusOperationFailed,
		},
		{
			name:   "unknown card",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.RecordBalance, CardID: "CARD-NONE", Balance: 1}),
			want:   flow.StatusOperationFailed,
		},
		{
			name:   "unknown effect",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: "TELEPORT"}),
			want:   flow.StatusOperationFailed,
		},
		{
			name:   "applying a purchase twice in one step",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.PurchaseApplied, PurchaseID: "P-PENDING"}, flow.Effect{Kind: flow.PurchaseApplied, PurchaseID: "P-PENDING"}),
			want:   flow.StatusOperationFailed,
		},
		{
			name:    "account for an IDm that has one",
			request: readerMode,
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.CreateAccount, IDm: "FFFF000000000000"},
				flow.Effect{Kind: flow.CreateAccount, IDm: "FFFF000000000000"}),
			want: flow.StatusOperationFailed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, scripted(tt.result))
			h.seedLedger()
			cardBefore := h.card(cardID)
			req := startRequest()
			if tt.request != nil {
				tt.request(&req)
			}
			got := h.handle(req)
			wantStatus(t, got, tt.want)
			s, _ := h.deviceSession()
			if s.State != store.SessionEnded || s.EndReason != store.EndCompleted {
				t.Fatalf("session %s/%s, want ended COMPLETED", s.State, s.EndReason)
			}
			if tt.check != nil {
				tt.check(t, h, got)
			}
			if tt.want != flow.StatusOperationFailed {
				return
			}
			// A refused step writes nothing to the ledger.
			if got.CardAccountID != "" || len(got.Commands) != 0 {
				t.Fatalf("refused reply %+v carries an account or commands", got)
			}
			c := h.card(cardID)
			if c.LastKnownBalance != nil || len(c.Uncertain) != len(cardBefore.Uncertain) {
				t.Fatalf("card changed by a refused step: %+v", c)
			}
			for id, want := range map[string]store.PurchaseStatus{"P-PENDING": store.PurchasePending, "P-APPLIED": store.PurchaseApplied} {
				if p := h.purchase(id); p.Status != want {
					t.Fatalf("purchase %s %s, want %s", id, p.Status, want)
				}
			}
		})
	}
}

// topUpFlow polls, sends the write of P-PENDING, and settles it from the
// write's answer.
func topUpFlow() []flow.Result {
	return []flow.Result{
		{Step: "poll", Commands: [][]byte{frame(1)}},
		{Step: "write", Commands: [][]byte{frame(2)}, Effects: []flow.Effect{{Kind: flow.WriteSent, PurchaseID: "P-PENDING", Counter: 8}}},
		{Step: "done", Status: flow.StatusOK, Effects: []flow.Effect{
			{Kind: flow.PurchaseApplied, PurchaseID: "P-PENDING"},
			{Kind: flow.RecordBalance, Balance: 1700, Counter: 8},
		}},
	}
}

func topUpRequest() engine.Request {
	r := startRequest()
	r.PurchaseID = "P-PENDING"
	return r
}

func TestMoneyWriteAnswered(t *testing.T) {
	h := newHarness(t, scripted(topUpFlow()...))
	h.seedLedger()
	first := h.handle(topUpRequest())
	second := h.handle(answer(topUpRequest(), first))

	p := h.purchase("P-PENDING")
	s, _ := h.deviceSession()
	if p.Status != store.PurchaseUncertain || p.ExpectedCounter != 8 || p.SessionID != second.SessionID ||
		s.InFlight == nil || s.InFlight.PurchaseID != "P-PENDING" || s.InFlight.ExpectedCounter != 8 {
		t.Fatalf("while the write is out: purchase %+v, in flight %+v", p, s.InFlight)
	}
	if c := h.card(cardID); len(c.Uncertain) != 1 || c.Uncertain[0] != "P-PENDING" {
		t.Fatalf("card uncertain %v, want [P-PENDING]", c.Uncertain)
	}

	wantStatus(t, h.handle(answer(topUpRequest(), second)), flow.StatusOK)
	p = h.purchase("P-PENDING")
	s, _ = h.deviceSession()
	c := h.card(cardID)
	if p.Status != store.PurchaseApplied || p.SessionID != "" || s.InFlight != nil || len(c.Uncertain) != 0 ||
		*c.LastKnownBalance != 1700 {
		t.Fatalf("after the answer: purchase %+v, in flight %+v, card %+v", p, s.InFlight, c)
	}

	// The same purchase again: the flow applies it, the engine refuses.
	again := h.handle(topUpRequest())
	again = h.handle(answer(topUpRequest(), again))
	wantStatus(t, again, flow.StatusOperationFailed)
	if p := h.purchase("P-PENDING"); p.Status != store.PurchaseApplied {
		t.Fatalf("purchase %s after the refused second top-up", p.Status)
	}
}

func TestMoneyWriteUnanswered(t *testing.T) {
	tests := []struct {
		name string
		end  func(h *harness, req engine.Request) // ends the operation after the write was sent
		want store.EndReason
	}{
		{"device failure", func(h *harness, req engine.Request) {
			req.Responses[0].Frame = nil
			req.StatusCode = flow.StatusDeviceUnreachable
			h.handle(req)
		}, store.EndDeviceFailure},
		{"expiry seen by a continue", func(h *harness, req engine.Request) {
			h.clock.Advance(2 * time.Minute)
			h.handle(req)
		}, store.EndExpired},
		{"expiry seen by the sweeper", func(h *harness, _ engine.Request) {
			h.clock.Advance(2 * time.Minute)
			if _, _, err := h.engine.Sweep(context.Background()); err != nil {
				h.t.Fatal(err)
			}
		}, store.EndExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, scripted(topUpFlow()...))
			h.seedLedger()
			first := h.handle(topUpRequest())
			second := h.handle(answer(topUpRequest(), first))
			tt.end(h, answer(topUpRequest(), second))

			s := h.mustSession(second.SessionID)
			p := h.purchase("P-PENDING")
			if s.State != store.SessionEnded || s.EndReason != tt.want {
				t.Fatalf("session %s/%s, want ended %s", s.State, s.EndReason, tt.want)
			}
			if p.Status != store.PurchaseUncertain || p.ExpectedCounter != 8 {
				t.Fatalf("purchase %s counter %d, want UNCERTAIN at 8", p.Status, p.ExpectedCounter)
			}

			// The next operation on the card sees the uncertain purchase.
			var seen flow.Card
			h.issuer.Run = func(ctx context.Context, in flow.Input) (flow.Result, error) {
				c, _, err := in.Ledger.Card(ctx, cardID)
				seen = c
				return flow.Result{Status: flow.StatusOK}, err
			}
			wantStatus(t, h.handle(startRequest()), flow.StatusOK)
			if len(seen.Uncertain) != 1 || seen.Uncertain[0].PurchaseID != "P-PENDING" ||
				seen.Uncertain[0].Status != string(store.PurchaseUncertain) || seen.Uncertain[0].ExpectedCounter != 8 {
				t.Fatalf("flow saw uncertain %+v", seen.Uncertain)
			}
		})
	}
}

func TestMoneyWriteIncomplete(t *testing.T) {
	h := newHarness(t, scripted(
		flow.Result{Commands: [][]byte{frame(1), frame(2)}, Effects: []flow.Effect{{Kind: flow.WriteSent, PurchaseID: "P-PENDING", Counter: 4}}},
		flow.Result{Status: flow.StatusOK},
	))
	h.seedLedger()
	first := h.handle(topUpRequest())
	req := answer(topUpRequest(), first)
	req.Responses = req.Responses[:1]
	wantStatus(t, h.handle(req), flow.StatusOperationIncomplete)
	if p := h.purchase("P-PENDING"); p.Status != store.PurchaseUncertain || p.ExpectedCounter != 4 {
		t.Fatalf("purchase %s counter %d, want UNCERTAIN at 4", p.Status, p.ExpectedCounter)
	}
}

func TestSettleUncertainBackToPending(t *testing.T) {
	h := newHarness(t, scripted(topUpFlow()[:2]...))
	h.seedLedger()
	first := h.handle(topUpRequest())
	h.handle(answer(topUpRequest(), first))
	h.clock.Advance(2 * time.Minute)

	h.issuer.Run = scripted(finalWith(flow.StatusOK, flow.Effect{Kind: flow.PurchasePending, PurchaseID: "P-PENDING"}))
	wantStatus(t, h.handle(startRequest()), flow.StatusOK)
	p := h.purchase("P-PENDING")
	if p.Status != store.PurchasePending || p.SessionID != "" || len(h.card(cardID).Uncertain) != 0 {
		t.Fatalf("purchase %+v, card uncertain %v; want PENDING and none", p, h.card(cardID).Uncertain)
	}
}

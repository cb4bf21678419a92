package engine_test

import (
	"context"
	"errors"
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

// readerMode makes a request reader mode on the physical card idm.
func readerMode(r *engine.Request) {
	r.Endpoint = flow.EndpointReaderMode
	r.CardID = ""
	r.CardContents = &flow.CardContents{SystemCode: 0x80DE, IDm: idm, PMm: "0000000000000000"}
}

func TestEffects(t *testing.T) {
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
			name:   "park sent, then the card parked in one step",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.ParkSent, Balance: 800, Counter: 7}, flow.Effect{Kind: flow.ParkCard, Balance: 800}),
			check: func(t *testing.T, h *harness, _ engine.Reply) {
				if c := h.card(cardID); c.PendingPark != nil || c.ParkedBalance == nil || *c.ParkedBalance != 800 {
					t.Fatalf("card %+v, want parked 800 and no pending park", c)
				}
			},
		},
		{
			name:    "transfer sent, then the account created in one step",
			request: readerMode,
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.TransferSent, Balance: 2500, Counter: 9},
				flow.Effect{Kind: flow.CreateAccount, Balance: 2500}),
			check: func(t *testing.T, h *harness, reply engine.Reply) {
				if a := h.accountByIDm(idm); a.CardAccountID != reply.CardAccountID || a.Pending || a.Balance != 2500 {
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
			name: "a second money write while the first is unsettled",
			result: flow.Result{Commands: [][]byte{frame(1)}, Effects: []flow.Effect{
				{Kind: flow.WriteSent, PurchaseID: "P-PENDING", Counter: 8}, {Kind: flow.WriteSent, PurchaseID: "P-PENDING", Counter: 9},
			}},
			want: flow.StatusOperationFailed,
		},
		{
			name: "a money write after the unsettled one is settled in the same step",
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.WriteSent, PurchaseID: "P-PENDING", Counter: 8},
				flow.Effect{Kind: flow.PurchasePending, PurchaseID: "P-PENDING"},
				flow.Effect{Kind: flow.WriteSent, PurchaseID: "P-PENDING", Counter: 9}),
			check: func(t *testing.T, h *harness, _ engine.Reply) {
				if p := h.purchase("P-PENDING"); p.Status != store.PurchaseUncertain || p.ExpectedCounter != 9 {
					t.Fatalf("purchase %s at %d, want UNCERTAIN at 9", p.Status, p.ExpectedCounter)
				}
			},
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
			name:   "park sent for an unknown card",
			result: flow.Result{Commands: [][]byte{frame(1)}, Effects: []flow.Effect{{Kind: flow.ParkSent, CardID: "CARD-NONE", Balance: 800}}},
			want:   flow.StatusOperationFailed,
		},
		{
			name:   "park sent with a negative balance",
			result: flow.Result{Commands: [][]byte{frame(1)}, Effects: []flow.Effect{{Kind: flow.ParkSent, Balance: -1, Counter: 7}}},
			want:   flow.StatusOperationFailed,
		},
		{
			name:   "transfer sent without an IDm",
			result: flow.Result{Commands: [][]byte{frame(1)}, Effects: []flow.Effect{{Kind: flow.TransferSent, Balance: 2500, Counter: 9}}},
			want:   flow.StatusOperationFailed,
		},
		{
			name:    "transfer sent with a negative balance",
			request: readerMode,
			result:  flow.Result{Commands: [][]byte{frame(1)}, Effects: []flow.Effect{{Kind: flow.TransferSent, Balance: -2500, Counter: 9}}},
			want:    flow.StatusOperationFailed,
		},
		{
			name:    "transfer sent for an IDm that has an account",
			request: readerMode,
			result: flow.Result{Commands: [][]byte{frame(1)}, Effects: []flow.Effect{
				{Kind: flow.CountReaderModeAttempt}, {Kind: flow.CreateAccount, Balance: 2500}, {Kind: flow.TransferSent, Balance: 2500, Counter: 9},
			}},
			want: flow.StatusOperationFailed,
		},

		{
			name:    "confirming a transfer with another balance",
			request: readerMode,
			result: finalWith(flow.StatusOK, flow.Effect{Kind: flow.TransferSent, Balance: 2500, Counter: 9},
				flow.Effect{Kind: flow.CreateAccount, Balance: 2600}),
			want: flow.StatusOperationFailed,
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
			if c.LastKnownBalance != nil || len(c.Uncertain) != len(cardBefore.Uncertain) || c.PendingPark != nil {
				t.Fatalf("card changed by a refused step: %+v", c)
			}
			for _, physical := range []string{idm, "FFFF000000000000"} {
				if a, found := h.findAccountByIDm(physical); found {
					t.Fatalf("a refused step wrote account %+v", a)
				}
			}
			if n := h.readerModeAttempts(); n != 0 {
				t.Fatalf("a refused step counted %d reader-mode attempts", n)
			}
			for id, want := range map[string]store.PurchaseStatus{"P-PENDING": store.PurchasePending, "P-APPLIED": store.PurchaseApplied} {
				if p := h.purchase(id); p.Status != want {
					t.Fatalf("purchase %s %s, want %s", id, p.Status, want)
				}
			}
		})
	}
}

// endByDeviceFailure answers reply's batch with no answer and device
// failure 221, which ends the operation.
func endByDeviceFailure(h *harness, req engine.Request, reply engine.Reply) {
	h.t.Helper()
	req = answer(req, reply)
	req.Responses[len(req.Responses)-1].Frame = nil
	req.StatusCode = flow.StatusDeviceUnreachable
	wantStatus(h.t, h.handle(req), flow.StatusDeviceUnreachable)
}

// An operation that ended without its write's answer leaves the purchase
// UNCERTAIN; the next operation may not write money to the card before it
// settles it, whatever its flow does.
func TestNoMoneyWriteOverAnUnsettledOne(t *testing.T) {
	write := func(counter int) flow.Result {
		return flow.Result{Step: "write", Commands: [][]byte{frame(1)}, Effects: []flow.Effect{{Kind: flow.WriteSent, PurchaseID: "P-PENDING", Counter: counter}}}
	}
	h := newHarness(t, scripted(write(8)))
	h.seedLedger()
	endByDeviceFailure(h, startRequest(), h.handle(startRequest()))

	h.issuer.Run = scripted(write(9))
	wantStatus(t, h.handle(startRequest()), flow.StatusOperationFailed)
	if p := h.purchase("P-PENDING"); p.Status != store.PurchaseUncertain || p.ExpectedCounter != 8 {
		t.Fatalf("purchase %s at %d, want still UNCERTAIN at 8", p.Status, p.ExpectedCounter)
	}

	h.issuer.Run = scripted(flow.Result{Step: "settle-and-write", Commands: [][]byte{frame(1)}, Effects: []flow.Effect{
		{Kind: flow.PurchasePending, PurchaseID: "P-PENDING"}, {Kind: flow.WriteSent, PurchaseID: "P-PENDING", Counter: 8},
	}})
	wantStatus(t, h.handle(startRequest()), flow.StatusOK)
	if p := h.purchase("P-PENDING"); p.Status != store.PurchaseUncertain || p.ExpectedCounter != 8 || len(h.card(cardID).Uncertain) != 1 {
		t.Fatalf("after settling and writing again: purchase %+v, card uncertain %v", p, h.card(cardID).Uncertain)
	}
}

func TestParkSentSurvivesTheEndOfTheOperation(t *testing.T) {
	h := newHarness(t, scripted(
		flow.Result{Step: "park", Commands: [][]byte{frame(1)}, Effects: []flow.Effect{{Kind: flow.ParkSent, Balance: 1000, Counter: 7}}},
	))
	h.seedLedger()
	sent := h.handle(startRequest())
	endByDeviceFailure(h, startRequest(), sent)
	c := h.card(cardID)
	if p := c.PendingPark; p == nil || p.Balance != 1000 || p.Counter != 7 || p.SessionID != sent.SessionID || c.ParkedBalance != nil {
		t.Fatalf("after the device failure: card %+v, pending park %+v; want pending 1000 at 7 of %s", c, c.PendingPark, sent.SessionID)
	}

	// The next operation sees the pending park and completes it.
	var seen flow.Card
	h.issuer.Run = func(ctx context.Context, in flow.Input) (flow.Result, error) {
		c, _, err := in.Ledger.Card(ctx, cardID)
		seen = c
		return finalWith(flow.StatusOK, flow.Effect{Kind: flow.ParkCard, Balance: 1000}), err
	}
	wantStatus(t, h.handle(startRequest()), flow.StatusOK)
	if seen.PendingPark == nil || *seen.PendingPark != (flow.PendingPark{Balance: 1000, Counter: 7}) {
		t.Fatalf("flow saw pending park %+v", seen.PendingPark)
	}
	if c := h.card(cardID); c.PendingPark != nil || c.ParkedBalance == nil || *c.ParkedBalance != 1000 {
		t.Fatalf("after the park: card %+v, want parked 1000 and no pending park", c)
	}
}

func TestTransferSent(t *testing.T) {
	sent := func(balance int64, counter int) flow.Result {
		return flow.Result{Step: "move", Commands: [][]byte{frame(1)}, Effects: []flow.Effect{{Kind: flow.TransferSent, Balance: balance, Counter: counter}}}
	}
	created := finalWith(flow.StatusOK, flow.Effect{Kind: flow.CreateAccount, Balance: 3210})
	req := startRequest()
	readerMode(&req)

	t.Run("answered: the pending account is confirmed under its id", func(t *testing.T) {
		h := newHarness(t, scripted(sent(3210, 42), created))
		first := h.handle(req)
		pending := h.accountByIDm(idm)
		if !pending.Pending || pending.Balance != 3210 || pending.ExpectedCounter != 42 ||
			pending.CardAccountID == "" || pending.SessionID != first.SessionID {
			t.Fatalf("while the write is out: account %+v, want pending 3210 at 42 sent by %s", pending, first.SessionID)
		}
		done := h.handle(answer(req, first))
		wantStatus(t, done, flow.StatusOK)
		h.wantConfirmed(done, pending.CardAccountID, 3210)
	})

	t.Run("device failure: the next operation sees the pending account and confirms it", func(t *testing.T) {
		h := newHarness(t, scripted(sent(3210, 42)))
		first := h.handle(req)
		pending := h.accountByIDm(idm)
		endByDeviceFailure(h, req, first)
		var seen flow.Account
		h.issuer.Run = func(ctx context.Context, in flow.Input) (flow.Result, error) {
			a, _, err := in.Ledger.AccountByIDm(ctx, idm)
			seen = a
			return created, err
		}
		done := h.handle(req)
		wantStatus(t, done, flow.StatusOK)
		if !seen.Pending || seen.ExpectedCounter != 42 || seen.Balance != 3210 {
			t.Fatalf("flow saw account %+v, want pending 3210 at 42", seen)
		}
		h.wantConfirmed(done, pending.CardAccountID, 3210)
	})

	t.Run("a new transfer overwrites the pending one under its id", func(t *testing.T) {
		h := newHarness(t, scripted(sent(3210, 42)))
		first := h.handle(req)
		pending := h.accountByIDm(idm)
		endByDeviceFailure(h, req, first)
		h.issuer.Run = scripted(sent(3210, 43))
		second := h.handle(req)
		a := h.accountByIDm(idm)
		if !a.Pending || a.CardAccountID != pending.CardAccountID || a.ExpectedCounter != 43 || a.SessionID != second.SessionID {
			t.Fatalf("account %+v, want pending at 43 under id %s, sent by %s", a, pending.CardAccountID, second.SessionID)
		}
	})

	t.Run("a confirmed account is not confirmed again", func(t *testing.T) {
		h := newHarness(t, scripted(sent(3210, 42), created))
		h.handle(answer(req, h.handle(req)))
		h.issuer.Run = scripted(created)
		wantStatus(t, h.handle(req), flow.StatusOperationFailed)
	})
}

// wantConfirmed checks that the reply names the pending account pendingID,
// now an ordinary account holding balance, and that the IDm finds it.
func (h *harness) wantConfirmed(done engine.Reply, pendingID string, balance int64) {
	h.t.Helper()
	if done.CardAccountID != pendingID {
		h.t.Fatalf("reply names account %q, want the pending one %q", done.CardAccountID, pendingID)
	}
	if a := h.accountByIDm(idm); a.CardAccountID != pendingID || a.Pending || a.ExpectedCounter != 0 ||
		a.Balance != balance || a.SessionID != done.SessionID {
		h.t.Fatalf("account %+v, want %s confirmed with %d by %s", a, pendingID, balance, done.SessionID)
	}
}

func (h *harness) findAccountByIDm(physical string) (store.Account, bool) {
	h.t.Helper()
	var a store.Account
	err := h.store.View(context.Background(), func(tx store.Tx) error {
		var err error
		a, err = tx.AccountByIDm(issuerID, physical)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, false
	}
	if err != nil {
		h.t.Fatalf("read account: %v", err)
	}
	return a, true
}

func (h *harness) accountByIDm(physical string) store.Account {
	h.t.Helper()
	a, found := h.findAccountByIDm(physical)
	if !found {
		h.t.Fatalf("no account for %s", physical)
	}
	return a
}

func (h *harness) readerModeAttempts() int {
	h.t.Helper()
	var n int
	if err := h.store.View(context.Background(), func(tx store.Tx) error {
		var err error
		n, err = tx.ReaderModeAttempts(issuerID, deviceID, epoch)
		return err
	}); err != nil {
		h.t.Fatalf("count attempts: %v", err)
	}
	return n
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
			if _, err := h.engine.Sweep(context.Background()); err != nil {
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

package e2e_test

import (
	"fmt"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/tsh"
)

// sessionRow plays the session rules of CONTRACT.md §1.5 over HTTP on a
// READ of the adult card; play returns the reply under test.
type sessionRow struct {
	name string
	play func(t *testing.T, s *stack, crd *card.Card) server.ResponseHeader
	want int
	// noSession: the request never reached a session (empty sessionId).
	noSession bool
}

func TestSessionCodes(t *testing.T) {
	rows := []sessionRow{
		{name: "responses without an open session", want: flow.StatusUnknownSession, noSession: true,
			play: func(t *testing.T, s *stack, _ *card.Card) server.ResponseHeader {
				st := newStepper(s.gatewayURL, read)
				return st.must(t, st.answer([]server.Response{{CommandID: "1", Response: "0A"}}, flow.StatusOK)).ResponseHeader
			}},
		{name: "another operation while one is open", want: flow.StatusOperationOngoing,
			play: func(t *testing.T, s *stack, crd *card.Card) server.ResponseHeader {
				st := newStepper(s.gatewayURL, read)
				first := st.begin(t)
				// The same start again is a retry: the same reply.
				if again := st.begin(t); again.ResponseHeader.SessionID != first.ResponseHeader.SessionID ||
					again.ResponseHeader.ResponseID == first.ResponseHeader.ResponseID || len(again.Commands) != len(first.Commands) {
					t.Errorf("retried start: %+v, first %+v", again, first)
				}
				refused := s.run(t, park, crd)
				// The open operation is untouched: it runs to its end.
				reply := st.must(t, st.answer(runOn(t, crd, first.Commands), flow.StatusOK))
				reply = st.must(t, st.answer(runOn(t, crd, reply.Commands), flow.StatusOK))
				if reply.ResponseHeader.StatusCode != 0 || reply.Balance == nil || *reply.Balance != 1000 ||
					reply.ResponseHeader.SessionID != first.ResponseHeader.SessionID {
					t.Errorf("the open READ after a 321: %+v", reply)
				}
				return server.ResponseHeader{StatusCode: refused.StatusCode, SessionID: refused.SessionID}
			}},
		{name: "TTL passed between two calls", want: flow.StatusTTLExpired,
			play: func(t *testing.T, s *stack, crd *card.Card) server.ResponseHeader {
				out := s.run(t, read, crd, tsh.Fault{Kind: tsh.Pause, RoundTrip: 2, Delay: demoTTL + 1})
				// The session is closed; the same answer again is still 322.
				last := out.RoundTrips[len(out.RoundTrips)-1]
				st := newStepper(s.gatewayURL, read)
				if again := st.must(t, last.Request); again.ResponseHeader.StatusCode != flow.StatusTTLExpired {
					t.Errorf("answer after the expiry, again: %+v", again.ResponseHeader)
				}
				return last.Reply.ResponseHeader
			}},
		{name: "TTL not yet passed", want: flow.StatusOK,
			play: func(t *testing.T, s *stack, crd *card.Card) server.ResponseHeader {
				out := s.run(t, read, crd, tsh.Fault{Kind: tsh.Pause, RoundTrip: 2, Delay: demoTTL - 1}, tsh.Fault{Kind: tsh.Pause, RoundTrip: 3, Delay: demoTTL - 1})
				return out.RoundTrips[len(out.RoundTrips)-1].Reply.ResponseHeader
			}},
		{name: "fewer responses than commands with status 0", want: flow.StatusOperationIncomplete,
			play: func(t *testing.T, s *stack, crd *card.Card) server.ResponseHeader {
				st := newStepper(s.gatewayURL, read)
				reply := st.must(t, st.answer(runOn(t, crd, st.begin(t).Commands), flow.StatusOK))
				if len(reply.Commands) < 2 {
					t.Fatalf("READ's second batch has %d commands, want 2", len(reply.Commands))
				}
				return st.must(t, st.answer(runOn(t, crd, reply.Commands)[:1], flow.StatusOK)).ResponseHeader
			}},
		{name: "responses that answer another batch, then the right ones", want: flow.StatusOK,
			play: func(t *testing.T, s *stack, crd *card.Card) server.ResponseHeader {
				st := newStepper(s.gatewayURL, read)
				first := st.begin(t)
				responses := runOn(t, crd, first.Commands)
				wrong := []server.Response{{CommandID: "no-such-command", Response: responses[0].Response}}
				if bad := st.must(t, st.answer(wrong, flow.StatusOK)); bad.ResponseHeader.StatusCode != flow.StatusBadFormat {
					t.Errorf("wrong commandId: %+v, want 112", bad.ResponseHeader)
				}
				reply := st.must(t, st.answer(responses, flow.StatusOK))
				return st.must(t, st.answer(runOn(t, crd, reply.Commands), flow.StatusOK)).ResponseHeader
			}},
	}
	for _, code := range []int{flow.StatusDeviceUnreachable, flow.StatusDeviceError, flow.StatusDeviceOutOfMemory} {
		for _, at := range []int{2, 3} {
			rows = append(rows, sessionRow{name: fmt.Sprintf("device failure %d on round trip %d echoed", code, at), want: code,
				play: func(t *testing.T, s *stack, crd *card.Card) server.ResponseHeader {
					out := s.run(t, read, crd, tsh.Fault{Kind: tsh.DeviceError, RoundTrip: at, StatusCode: code})
					if len(out.RoundTrips) != at {
						t.Errorf("ended after %d round trips, want %d", len(out.RoundTrips), at)
					}
					return out.RoundTrips[len(out.RoundTrips)-1].Reply.ResponseHeader
				}})
		}
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			s := newStack(t)
			s.seedCard(t, tsh.CardSeed{CardID: cardID, ProductCode: 1})
			crd := demoCard(t, adultIDm)
			before := crd.Snapshot()

			got := row.play(t, s, crd)
			if got.StatusCode != row.want {
				t.Errorf("status %d %q, want %d", got.StatusCode, got.StatusMessage, row.want)
			}
			if (got.SessionID == "") != row.noSession {
				t.Errorf("sessionId %q (want empty: %v)", got.SessionID, row.noSession)
			}
			unchanged(t, before, crd)
			// Whatever happened, the device is free for the next operation.
			if out := s.run(t, read, crd); out.StatusCode != 0 || balanceOf(out) != 1000 {
				t.Errorf("next READ on the device: %s, balance %d", describe(out), balanceOf(out))
			}
		})
	}
}

package e2e_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/tsh"
)

// stepper plays one operation request by request, for the tests that must
// act between two requests (kill the server, let the clock run, answer
// only part of a batch). tsh.Client.Run plays an operation in one go.
type stepper struct {
	url      string // the gateway, scheme://host:port
	endpoint flow.Endpoint
	actorID  string
	start    server.Request
	http     *http.Client
}

// newStepper is a stepper of op (defaults filled as for tsh runs).
func newStepper(gatewayURL string, op tsh.Operation) *stepper {
	op = withDefaults(op)
	start := server.Request{
		IssuerID: op.IssuerID, CardID: op.CardID, PurchaseID: op.PurchaseID, DeviceID: op.DeviceID,
		Operation: op.Operation, CardContents: op.CardContents,
	}
	return &stepper{url: gatewayURL, endpoint: op.Endpoint, actorID: op.ActorID, start: start, http: &http.Client{}}
}

// begin sends the request that starts the operation.
func (st *stepper) begin(t testing.TB) server.Reply {
	t.Helper()
	return st.must(t, st.start)
}

// answer is the request that answers a batch with responses and the
// device's status.
func (st *stepper) answer(responses []server.Response, status int) server.Request {
	req := st.start
	req.Responses = responses
	ms := 12.5
	req.ResponseTimeMs, req.StatusCode = &ms, &status
	if status != flow.StatusOK {
		req.StatusMessage = "device failure (e2e)"
	}
	return req
}

// must sends req and fails t when no reply came.
func (st *stepper) must(t testing.TB, req server.Request) server.Reply {
	t.Helper()
	reply, err := st.send(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return reply
}

// send posts req and decodes the reply, which must be HTTP 200.
func (st *stepper) send(ctx context.Context, req server.Request) (server.Reply, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return server.Reply{}, fmt.Errorf("encode request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, st.url+server.GatewayBasePath+"/"+string(st.endpoint), bytes.NewReader(body))
	if err != nil {
		return server.Reply{}, err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set(server.HeaderActorID, st.actorID)
	resp, err := st.http.Do(hreq)
	if err != nil {
		return server.Reply{}, fmt.Errorf("POST %s: %w", st.endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return server.Reply{}, fmt.Errorf("read reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return server.Reply{}, fmt.Errorf("POST %s: HTTP %d: %s", st.endpoint, resp.StatusCode, raw)
	}
	var reply server.Reply
	if err := json.Unmarshal(raw, &reply); err != nil {
		return server.Reply{}, fmt.Errorf("decode reply %s: %w", raw, err)
	}
	return reply, nil
}

// runOn runs a batch on crd as a device does: in order, "" for a command
// the card did not answer.
func runOn(t testing.TB, crd *card.Card, commands []server.Command) []server.Response {
	t.Helper()
	out := make([]server.Response, len(commands))
	for i, c := range commands {
		frame, err := hex.DecodeString(c.Command)
		if err != nil {
			t.Fatalf("command %s: %v", c.CommandID, err)
		}
		out[i].CommandID = c.CommandID
		answer, err := crd.Transceive(context.Background(), frame)
		switch {
		case errors.Is(err, card.ErrNoAnswer):
		case err != nil:
			t.Fatalf("command %s: %v", c.CommandID, err)
		default:
			out[i].Response = strings.ToUpper(hex.EncodeToString(answer))
		}
	}
	return out
}

// isWrite reports whether a batch holds a Write Without Encryption (command
// code 08, after the LEN byte).
func isWrite(commands []server.Command) bool {
	for _, c := range commands {
		if len(c.Command) >= 4 && c.Command[2:4] == "08" {
			return true
		}
	}
	return false
}

// toWrite advances the operation until the server returns the batch that
// carries the write, running every earlier batch on crd, and returns that
// batch's reply.
func (st *stepper) toWrite(t testing.TB, crd *card.Card) server.Reply {
	t.Helper()
	reply := st.begin(t)
	for range 8 {
		if reply.ResponseHeader.StatusCode != flow.StatusOK || len(reply.Commands) == 0 {
			t.Fatalf("the operation ended before its write: %+v", reply)
		}
		if isWrite(reply.Commands) {
			return reply
		}
		reply = st.must(t, st.answer(runOn(t, crd, reply.Commands), flow.StatusOK))
	}
	t.Fatal("no write after 8 batches")
	return server.Reply{}
}

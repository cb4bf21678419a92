package server_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/server/openapitest"
	"github.com/tes-project/tes/store"
)

type handlerFunc func(context.Context, engine.Request) engine.Reply

func (f handlerFunc) Handle(ctx context.Context, req engine.Request) engine.Reply { return f(ctx, req) }

// TestFaultIsJSON500: a panic below the handler is HTTP 500 with a JSON
// body carrying 921, never fiber's plain text.
func TestFaultIsJSON500(t *testing.T) {
	s := newStack(t, withEngine(handlerFunc(func(context.Context, engine.Request) engine.Reply {
		panic("boom")
	})))
	got := s.do(t, call{endpoint: "getCardCommands", body: body(cardBase, nil)})
	if got.status != http.StatusInternalServerError || got.reply.code() != flow.StatusUnexpectedError {
		t.Fatalf("HTTP %d: %s", got.status, got.raw)
	}
	if strings.Contains(string(got.raw), "boom") {
		t.Errorf("the panic leaked to the caller: %s", got.raw)
	}
	openapitest.New(t).CheckReply(t, http.MethodPost, base+"getCardCommands", got.status, got.header, got.raw)
}

// TestRoutingMissesAreJSON: unknown paths and methods keep their HTTP code
// and still answer the gateway's JSON.
func TestRoutingMissesAreJSON(t *testing.T) {
	s := newStack(t)
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, base + "getCardCommand", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusNotFound},
		{http.MethodPost, strings.ToUpper(base) + "getCardCommands", http.StatusNotFound},
		{http.MethodGet, base + "getCardCommands", http.StatusMethodNotAllowed},
		{http.MethodPut, base + "getParkCardCommands", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, "http://tes.test"+tt.path, strings.NewReader(string(body(cardBase, nil))))
		req.Header.Set("x-actor-id", actorID)
		resp, err := s.server.Gateway().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		got := readAnswer(t, resp)
		if got.status != tt.want || got.reply.code() != flow.StatusBadFormat {
			t.Errorf("%s %s: HTTP %d %s", tt.method, tt.path, got.status, got.raw)
		}
	}
}

// TestReplyShape: what the engine says reaches the wire as the contract
// spells it.
func TestReplyShape(t *testing.T) {
	balance := int64(0)
	tests := []struct {
		name  string
		reply engine.Reply
		want  string
	}{
		{"commands in upper-case hex, no balance", engine.Reply{SessionID: "s1", StatusCode: 0, Commands: []store.Command{{ID: "1.1", Frame: []byte{0x06, 0x00, 0xab, 0xcd, 0x01, 0x0f}}}},
			`"sessionId":"s1","statusCode":0,"statusMessage":"OK","timestamp":"2026-11-24T02:00:00.000Z"},"commands":[{"commandId":"1.1","command":"0600ABCD010F"}]}`},
		{"a zero balance is still a balance", engine.Reply{SessionID: "s2", StatusCode: 0, Balance: &balance, CardAccountID: "acc-1"},
			`"sessionId":"s2","statusCode":0,"statusMessage":"OK","timestamp":"2026-11-24T02:00:00.000Z"},"commands":[],"balance":0,"cardAccountId":"acc-1"}`},
		{"the contract's message wins", engine.Reply{SessionID: "s3", StatusCode: 163, StatusMessage: "top-up would pass 20000"},
			`"sessionId":"s3","statusCode":163,"statusMessage":"Card product not eligible",`},
		{"no session", engine.Reply{StatusCode: 113},
			`"sessionId":"","statusCode":113,"statusMessage":"Unknown issuer",`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t, withEngine(handlerFunc(func(context.Context, engine.Request) engine.Reply { return tt.reply })))
			got := s.do(t, call{endpoint: "getCardCommands", body: body(cardBase, nil)})
			if got.status != 200 || !strings.Contains(string(got.raw), tt.want) {
				t.Errorf("HTTP %d\n got %s\nwant …%s", got.status, got.raw, tt.want)
			}
		})
	}
}

// TestRequestReachesEngineCopied: the engine gets the decoded request, and
// its strings stay intact after fiber reuses its buffers.
func TestRequestReachesEngineCopied(t *testing.T) {
	var kept []engine.Request
	s := newStack(t, withEngine(handlerFunc(func(_ context.Context, req engine.Request) engine.Reply {
		kept = append(kept, req)
		return engine.Reply{StatusCode: 0}
	})))
	first := body(cardBase, map[string]any{
		"purchaseId": "P-1", "operation": "TOPUP", "responseTimeMs": 7.25, "statusCode": 231, "statusMessage": "device lost",
		"responses": []any{map[string]any{"commandId": "2.1", "response": "0a0b"}, map[string]any{"commandId": "2.2", "response": ""}},
	})
	s.do(t, call{endpoint: "getCardCommands", body: first, header: map[string]string{"x-actor-id": "actor-a"}})
	for range 20 {
		s.do(t, call{endpoint: "getCardCommands", body: body(cardBase, map[string]any{"cardId": "ZZZZZZ", "deviceId": "YYYYY", "issuerId": "XXXX"}),
			header: map[string]string{"x-actor-id": "actor-zzzz"}})
	}
	got := kept[0]
	if got.Endpoint != flow.EndpointCard || got.ActorID != "actor-a" || got.IssuerID != issuerID || got.CardID != cardID ||
		got.DeviceID != deviceID || got.PurchaseID != "P-1" || got.Operation != "TOPUP" || got.ResponseTime != 7.25 ||
		got.StatusCode != 231 || got.StatusMessage != "device lost" || got.CardContents != nil {
		t.Errorf("engine got %+v", got)
	}
	if len(got.Responses) != 2 || got.Responses[0].CommandID != "2.1" || string(got.Responses[0].Frame) != "\x0a\x0b" ||
		got.Responses[1].CommandID != "2.2" || got.Responses[1].Frame != nil {
		t.Errorf("responses %+v", got.Responses)
	}
}

// BenchmarkGatewayRoundTrip measures one in-process HTTP round trip through
// the gateway app (fiber, validation, encoding) to an engine that answers
// at once, so the figure is the server's overhead without the store.
func BenchmarkGatewayRoundTrip(b *testing.B) {
	reply := engine.Reply{SessionID: "s1", Commands: []store.Command{{ID: "1.1", Frame: []byte{0x06, 0x00, 0x80, 0xDE, 0x01, 0x00}}}}
	s := newStack(b, withEngine(handlerFunc(func(context.Context, engine.Request) engine.Reply { return reply })))
	payload := body(cardBase, map[string]any{"responses": []any{map[string]any{"commandId": "1.1", "response": pollingResponse}}})
	app := s.server.Gateway()
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodPost, "http://tes.test"+base+"getCardCommands", strings.NewReader(string(payload)))
		req.Header.Set("x-actor-id", actorID)
		resp, err := app.Test(req, -1)
		if err != nil || resp.StatusCode != 200 {
			b.Fatalf("%v %v", resp, err)
		}
		resp.Body.Close()
	}
}

// TestLogsMaskCards: above debug level the gateway's log never names a
// card, and a refusal says which field and why.
func TestLogsMaskCards(t *testing.T) {
	var logged bytes.Buffer
	s := newStack(t, func(c *server.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	const secret = "CARD-SECRET-4242"
	s.do(t, call{endpoint: "getCardCommands", body: body(cardBase, map[string]any{"cardId": secret, "deviceId": strings.Repeat("D", 49)})})
	s.do(t, call{endpoint: "getCardCommands", body: body(cardBase, map[string]any{"cardId": secret})})
	s.do(t, call{endpoint: "getCardCommands", body: []byte(`{"issuerId":"DEMO","cardId":"` + secret + `"`)})
	// "SECRET": response ids are hex UUIDs, which may contain "4242".
	if strings.Contains(logged.String(), "SECRET") {
		t.Errorf("the card id is in the log:\n%s", logged.String())
	}
	if !strings.Contains(logged.String(), `"field":"deviceId","reason":"longer than 48 characters"`) {
		t.Errorf("the refusal does not say why:\n%s", logged.String())
	}
}

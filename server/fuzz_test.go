package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tes-project/tes/server"
)

// FuzzGateway drives the gateway app in-process with arbitrary bodies and
// headers: it must never panic nor answer HTTP 500, and every answer must
// be JSON with responseHeader.statusCode.
func FuzzGateway(f *testing.F) {
	f.Add(uint8(0), actorID, "application/json", body(cardBase, nil))
	f.Add(uint8(1), actorID, "application/json", body(cardBase, map[string]any{"responses": []any{map[string]any{"commandId": "1.1", "response": pollingResponse}}}))
	f.Add(uint8(2), actorID, "application/json", body(readerBase, nil))
	f.Add(uint8(0), "", "", []byte(`{"issuerId":`))
	f.Add(uint8(3), "TSH\x01", "text/plain", []byte(`[]`))
	f.Add(uint8(0), actorID, "application/json", []byte(`{"issuerId":"DEMO","cardId":"C","deviceId":"D","statusCode":1e400}`))
	s := newStack(f)
	paths := []string{"getCardCommands", "getParkCardCommands", "getReaderModeCommands", "nowhere"}

	f.Fuzz(func(t *testing.T, endpoint uint8, actor, contentType string, payload []byte) {
		if len(payload) > server.DefaultBodyLimit {
			// fasthttp refuses it before routing and app.Test then shows
			// no answer; TestMalformedRequestsChangeNothing covers it over TCP.
			return
		}
		req, err := http.NewRequest(http.MethodPost, "http://tes.test"+base+paths[int(endpoint)%len(paths)], bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("x-actor-id", actor)
		req.Header.Set("Content-Type", contentType)
		resp, err := s.server.Gateway().Test(req, -1)
		if err != nil {
			t.Fatalf("app.Test: %v", err)
		}
		got := readAnswer(t, resp)
		if got.status == http.StatusInternalServerError {
			t.Fatalf("HTTP 500: %s", got.raw)
		}
		var shape struct {
			ResponseHeader struct {
				StatusCode *int `json:"statusCode"`
			} `json:"responseHeader"`
		}
		if err := json.Unmarshal(got.raw, &shape); err != nil || shape.ResponseHeader.StatusCode == nil {
			t.Fatalf("no responseHeader.statusCode: %s", got.raw)
		}
	})
}

package server_test

import (
	"net/http"
	"testing"

	"github.com/tes-project/tes/server/openapitest"
)

// TestOpenAPIDocumentHasTeeth checks that validating against the document
// catches what it should, so that the other tests' validation means
// something.
func TestOpenAPIDocumentHasTeeth(t *testing.T) {
	api := openapitest.New(t)
	requests := []struct {
		name string
		c    call
		ok   bool
	}{
		{"valid", call{endpoint: "getCardCommands", body: body(cardBase, nil)}, true},
		{"issuerId too long", call{endpoint: "getCardCommands", body: body(cardBase, map[string]any{"issuerId": "ISSUER0123456789X"})}, false},
		{"odd hex", call{endpoint: "getCardCommands", body: body(cardBase, map[string]any{"responses": []any{map[string]any{"commandId": "1", "response": "0A1"}}})}, false},
		{"reader without deviceId", call{endpoint: "getReaderModeCommands", body: body(readerBase, map[string]any{"deviceId": nil})}, false},
		{"bad idm", call{endpoint: "getReaderModeCommands", body: body(readerBase, map[string]any{"cardContents": map[string]any{"systemCode": "80DE", "idm": "01"}})}, false},
		{"no actor", call{endpoint: "getCardCommands", noActor: true, body: body(cardBase, nil)}, false},
	}
	for _, tt := range requests {
		err := api.ValidateRequest(tt.c.request("http://tes.test"))
		if (err == nil) != tt.ok {
			t.Errorf("request %s: valid=%v, err=%v", tt.name, err == nil, err)
		}
	}
	replies := []struct {
		name string
		raw  string
		ok   bool
	}{
		{"valid", `{"responseHeader":{"responseId":"9b2f2a4e-8b1f-4a55-9a57-2b1f9e0a8c11","sessionId":"","statusCode":112,"statusMessage":"Bad parameter format","timestamp":"2026-11-24T02:00:00.000Z"},"commands":[]}`, true},
		{"no header", `{"commands":[]}`, false},
		{"unknown status code", `{"responseHeader":{"responseId":"9b2f2a4e-8b1f-4a55-9a57-2b1f9e0a8c11","sessionId":"","statusCode":500,"statusMessage":"x","timestamp":"2026-11-24T02:00:00.000Z"},"commands":[]}`, false},
		{"lower-case command", `{"responseHeader":{"responseId":"9b2f2a4e-8b1f-4a55-9a57-2b1f9e0a8c11","sessionId":"s","statusCode":0,"statusMessage":"OK","timestamp":"2026-11-24T02:00:00.000Z"},"commands":[{"commandId":"1","command":"0a"}]}`, false},
		{"timestamp without milliseconds", `{"responseHeader":{"responseId":"9b2f2a4e-8b1f-4a55-9a57-2b1f9e0a8c11","sessionId":"","statusCode":0,"statusMessage":"OK","timestamp":"2026-11-24T02:00:00Z"},"commands":[]}`, false},
	}
	for _, tt := range replies {
		err := api.ValidateReply(http.MethodPost, base+"getCardCommands", 200,
			http.Header{"Content-Type": {"application/json"}}, []byte(tt.raw))
		if (err == nil) != tt.ok {
			t.Errorf("reply %s: valid=%v, err=%v", tt.name, err == nil, err)
		}
	}
}

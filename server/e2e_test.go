package server_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server/openapitest"
)

// TestHappyPathOverHTTP plays the TSH over real HTTP for the three
// endpoints, each a two-step flow, and validates every request and reply
// against the OpenAPI document.
func TestHappyPathOverHTTP(t *testing.T) {
	s := newStack(t)
	gatewayURL := listen(t, s.server.Gateway())
	adminURL := listen(t, s.server.Admin())
	api := openapitest.New(t)

	send := func(t *testing.T, c call) answer {
		t.Helper()
		api.CheckRequest(t, c.request("http://tes.test"))
		resp, err := http.DefaultClient.Do(c.request(gatewayURL))
		if err != nil {
			t.Fatalf("POST %s: %v", c.endpoint, err)
		}
		a := readAnswer(t, resp)
		api.CheckReply(t, http.MethodPost, base+c.endpoint, a.status, a.header, a.raw)
		if a.status != 200 {
			t.Fatalf("HTTP %d: %s", a.status, a.raw)
		}
		if _, err := uuid.Parse(a.reply.ResponseHeader.ResponseID); err != nil {
			t.Errorf("responseId %q: %v", a.reply.ResponseHeader.ResponseID, err)
		}
		if got, want := a.reply.ResponseHeader.Timestamp, "2026-11-24T02:00:00.000Z"; got != want {
			t.Errorf("timestamp %q, want %q", got, want)
		}
		return a
	}
	// operate runs an operation to its end and returns the final answer.
	operate := func(t *testing.T, endpoint flow.Endpoint, start map[string]any) answer {
		t.Helper()
		first := send(t, call{endpoint: string(endpoint), body: body(start, nil)})
		if first.reply.code() != 0 || len(first.reply.Commands) != 1 || first.reply.ResponseHeader.SessionID == "" {
			t.Fatalf("start: %s", first.raw)
		}
		if got, want := first.reply.Commands[0].Command, "060080DE0100"; got != want {
			t.Errorf("command %q, want %q", got, want)
		}
		if first.reply.Balance != nil || strings.Contains(string(first.raw), "cardAccountId") {
			t.Errorf("a first reply carries balance or cardAccountId: %s", first.raw)
		}
		answers := map[string]any{
			// Lower case on the way in must decode like upper case.
			"responses":      []any{map[string]any{"commandId": first.reply.Commands[0].CommandID, "response": strings.ToLower(pollingResponse)}},
			"responseTimeMs": 41.5,
			"statusCode":     0,
			"statusMessage":  "OK",
		}
		next := call{endpoint: string(endpoint), body: body(start, answers)}
		last := send(t, next)
		if last.reply.code() != 0 || len(last.reply.Commands) != 0 {
			t.Fatalf("last: %s", last.raw)
		}
		if last.reply.ResponseHeader.SessionID != first.reply.ResponseHeader.SessionID {
			t.Errorf("sessionId changed from %q to %q", first.reply.ResponseHeader.SessionID, last.reply.ResponseHeader.SessionID)
		}
		if last.reply.Balance == nil || *last.reply.Balance != 1200 {
			t.Errorf("balance: %s", last.raw)
		}
		in := s.lastInput(t)
		if len(in.Responses) != 1 || !bytes.Equal(in.Responses[0], mustHex(t, pollingResponse)) {
			t.Errorf("the flow got responses %X", in.Responses)
		}

		replay := send(t, next)
		if replay.reply.ResponseHeader.ResponseID == last.reply.ResponseHeader.ResponseID {
			t.Error("a replay reused the responseId")
		}
		replay.reply.ResponseHeader.ResponseID = last.reply.ResponseHeader.ResponseID
		if a, b := mustJSON(t, replay.reply), mustJSON(t, last.reply); a != b {
			t.Errorf("replay differs:\n%s\n%s", a, b)
		}
		return last
	}

	t.Run("read", func(t *testing.T) {
		last := operate(t, flow.EndpointCard, cardBase)
		if strings.Contains(string(last.raw), "cardAccountId") {
			t.Errorf("cardAccountId on a read: %s", last.raw)
		}
		if in := s.lastInput(t); in.Operation != "READ" || in.Request.CardID != cardID || in.Request.DeviceID != deviceID {
			t.Errorf("the flow got %+v", in.Request)
		}
	})
	t.Run("park", func(t *testing.T) {
		operate(t, flow.EndpointPark, map[string]any{"issuerId": issuerID, "cardId": cardID, "deviceId": "DEV-2", "operation": "BLOCK_AND_READ_CARD"})
		if in := s.lastInput(t); in.Operation != "PARK" {
			t.Errorf("operation %q, want PARK", in.Operation)
		}
	})
	t.Run("reader mode", func(t *testing.T) {
		start := body(readerBase, map[string]any{"deviceId": "DEV-3", "cardContents": map[string]any{
			"systemCode": "80de", "idm": strings.ToLower(physicalIDm), "pmm": "0123456789abcdef",
			"areaCodeList": []any{map[string]any{"areaCode": "0100", "keyVersion": "6745"}, map[string]any{"areaCode": "1000", "keyVersion": "0001"}},
		}})
		var m map[string]any
		if err := json.Unmarshal(start, &m); err != nil {
			t.Fatal(err)
		}
		last := operate(t, flow.EndpointReaderMode, m)
		if last.reply.CardAccountID == "" {
			t.Errorf("no cardAccountId: %s", last.raw)
		}
		cc := s.lastInput(t).Request.CardContents
		if cc == nil || cc.SystemCode != 0x80DE || cc.IDm != physicalIDm || cc.PMm != "0123456789ABCDEF" ||
			len(cc.Areas) != 2 || cc.Areas[0] != (flow.AreaKey{AreaCode: 0x0100, KeyVersion: 0x6745}) ||
			cc.Areas[1] != (flow.AreaKey{AreaCode: 0x1000, KeyVersion: 0x0001}) {
			t.Errorf("cardContents reached the flow as %+v", cc)
		}
		account := adminGet(t, adminURL, "/admin/v1/issuers/DEMO/accounts/"+last.reply.CardAccountID)
		if account["idm"] != physicalIDm || account["balance"] != 1200.0 {
			t.Errorf("account %v", account)
		}
	})
	t.Run("trace in the admin API", func(t *testing.T) {
		page := adminGet(t, adminURL, "/admin/v1/sessions?issuerId=DEMO&deviceId="+deviceID)
		list, _ := page["sessions"].([]any)
		if len(list) != 1 {
			t.Fatalf("sessions of %s: %v", deviceID, page)
		}
		sess := adminGet(t, adminURL, "/admin/v1/sessions/"+list[0].(map[string]any)["sessionId"].(string))
		trace, _ := sess["trace"].([]any)
		if len(trace) != 2 {
			t.Fatalf("trace: %v", sess)
		}
		first := trace[0].(map[string]any)["commands"].([]any)[0].(map[string]any)
		if first["hex"] != "060080DE0100" || !strings.HasPrefix(first["decoded"].(string), "Polling system=80DE") {
			t.Errorf("first command in the trace: %v", first)
		}
		answered := trace[1].(map[string]any)["responses"].([]any)[0].(map[string]any)
		if answered["hex"] != pollingResponse || !strings.Contains(answered["decoded"].(string), "IDm="+physicalIDm) {
			t.Errorf("response in the trace: %v", answered)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		text := adminText(t, adminURL, "/metrics")
		for _, want := range []*regexp.Regexp{
			regexp.MustCompile(`tes_gateway_requests_total\{endpoint="getCardCommands",issuer="DEMO",operation="READ",status_code="0"\} 3\b`),
			regexp.MustCompile(`tes_gateway_requests_total\{endpoint="getReaderModeCommands",issuer="DEMO",operation="READER_MODE",status_code="0"\} 3\b`),
			regexp.MustCompile(`tes_gateway_request_duration_seconds_count\{endpoint="getParkCardCommands"\} 3\b`),
		} {
			if !want.MatchString(text) {
				t.Errorf("metrics lack %s:\n%s", want, text)
			}
		}
	})
}

func adminText(t *testing.T, baseURL, path string) string {
	t.Helper()
	resp, err := http.Get(baseURL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: HTTP %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

func adminGet(t *testing.T, baseURL, path string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(adminText(t, baseURL, path)), &m); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return m
}

func adminGetList(t *testing.T, baseURL, path string) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal([]byte(adminText(t, baseURL, path)), &l); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return l
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

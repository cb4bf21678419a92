package server_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server/openapitest"
)

// TestMalformedRequestsChangeNothing sends every malformed request we could
// think of and checks the exact status code, HTTP 200, a contract-shaped
// reply, and that no session, ledger record or flow step changed.
func TestMalformedRequestsChangeNothing(t *testing.T) {
	const (
		card   = string(flow.EndpointCard)
		park   = string(flow.EndpointPark)
		reader = string(flow.EndpointReaderMode)
	)
	okResponses := func(id string) []any { return []any{map[string]any{"commandId": id, "response": pollingResponse}} }
	withResponse := func(frame string) func(string) []byte {
		return func(id string) []byte {
			return body(cardBase, map[string]any{"responses": []any{map[string]any{"commandId": id, "response": frame}}})
		}
	}
	readerCC := func(set map[string]any) []byte {
		cc := map[string]any{}
		for k, v := range readerBase["cardContents"].(map[string]any) {
			cc[k] = v
		}
		for k, v := range set {
			if v == nil {
				delete(cc, k)
			} else {
				cc[k] = v
			}
		}
		return body(readerBase, map[string]any{"cardContents": cc})
	}
	area := func(code, version any) map[string]any {
		m := map[string]any{}
		if code != nil {
			m["areaCode"] = code
		}
		if version != nil {
			m["keyVersion"] = version
		}
		return map[string]any{"areaCodeList": []any{m}}
	}
	item := func(m map[string]any) map[string]any { return map[string]any{"responses": []any{m}} }

	tests := []struct {
		name     string
		endpoint string // default getCardCommands
		header   map[string]string
		noActor  bool
		body     []byte
		// started: a session is open on the device; bodyFor builds the body
		// from the open batch's commandId.
		started bool
		bodyFor func(commandID string) []byte
		// overTCP: send through a real listener; app.Test cannot show the
		// answer to a body fasthttp refuses before routing.
		overTCP bool
		want    int
	}{
		// The header comes first.
		{name: "no x-actor-id", noActor: true, body: body(cardBase, nil), want: 111},
		{name: "empty x-actor-id", header: map[string]string{"x-actor-id": ""}, body: body(cardBase, nil), want: 111},
		{name: "no x-actor-id beats malformed JSON", noActor: true, body: []byte(`{"issuerId":`), want: 111},
		{name: "x-actor-id of 33 characters", header: map[string]string{"x-actor-id": strings.Repeat("a", 33)}, body: body(cardBase, nil), want: 112},
		{name: "x-actor-id of 33 two-byte characters", header: map[string]string{"x-actor-id": strings.Repeat("é", 33)}, body: body(cardBase, nil), want: 112},
		{name: "x-actor-id with a control character", header: map[string]string{"x-actor-id": "TSH\x01"}, body: body(cardBase, nil), want: 112},
		{name: "x-actor-id with DEL", header: map[string]string{"x-actor-id": "TSH\x7f"}, body: body(cardBase, nil), want: 112},
		{name: "x-actor-id not UTF-8", header: map[string]string{"x-actor-id": "TSH\xff"}, body: body(cardBase, nil), want: 112},

		// Then the JSON.
		{name: "truncated JSON", body: []byte(`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV`), want: 112},
		{name: "JSON array", body: []byte(`[{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1"}]`), want: 112},
		{name: "JSON string", body: []byte(`"DEMO"`), want: 112},
		{name: "JSON null", body: []byte(`null`), want: 112},
		{name: "empty body", body: nil, want: 112},
		{name: "data after the object", body: append(body(cardBase, nil), []byte(` {}`)...), want: 112},
		{name: "not JSON", body: []byte(`issuerId=DEMO&cardId=CARD-1`), want: 112},
		{name: "invalid UTF-8 in a string", body: []byte("{\"issuerId\":\"DEMO\",\"cardId\":\"CARD\xff\",\"deviceId\":\"DEV-1\"}"), want: 112},
		{name: "body of 1 MB", overTCP: true, body: body(cardBase, map[string]any{"padding": strings.Repeat("x", 1<<20)}), want: 112},
		{name: "body one byte over 64 KiB", overTCP: true, body: bodyOfSize(64<<10 + 1), want: 112},
		{name: "gzip-encoded body", header: map[string]string{"Content-Encoding": "gzip"}, body: gzipped(body(cardBase, nil)), want: 112},
		{name: "malformed JSON beats missing fields", body: []byte(`{"cardId":}`), want: 112},
		{name: "invalid escape in an unknown field", body: []byte(`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1","x":"\0"}`), want: 112},
		{name: "trailing comma in an unknown field", body: []byte(`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1","x":[1,]}`), want: 112},
		{name: "unknown field nested past 10000 levels", body: nested(10000), want: 112},
		{name: "number with a leading zero in an unknown field", body: []byte(`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1","x":01}`), want: 112},

		// Then required fields.
		{name: "issuerId missing", body: body(cardBase, map[string]any{"issuerId": nil}), want: 111},
		{name: "issuerId null", body: body(cardBase, map[string]any{"issuerId": null}), want: 111},
		{name: "issuerId empty", body: body(cardBase, map[string]any{"issuerId": ""}), want: 111},
		{name: "cardId missing", body: body(cardBase, map[string]any{"cardId": nil}), want: 111},
		{name: "cardId null", body: body(cardBase, map[string]any{"cardId": null}), want: 111},
		{name: "cardId empty", body: body(cardBase, map[string]any{"cardId": ""}), want: 111},
		{name: "deviceId missing", body: body(cardBase, map[string]any{"deviceId": nil}), want: 111},
		{name: "deviceId null", body: body(cardBase, map[string]any{"deviceId": null}), want: 111},
		{name: "deviceId empty", body: body(cardBase, map[string]any{"deviceId": ""}), want: 111},
		{name: "empty object", body: []byte(`{}`), want: 111},
		{name: "missing beats wrong type", body: body(cardBase, map[string]any{"issuerId": 5, "deviceId": nil}), want: 111},
		{name: "missing beats too long", body: body(cardBase, map[string]any{"issuerId": strings.Repeat("I", 17), "cardId": ""}), want: 111},
		{name: "park: cardId missing", endpoint: park, body: body(cardBase, map[string]any{"cardId": nil}), want: 111},
		{name: "park: issuerId empty", endpoint: park, body: body(cardBase, map[string]any{"issuerId": ""}), want: 111},
		{name: "park: deviceId null", endpoint: park, body: body(cardBase, map[string]any{"deviceId": null}), want: 111},
		{name: "reader: issuerId missing", endpoint: reader, body: body(readerBase, map[string]any{"issuerId": nil}), want: 111},
		{name: "reader: deviceId empty", endpoint: reader, body: body(readerBase, map[string]any{"deviceId": ""}), want: 111},
		// Member names match exactly, and of a name given twice the last counts.
		{name: "issuerId in another case", body: []byte(`{"IssuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1"}`), want: 111},
		{name: "duplicate issuerId, the last null", body: []byte(`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1","issuerId":null}`), want: 111},

		// Then formats.
		{name: "issuerId of 17 characters", body: body(cardBase, map[string]any{"issuerId": strings.Repeat("I", 17)}), want: 112},
		{name: "cardId of 49 characters", body: body(cardBase, map[string]any{"cardId": strings.Repeat("C", 49)}), want: 112},
		{name: "deviceId of 49 characters", body: body(cardBase, map[string]any{"deviceId": strings.Repeat("D", 49)}), want: 112},
		{name: "purchaseId of 65 characters", body: body(cardBase, map[string]any{"purchaseId": strings.Repeat("P", 65)}), want: 112},
		{name: "purchaseId empty", body: body(cardBase, map[string]any{"purchaseId": ""}), want: 112},
		{name: "operation empty", body: body(cardBase, map[string]any{"operation": ""}), want: 112},
		{name: "operation of 65 characters", body: body(cardBase, map[string]any{"operation": strings.Repeat("O", 65)}), want: 112},
		{name: "statusMessage of 257 characters", body: body(cardBase, map[string]any{"statusMessage": strings.Repeat("m", 257)}), want: 112},
		{name: "issuerId a number", body: body(cardBase, map[string]any{"issuerId": 5}), want: 112},
		{name: "cardId a boolean", body: body(cardBase, map[string]any{"cardId": true}), want: 112},
		{name: "deviceId an object", body: body(cardBase, map[string]any{"deviceId": map[string]any{"id": "x"}}), want: 112},
		{name: "purchaseId an array", body: body(cardBase, map[string]any{"purchaseId": []any{"P-1"}}), want: 112},
		{name: "operation a number", body: body(cardBase, map[string]any{"operation": 1}), want: 112},
		{name: "statusMessage a number", body: body(cardBase, map[string]any{"statusMessage": 0}), want: 112},
		{name: "responseTimeMs a string", body: body(cardBase, map[string]any{"responseTimeMs": "12"}), want: 112},
		{name: "responseTimeMs negative", body: body(cardBase, map[string]any{"responseTimeMs": -1}), want: 112},
		{name: "responseTimeMs past a day", body: body(cardBase, map[string]any{"responseTimeMs": 86400001}), want: 112},
		{name: "responseTimeMs huge", body: body(cardBase, map[string]any{"responseTimeMs": 1e308}), want: 112},
		{name: "statusCode a string", body: body(cardBase, map[string]any{"statusCode": "0"}), want: 112},
		{name: "statusCode a fraction", body: body(cardBase, map[string]any{"statusCode": 1.5}), want: 112},
		{name: "statusCode negative", body: body(cardBase, map[string]any{"statusCode": -1}), want: 112},
		{name: "statusCode of four digits", body: body(cardBase, map[string]any{"statusCode": 1000}), want: 112},
		{name: "NUL in issuerId", body: body(cardBase, map[string]any{"issuerId": "DE\x00MO"}), want: 112},
		{name: "newline in cardId", body: body(cardBase, map[string]any{"cardId": "CARD\n1"}), want: 112},
		{name: "DEL in deviceId", body: body(cardBase, map[string]any{"deviceId": "DEV\x7f"}), want: 112},
		{name: "C1 control in statusMessage", body: body(cardBase, map[string]any{"statusMessage": "ok\u0085"}), want: 112},
		{name: "tab in operation", body: body(cardBase, map[string]any{"operation": "READ\t"}), want: 112},
		{name: "escaped control in purchaseId", body: []byte(`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1","purchaseId":"P\u0001"}`), want: 112},
		{name: "responses an object", body: body(cardBase, map[string]any{"responses": map[string]any{}}), want: 112},
		{name: "responses item a string", body: body(cardBase, map[string]any{"responses": []any{"0A"}}), want: 112},
		{name: "responses item without commandId", body: body(cardBase, item(map[string]any{"response": pollingResponse})), want: 112},
		{name: "responses item with empty commandId", body: body(cardBase, item(map[string]any{"commandId": "", "response": pollingResponse})), want: 112},
		{name: "responses item with numeric commandId", body: body(cardBase, item(map[string]any{"commandId": 1, "response": pollingResponse})), want: 112},
		{name: "responses item with commandId of 65", body: body(cardBase, item(map[string]any{"commandId": strings.Repeat("1", 65), "response": pollingResponse})), want: 112},
		{name: "responses item without response", body: body(cardBase, item(map[string]any{"commandId": "1"})), want: 112},
		{name: "responses item with null response", body: body(cardBase, item(map[string]any{"commandId": "1", "response": null})), want: 112},
		{name: "responses item with numeric response", body: body(cardBase, item(map[string]any{"commandId": "1", "response": 14})), want: 112},
		{name: "odd-length hex", body: body(cardBase, item(map[string]any{"commandId": "1", "response": "0A1"})), want: 112},
		{name: "bad hex", body: body(cardBase, item(map[string]any{"commandId": "1", "response": "ZZ"})), want: 112},
		{name: "hex with a space", body: body(cardBase, item(map[string]any{"commandId": "1", "response": "0A 0B"})), want: 112},
		{name: "frame of 256 bytes", body: body(cardBase, item(map[string]any{"commandId": "1", "response": strings.Repeat("00", 256)})), want: 112},
		{name: "reader: cardContents a string", endpoint: reader, body: body(readerBase, map[string]any{"cardContents": "80DE"}), want: 112},
		{name: "reader: systemCode missing", endpoint: reader, body: readerCC(map[string]any{"systemCode": nil}), want: 112},
		{name: "reader: systemCode of 3 digits", endpoint: reader, body: readerCC(map[string]any{"systemCode": "80D"}), want: 112},
		{name: "reader: systemCode of 5 digits", endpoint: reader, body: readerCC(map[string]any{"systemCode": "80DE0"}), want: 112},
		{name: "reader: systemCode not hex", endpoint: reader, body: readerCC(map[string]any{"systemCode": "GGGG"}), want: 112},
		{name: "reader: systemCode a number", endpoint: reader, body: readerCC(map[string]any{"systemCode": 32990}), want: 112},
		{name: "reader: idm missing", endpoint: reader, body: readerCC(map[string]any{"idm": nil}), want: 112},
		{name: "reader: idm of 15 digits", endpoint: reader, body: readerCC(map[string]any{"idm": physicalIDm[:15]}), want: 112},
		{name: "reader: pmm of 17 digits", endpoint: reader, body: readerCC(map[string]any{"pmm": "00000000000000000"}), want: 112},
		{name: "reader: pmm not hex", endpoint: reader, body: readerCC(map[string]any{"pmm": "000000000000000X"}), want: 112},
		{name: "reader: cardServiceId with a control character", endpoint: reader, body: readerCC(map[string]any{"cardServiceId": "a\x1b"}), want: 112},
		{name: "reader: areaCodeList an object", endpoint: reader, body: readerCC(map[string]any{"areaCodeList": map[string]any{}}), want: 112},
		{name: "reader: area without keyVersion", endpoint: reader, body: readerCC(area("1000", nil)), want: 112},
		{name: "reader: area without areaCode", endpoint: reader, body: readerCC(area(nil, "0001")), want: 112},
		{name: "reader: areaCode of 5 digits", endpoint: reader, body: readerCC(area("10000", "0001")), want: 112},
		{name: "reader: keyVersion not hex", endpoint: reader, body: readerCC(area("1000", "00G1")), want: 112},
		{name: "duplicate issuerId, the last a number", body: []byte(`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1","issuerId":5}`), want: 112},
		{name: "responses item with commandId in another case", body: body(cardBase, item(map[string]any{"CommandId": "1", "response": pollingResponse})), want: 112},
		{name: "reader: idm in another case", endpoint: reader, body: readerCC(map[string]any{"idm": nil, "IDm": physicalIDm}), want: 112},
		{name: "reader: area with areaCode in another case", endpoint: reader, body: readerCC(map[string]any{"areaCodeList": []any{map[string]any{"AreaCode": "1000", "keyVersion": "0001"}}}), want: 112},

		// Then the engine: issuer, operation, session rules.
		{name: "unknown issuer", body: body(cardBase, map[string]any{"issuerId": "NOPE"}), want: 113},
		{name: "unknown operation", body: body(cardBase, map[string]any{"operation": "TRANSFER"}), want: 112},
		{name: "operation of another endpoint", body: body(cardBase, map[string]any{"operation": "PARK"}), want: 112},
		{name: "park: unknown operation", endpoint: park, body: body(cardBase, map[string]any{"operation": "READ"}), want: 112},
		{name: "reader: unknown issuer", endpoint: reader, body: body(readerBase, map[string]any{"issuerId": "NOPE"}), want: 113},
		{name: "responses with no session open", body: body(cardBase, map[string]any{"responses": okResponses("1")}), want: 118},
		{name: "frame with a LEN too large", started: true, bodyFor: withResponse("15" + pollingResponse[2:]), want: 112},
		{name: "frame with a LEN too small", started: true, bodyFor: withResponse("13" + pollingResponse[2:]), want: 112},
		{name: "responses for the wrong batch", started: true, bodyFor: func(string) []byte {
			return body(cardBase, map[string]any{"responses": okResponses("9.9")})
		}, want: 112},
		{name: "responses in the right batch, wrong order", started: true, bodyFor: func(id string) []byte {
			return body(cardBase, map[string]any{"responses": append(okResponses(id+"x"), okResponses(id)...)})
		}, want: 112},
		{name: "another operation while one is open", started: true, bodyFor: func(string) []byte {
			return body(cardBase, map[string]any{"purchaseId": purchaseID})
		}, want: 321},
		{name: "open session, bad hex still refused first", started: true, bodyFor: withResponse("0G"), want: 112},
	}
	api := openapitest.New(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			payload := tt.body
			if tt.started {
				start := s.do(t, call{endpoint: card, body: body(cardBase, nil)})
				if start.reply.code() != 0 || len(start.reply.Commands) != 1 {
					t.Fatalf("could not open a session: %s", start.raw)
				}
				payload = tt.bodyFor(start.reply.Commands[0].CommandID)
			}
			endpoint := tt.endpoint
			if endpoint == "" {
				endpoint = card
			}
			before, steps := s.snapshot(t), s.demo.Calls()

			c := call{endpoint: endpoint, header: tt.header, noActor: tt.noActor, body: payload}
			var got answer
			if tt.overTCP {
				got = s.doTCP(t, c)
			} else {
				got = s.do(t, c)
			}

			if got.status != 200 {
				t.Errorf("HTTP %d, want 200", got.status)
			}
			if got.reply.code() != tt.want {
				t.Errorf("statusCode %d, want %d: %s", got.reply.code(), tt.want, got.raw)
			}
			if want, _ := flow.StatusMessage(tt.want); got.reply.ResponseHeader.StatusMessage != want {
				t.Errorf("statusMessage %q, want %q", got.reply.ResponseHeader.StatusMessage, want)
			}
			if len(got.reply.Commands) != 0 {
				t.Errorf("a refusal carries commands: %s", got.raw)
			}
			if after := s.snapshot(t); after != before {
				t.Errorf("the store changed:\nbefore %s\nafter  %s", before, after)
			}
			if s.demo.Calls() != steps {
				t.Errorf("the flow ran %d more steps", s.demo.Calls()-steps)
			}
			api.CheckReply(t, http.MethodPost, base+endpoint, got.status, got.header, got.raw)
		})
	}
}

// TestAcceptedRequests checks requests at the limits, or with what must be
// ignored, reach the engine and succeed.
func TestAcceptedRequests(t *testing.T) {
	tests := []struct {
		name     string
		endpoint flow.Endpoint
		header   map[string]string
		body     []byte
	}{
		{name: "x-actor-id of 32 characters", header: map[string]string{"x-actor-id": strings.Repeat("a", 32)}, body: body(cardBase, nil)},
		{name: "x-actor-id of 32 two-byte characters", header: map[string]string{"x-actor-id": strings.Repeat("é", 32)}, body: body(cardBase, nil)},
		{name: "issuerId of 16 characters", body: body(cardBase, map[string]any{"issuerId": longIssuerID})},
		{name: "cardId of 48 characters", body: body(cardBase, map[string]any{"cardId": strings.Repeat("C", 48)})},
		{name: "deviceId of 48 characters", body: body(cardBase, map[string]any{"deviceId": strings.Repeat("D", 48)})},
		{name: "purchaseId of 64 characters", body: body(cardBase, map[string]any{"purchaseId": strings.Repeat("P", 64)})},
		{name: "statusMessage of 256 characters", body: body(cardBase, map[string]any{"statusMessage": strings.Repeat("m", 256)})},
		{name: "empty statusMessage", body: body(cardBase, map[string]any{"statusMessage": ""})},
		{name: "optional fields null", body: body(cardBase, map[string]any{"purchaseId": null, "operation": null, "responses": null, "statusCode": null})},
		{name: "empty responses start", body: body(cardBase, map[string]any{"responses": []any{}})},
		{name: "unknown fields ignored", body: body(cardBase, map[string]any{"extra": map[string]any{"deep": []any{1, "\x01"}}, "ISSUERID": 5})},
		{name: "fields of other endpoints ignored", body: body(cardBase, map[string]any{"cardContents": "not checked here"})},
		{name: "park ignores purchaseId", endpoint: flow.EndpointPark, body: body(cardBase, map[string]any{"purchaseId": 5})},
		{name: "reader ignores cardId", endpoint: flow.EndpointReaderMode, body: body(readerBase, map[string]any{"cardId": true})},
		{name: "reader without cardContents", endpoint: flow.EndpointReaderMode, body: body(readerBase, map[string]any{"cardContents": nil})},
		{name: "statusCode written as 0.0", body: []byte(`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1","statusCode":0.0}`)},
		{name: "responseTimeMs a fraction", body: body(cardBase, map[string]any{"responseTimeMs": 12.5})},
		{name: "responseTimeMs a day", body: body(cardBase, map[string]any{"responseTimeMs": 86400000})},
		{name: "body of exactly 64 KiB", body: bodyOfSize(64 << 10)},
		{name: "unknown field nested 10000 levels", body: nested(9999)},
		{name: "duplicate issuerId, the last one counts", body: []byte(`{"issuerId":"NOPE","cardId":"CARD-1","deviceId":"DEV-1","issuerId":"DEMO"}`)},
		{name: "member name with an escape", body: []byte(`{"issuer\u0049d":"DEMO","cardId":"CARD-1","deviceId":"DEV-1"}`)},
		{name: "escaped lone surrogate in statusMessage", body: []byte(`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1","statusMessage":"\ud800"}`)},
		{name: "white space around and inside the JSON", body: []byte(" \r\n\t{ \"issuerId\" : \"DEMO\" ,\n\"cardId\":\"CARD-1\",\"deviceId\":\"DEV-1\" }\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStack(t)
			endpoint := tt.endpoint
			if endpoint == "" {
				endpoint = flow.EndpointCard
			}
			got := s.do(t, call{endpoint: string(endpoint), header: tt.header, body: tt.body})
			if got.status != 200 || got.reply.code() != 0 || len(got.reply.Commands) != 1 || got.reply.ResponseHeader.SessionID == "" {
				t.Fatalf("HTTP %d: %s", got.status, got.raw)
			}
		})
	}
}

// TestActorAllowlist: with an allowlist, other actors get 112 and change
// nothing; listed ones pass.
func TestActorAllowlist(t *testing.T) {
	s := newStack(t, withActors("TSH-A", "TSH-B"))
	before := s.snapshot(t)
	got := s.do(t, call{endpoint: string(flow.EndpointCard), body: body(cardBase, nil)}) // actorID is not listed
	if got.reply.code() != 112 {
		t.Fatalf("unlisted actor: %s", got.raw)
	}
	if s.snapshot(t) != before {
		t.Fatal("an unlisted actor changed the store")
	}
	got = s.do(t, call{endpoint: string(flow.EndpointCard), header: map[string]string{"x-actor-id": "TSH-B"}, body: body(cardBase, nil)})
	if got.reply.code() != 0 {
		t.Fatalf("listed actor: %s", got.raw)
	}
	if sess := s.lastInput(t); sess.Request.CardID != cardID {
		t.Fatalf("flow saw card %q", sess.Request.CardID)
	}
}

// bodyOfSize is a valid getCardCommands body of exactly n bytes, padded
// with an unknown field.
func bodyOfSize(n int) []byte {
	b := body(cardBase, map[string]any{"padding": ""})
	pad := n - len(b)
	return bytes.Replace(b, []byte(`"padding":""`), []byte(`"padding":"`+strings.Repeat("x", pad)+`"`), 1)
}

// nested is a valid getCardCommands body with an unknown field of arrays
// nested depth deep, inside the body's object.
func nested(depth int) []byte {
	return []byte(`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1","x":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`)
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

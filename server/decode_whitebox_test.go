package server

import (
	"bytes"
	stdjson "encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/goccy/go-json/jsontext"

	"github.com/tes-project/tes/flow"
)

// BenchmarkDecodeRequest measures validation and decoding of typical
// requests, the server's own share of a gateway call.
func BenchmarkDecodeRequest(b *testing.B) {
	cases := []struct {
		name     string
		endpoint flow.Endpoint
		body     string
	}{
		{"start", flow.EndpointCard, `{"issuerId":"DEMO","cardId":"CARD-1","purchaseId":"P-1","deviceId":"DEV-1","operation":"TOPUP"}`},
		{"continue", flow.EndpointCard, `{"issuerId":"DEMO","cardId":"CARD-1","purchaseId":"P-1","deviceId":"DEV-1","responseTimeMs":41.5,"statusCode":0,` +
			`"responses":[{"commandId":"2.1","response":"1401010203040506070800000000000000000080DE"},` +
			`{"commandId":"2.2","response":"2D0701020304050607080000010000000000000000000000000000000000000000000000000000000000000000"}]}`},
		{"reader mode", flow.EndpointReaderMode, `{"issuerId":"DEMO","deviceId":"DEV-1","cardContents":{"cardServiceId":"Test Service",` +
			`"systemCode":"80DE","idm":"0102030405060708","pmm":"0000000000000000","areaCodeList":[{"areaCode":"0100","keyVersion":"6745"},{"areaCode":"1000","keyVersion":"0001"}]}}`},
	}
	for _, c := range cases {
		body := []byte(c.body)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, bad := decodeRequest(c.endpoint, "TSH-1", body, nil, newRawRequestPool()); bad != nil {
					b.Fatalf("%s: %s", bad.field, bad.reason)
				}
			}
		})
	}
}

// TestDecodeRequestOwnsItsValues checks that a decoded request shares no
// memory with its body, which fiber reuses, nor with the pooled rawRequest,
// which the next request decodes into.
func TestDecodeRequestOwnsItsValues(t *testing.T) {
	first := []byte(`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1","operation":"TOPUP","statusMessage":"ok",` +
		`"responses":[{"commandId":"1.1","response":"0A0B"}]}`)
	pool := newRawRequestPool()
	req, bad := decodeRequest(flow.EndpointCard, "TSH-1", first, nil, pool)
	if bad != nil {
		t.Fatalf("%s: %s", bad.field, bad.reason)
	}
	want := fmt.Sprintf("%+v", req)
	for i := range first {
		first[i] = 'x'
	}
	second := []byte(`{"issuerId":"ZZZZ","cardId":"ZZZZZZ","deviceId":"ZZZZZ","operation":"ZZZZZ","statusMessage":"ZZ",` +
		`"responses":[{"commandId":"Z.Z","response":"FFFF"}]}`)
	if _, bad := decodeRequest(flow.EndpointCard, "TSH-1", second, nil, newRawRequestPool()); bad != nil {
		t.Fatalf("%s: %s", bad.field, bad.reason)
	}
	if got := fmt.Sprintf("%+v", req); got != want {
		t.Fatalf("the request changed after its body was reused:\n got %s\nwant %s", got, want)
	}
}

// FuzzDecodeMatchesEncodingJSON holds the codec decodeRequest uses to what
// encoding/json decided before it: the same inputs are objects, each member
// is found under the same exact name with the same raw value, and strings,
// numbers and arrays decode alike. The validation tests pin the status
// codes; this pins the codec under them.
func FuzzDecodeMatchesEncodingJSON(f *testing.F) {
	for _, seed := range []string{
		`{"issuerId":"DEMO","cardId":"CARD-1","purchaseId":"P-1","deviceId":"DEV-1","operation":"TOPUP"}`,
		`{"issuerId":"DEMO","cardId":"CARD-1","deviceId":"DEV-1","responseTimeMs":41.5,"statusCode":0,` +
			`"responses":[{"commandId":"2.1","response":"1401010203040506070800000000000000000080DE"},{"commandId":"2.2","response":""}]}`,
		`{"cardServiceId":"Test Service","systemCode":"80DE","idm":"0102030405060708","pmm":"0000000000000000",` +
			`"areaCodeList":[{"areaCode":"0100","keyVersion":"6745"}]}`,
		`{"areaCode":"0100","keyVersion":"6745","areaCode":null}`,
		`{"issuerId":"DEMO","issuerId":5,"ISSUERID":"X","IssuerId":"Y"}`,
		`{"issuer\u0049d":"DEMO","card\/Id":"C"}`,
		`{"commandId":"\ud800","response":"\ud83d\ude00\udc00\u0041"}`,
		`{"cardContents":{"a":1},"cardContents":{"b":2}}`,
		`{"statusCode":1e400,"responseTimeMs":-0.0}`,
		` {"x" : [ 1 , "2" , {} , [] , null , true ] } `,
		`{"x":[1,]}`, `{"x":01}`, `{"x":"\0"}`, `{"x":"\q"}`, `{"x":1.}`, `{"x":-}`, `{"x":.5}`, `{"x":tru}`,
		`{"x":"\u00zz"}`, "{\"x\":\"\x01\"}", `{"":"\0","000000":"0","00000000":"0"}`, `{"x":1,}`, `{"x":1} {}`,
		`null`, `[]`, `""`, `"\u0000"`, `-0`, `1e400`, `12.0e1`, `[null,{"commandId":"1"}]`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) {
			return // decodeRequest refuses it before any decoding
		}
		for _, dst := range []any{new(rawRequest), new(rawResponse), new(rawCardContents), new(rawAreaKey)} {
			checkMembers(t, data, dst)
		}
		// What is left in a value after an error is never used, and the
		// codecs leave different things there: only accepted values are
		// compared.
		var wantS, gotS string
		wantErr, gotErr := stdjson.Unmarshal(data, &wantS), unmarshal(data, &gotS)
		if (gotErr == nil) != (wantErr == nil) || (gotErr == nil && gotS != wantS) {
			t.Fatalf("string %q: %q, %v; encoding/json: %q, %v", data, gotS, gotErr, wantS, wantErr)
		}
		var wantF, gotF float64
		wantErr, gotErr = stdjson.Unmarshal(data, &wantF), unmarshal(data, &gotF)
		if (gotErr == nil) != (wantErr == nil) || (gotErr == nil && math.Float64bits(gotF) != math.Float64bits(wantF)) {
			t.Fatalf("number %q: %v, %v; encoding/json: %v, %v", data, gotF, gotErr, wantF, wantErr)
		}
		var wantA []stdjson.RawMessage
		var gotA []jsontext.Value
		wantErr, gotErr = stdjson.Unmarshal(data, &wantA), unmarshal(data, &gotA)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("array %q: %v; encoding/json: %v", data, gotErr, wantErr)
		}
		if gotErr == nil && !slices.EqualFunc(gotA, wantA, func(g jsontext.Value, w stdjson.RawMessage) bool { return bytes.Equal(g, w) }) {
			t.Fatalf("array %q: %q; encoding/json: %q", data, gotA, wantA)
		}
	})
}

// checkMembers decodes data into dst, a pointer to a struct of raw members,
// and into a map as encoding/json did, and compares each member.
func checkMembers(t *testing.T, data []byte, dst any) {
	t.Helper()
	var want map[string]stdjson.RawMessage
	wantObject := stdjson.Unmarshal(data, &want) == nil && want != nil
	reason := decodeObject(data, dst)
	if (reason == "") != wantObject {
		t.Fatalf("%T %q: object %v; encoding/json: %v", dst, data, reason == "", wantObject)
	}
	if !wantObject {
		return
	}
	v := reflect.ValueOf(dst).Elem()
	for i := range v.NumField() {
		name := v.Type().Field(i).Tag.Get("json")
		if got := v.Field(i).Bytes(); !bytes.Equal(got, want[name]) {
			t.Fatalf("%T %q: member %s is %q; encoding/json: %q", dst, data, name, got, want[name])
		}
	}
}

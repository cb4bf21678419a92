package server

import (
	"testing"

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
				if _, bad := decodeRequest(c.endpoint, "TSH-1", body, nil); bad != nil {
					b.Fatalf("%s: %s", bad.field, bad.reason)
				}
			}
		})
	}
}

package engine

import (
	"crypto/sha256"
	"encoding/binary"
)

// fingerprint identifies a request for the replay rule: two requests with
// the same fingerprint ask for the same thing. Every field is written with
// its length first, so that no two different requests run into each other.
// The actor, the response time and the TSH's status message are left out:
// a retransmission may change them without asking anything new.
func fingerprint(req Request) []byte {
	buf := make([]byte, 0, 256)
	field := func(s string) {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	number := func(n int64) { buf = binary.AppendVarint(buf, n) }

	field(string(req.Endpoint))
	field(req.IssuerID)
	field(req.DeviceID)
	field(req.CardID)
	field(req.PurchaseID)
	field(req.Operation)
	if cc := req.CardContents; cc != nil {
		number(1)
		field(cc.CardServiceID)
		number(int64(cc.SystemCode))
		field(cc.IDm)
		field(cc.PMm)
		number(int64(len(cc.Areas)))
		for _, a := range cc.Areas {
			number(int64(a.AreaCode))
			number(int64(a.KeyVersion))
		}
	} else {
		number(0)
	}
	number(int64(len(req.Responses)))
	for _, r := range req.Responses {
		field(r.CommandID)
		field(string(r.Frame))
	}
	number(int64(req.StatusCode))

	sum := sha256.Sum256(buf)
	return sum[:]
}

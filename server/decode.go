package server

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/goccy/go-json/jsontext"
	json "github.com/goccy/go-json/v2"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
)

// refusal is why a Device Gateway request was answered before it reached
// the engine: a status code (111 or 112) and, for the log, where and why.
// Its text never holds a field's value, so it is safe to log.
type refusal struct {
	code   int
	field  string // header name or JSON path
	reason string
}

func missing(field string) *refusal {
	return &refusal{code: flow.StatusMissingParameter, field: field, reason: "missing or empty"}
}

func badFormat(field, reason string) *refusal {
	return &refusal{code: flow.StatusBadFormat, field: field, reason: reason}
}

// decodeOptions make goccy/go-json's v2 decoding accept what encoding/json
// accepted: a member name given twice (the last counts) and invalid UTF-8
// in strings. decodeRequest refuses raw invalid UTF-8 itself, so only an
// escaped lone surrogate ("\ud800") gets through, as U+FFFD. The v2 API is
// used for its structs, which match member names exactly: encoding/json's
// would take "ISSUERID" for issuerId, which is why it decoded into maps.
var decodeOptions = json.JoinOptions(jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// unmarshal decodes one JSON value into v with decodeOptions. Strings it
// decodes are copies: they outlive raw.
func unmarshal(raw []byte, v any) error {
	return json.Unmarshal(raw, v, decodeOptions)
}

// newRawRequestPool is a pool of rawRequest values, whose member buffers
// are most of what decoding a body allocates; each Server has its own.
func newRawRequestPool() *sync.Pool {
	return &sync.Pool{New: func() any { return new(rawRequest) }}
}

// reset empties every member of r and keeps its buffer. Decoding merges
// into what is there, so without it a member absent from this body would
// keep the previous body's value.
func (r *rawRequest) reset() {
	*r = rawRequest{
		IssuerID:       r.IssuerID[:0],
		CardID:         r.CardID[:0],
		PurchaseID:     r.PurchaseID[:0],
		DeviceID:       r.DeviceID[:0],
		Operation:      r.Operation[:0],
		CardContents:   r.CardContents[:0],
		Responses:      r.Responses[:0],
		ResponseTimeMs: r.ResponseTimeMs[:0],
		StatusCode:     r.StatusCode[:0],
		StatusMessage:  r.StatusMessage[:0],
	}
}

// decodeRequest validates one Device Gateway call in the contract's order
// (CONTRACT.md §1.3): the x-actor-id header, the JSON body, the endpoint's
// required fields (111), then the formats of what is present (112). It
// returns a request whose strings and frames are fresh copies, safe to keep
// after the HTTP handler returns. actors, when non-nil, is the allowlist of
// x-actor-id values.
func decodeRequest(endpoint flow.Endpoint, actor string, body []byte, actors map[string]struct{}, raws *sync.Pool) (engine.Request, *refusal) {
	req := engine.Request{Endpoint: endpoint}
	if actor == "" {
		return req, missing(headerActorID)
	}
	if reason := checkText(actor, 1, maxActorID); reason != "" {
		return req, badFormat(headerActorID, reason)
	}
	if actors != nil {
		if _, ok := actors[actor]; !ok {
			return req, badFormat(headerActorID, "actor is not on the allowlist")
		}
	}
	req.ActorID = strings.Clone(actor)

	// Checked once for the whole body: every value decoded below is a
	// part of it.
	if !utf8.Valid(body) {
		return req, badFormat("body", "not UTF-8")
	}
	raw := raws.Get().(*rawRequest)
	defer raws.Put(raw)
	raw.reset()
	if reason := decodeObject(body, raw); reason != "" {
		return req, badFormat("body", reason)
	}
	spec := endpointFields[endpoint]
	for _, f := range spec {
		if f.required && isEmpty(raw.member(f.name)) {
			return req, missing(f.name)
		}
	}
	for _, f := range spec {
		member := raw.member(f.name)
		if isAbsent(member) {
			continue
		}
		if bad := decodeField(&req, f.name, member); bad != nil {
			return req, bad
		}
	}
	return req, nil
}

// decodeField checks the format of one present, non-null field and stores
// its value in req.
func decodeField(req *engine.Request, name string, raw jsontext.Value) *refusal {
	var reason string
	switch name {
	case fieldIssuerID:
		req.IssuerID, reason = decodeText(raw, 1, maxIssuerID)
	case fieldCardID:
		req.CardID, reason = decodeText(raw, 1, maxCardID)
	case fieldPurchaseID:
		req.PurchaseID, reason = decodeText(raw, 1, maxPurchaseID)
	case fieldDeviceID:
		req.DeviceID, reason = decodeText(raw, 1, maxDeviceID)
	case fieldOperation:
		req.Operation, reason = decodeText(raw, 1, maxOperation)
	case fieldStatusMessage:
		req.StatusMessage, reason = decodeText(raw, 0, maxStatusMessage)
	case fieldCardContents:
		var bad *refusal
		req.CardContents, bad = decodeCardContents(raw)
		return bad
	case fieldResponses:
		var bad *refusal
		req.Responses, bad = decodeResponses(raw)
		return bad
	case fieldResponseTimeMs:
		var ms float64
		if unmarshal(raw, &ms) != nil || ms < 0 || ms > maxResponseTimeMs {
			return badFormat(name, "not a number of milliseconds from 0 to a day")
		}
		req.ResponseTime = ms
	case fieldStatusCode:
		var code float64
		if unmarshal(raw, &code) != nil || code != math.Trunc(code) || code < 0 || code > maxStatusCode {
			return badFormat(name, "not a status code")
		}
		req.StatusCode = int(code)
	default:
		// endpointFields names a field this switch does not know: a
		// programming error, refused rather than silently dropped.
		reason = "field has no decoder"
	}
	if reason != "" {
		return badFormat(name, reason)
	}
	return nil
}

// decodeResponses reads the device's answers to the previous batch. The
// path of an item is spelled out only for a refusal.
func decodeResponses(raw jsontext.Value) ([]engine.Response, *refusal) {
	var items []jsontext.Value
	if unmarshal(raw, &items) != nil {
		return nil, badFormat(fieldResponses, "not an array")
	}
	out := make([]engine.Response, 0, len(items))
	var obj rawResponse // reused by every item, as rawRequest is
	for i, item := range items {
		obj = rawResponse{CommandID: obj.CommandID[:0], Response: obj.Response[:0]}
		if reason := decodeObject(item, &obj); reason != "" {
			return nil, badFormat(itemPath(fieldResponses, i), reason)
		}
		if isAbsent(obj.CommandID) {
			return nil, badFormat(itemPath(fieldResponses, i)+"."+fieldCommandID, "missing")
		}
		id, reason := decodeText(obj.CommandID, 1, maxCommandID)
		if reason != "" {
			return nil, badFormat(itemPath(fieldResponses, i)+"."+fieldCommandID, reason)
		}
		if isAbsent(obj.Response) {
			return nil, badFormat(itemPath(fieldResponses, i)+"."+fieldResponse, "missing")
		}
		frame, reason := decodeFrame(obj.Response)
		if reason != "" {
			return nil, badFormat(itemPath(fieldResponses, i)+"."+fieldResponse, reason)
		}
		out = append(out, engine.Response{CommandID: id, Frame: frame})
	}
	return out, nil
}

// decodeFrame reads a FeliCa frame as hex of either case; "" is a command
// that got no answer and decodes to nil.
func decodeFrame(raw jsontext.Value) (frame []byte, reason string) {
	var s string
	if unmarshal(raw, &s) != nil {
		return nil, "not a string"
	}
	if s == "" {
		return nil, ""
	}
	if len(s)%2 != 0 {
		return nil, "odd number of hex digits"
	}
	if len(s)/2 > maxFrameBytes {
		return nil, "frame longer than 255 bytes"
	}
	frame, err := hex.DecodeString(s)
	if err != nil {
		return nil, "not hex"
	}
	return frame, ""
}

// decodeCardContents reads the physical card's description in reader mode.
// Its members are judged as the format of cardContents: systemCode and idm
// must be there, pmm, cardServiceId and areaCodeList may be left out.
func decodeCardContents(raw jsontext.Value) (*flow.CardContents, *refusal) {
	var obj rawCardContents
	if reason := decodeObject(raw, &obj); reason != "" {
		return nil, badFormat(fieldCardContents, reason)
	}
	const (
		systemPath  = fieldCardContents + "." + fieldSystemCode
		idmPath     = fieldCardContents + "." + fieldIDm
		pmmPath     = fieldCardContents + "." + fieldPMm
		servicePath = fieldCardContents + "." + fieldCardServiceID
	)
	cc := &flow.CardContents{}
	var reason string
	if cc.SystemCode, reason = decodeCode(obj.SystemCode); reason != "" {
		return nil, badFormat(systemPath, reason)
	}
	if cc.IDm, reason = decodeID8(obj.IDm); reason != "" {
		return nil, badFormat(idmPath, reason)
	}
	if !isAbsent(obj.PMm) {
		if cc.PMm, reason = decodeID8(obj.PMm); reason != "" {
			return nil, badFormat(pmmPath, reason)
		}
	}
	if !isAbsent(obj.CardServiceID) {
		if cc.CardServiceID, reason = decodeText(obj.CardServiceID, 0, maxCardServiceID); reason != "" {
			return nil, badFormat(servicePath, reason)
		}
	}
	if !isAbsent(obj.AreaCodeList) {
		var bad *refusal
		if cc.Areas, bad = decodeAreas(obj.AreaCodeList); bad != nil {
			return nil, bad
		}
	}
	return cc, nil
}

func decodeAreas(raw jsontext.Value) ([]flow.AreaKey, *refusal) {
	const listPath = fieldCardContents + "." + fieldAreaCodeList
	var items []jsontext.Value
	if unmarshal(raw, &items) != nil {
		return nil, badFormat(listPath, "not an array")
	}
	areas := make([]flow.AreaKey, 0, len(items))
	var obj rawAreaKey // reused by every item
	for i, item := range items {
		obj = rawAreaKey{AreaCode: obj.AreaCode[:0], KeyVersion: obj.KeyVersion[:0]}
		if reason := decodeObject(item, &obj); reason != "" {
			return nil, badFormat(itemPath(listPath, i), reason)
		}
		var area flow.AreaKey
		var reason string
		if area.AreaCode, reason = decodeCode(obj.AreaCode); reason != "" {
			return nil, badFormat(itemPath(listPath, i)+"."+fieldAreaCode, reason)
		}
		if area.KeyVersion, reason = decodeCode(obj.KeyVersion); reason != "" {
			return nil, badFormat(itemPath(listPath, i)+"."+fieldKeyVersion, reason)
		}
		areas = append(areas, area)
	}
	return areas, nil
}

// itemPath is the JSON path of item i of list, for a refusal.
func itemPath(list string, i int) string {
	return list + "[" + strconv.Itoa(i) + "]"
}

// decodeCode reads a 16-bit code written as 4 hex digits, most significant
// first ("1000" is 0x1000).
func decodeCode(raw jsontext.Value) (code uint16, reason string) {
	b, reason := decodeFixedHex(raw, 2)
	if reason != "" {
		return 0, reason
	}
	return binary.BigEndian.Uint16(b), ""
}

// decodeID8 reads an 8-byte identifier (IDm, PMm) as 16 hex digits and
// returns it in upper case, the form the ledger keys it by.
func decodeID8(raw jsontext.Value) (id, reason string) {
	b, reason := decodeFixedHex(raw, 8)
	if reason != "" {
		return "", reason
	}
	return strings.ToUpper(hex.EncodeToString(b)), ""
}

// decodeFixedHex reads a member that must be there as exactly size bytes
// of hex.
func decodeFixedHex(raw jsontext.Value, size int) (b []byte, reason string) {
	if isAbsent(raw) {
		return nil, "missing"
	}
	var s string
	if unmarshal(raw, &s) != nil {
		return nil, "not a string"
	}
	if len(s) != 2*size {
		return nil, "not " + strconv.Itoa(2*size) + " hex digits"
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, "not hex"
	}
	return b, ""
}

// decodeText reads a JSON string of minLen..maxLen characters without
// control characters.
func decodeText(raw jsontext.Value, minLen, maxLen int) (text, reason string) {
	var s string
	if unmarshal(raw, &s) != nil {
		return "", "not a string"
	}
	if reason := checkText(s, minLen, maxLen); reason != "" {
		return "", reason
	}
	return s, ""
}

// checkText returns why s is not valid text of minLen..maxLen characters, or
// "" when it is.
func checkText(s string, minLen, maxLen int) string {
	if !utf8.ValidString(s) {
		return "not UTF-8"
	}
	n := 0
	for _, r := range s {
		if isControl(r) {
			return "control character"
		}
		n++
	}
	switch {
	case n == 0 && minLen > 0:
		return "empty"
	case n < minLen:
		return "too short"
	case n > maxLen:
		return "longer than " + strconv.Itoa(maxLen) + " characters"
	}
	return ""
}

// isControl reports C0 and C1 control characters and DEL.
func isControl(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}

// decodeObject reads a JSON object into dst, a pointer to a struct of raw
// members, so that a missing member can be told from one of the wrong type.
// It returns why raw is not an object, or "" when it is.
func decodeObject(raw []byte, dst any) string {
	// null decodes into a struct without an error, but it is no object.
	if isNull(raw) || unmarshal(raw, dst) != nil {
		return "not a JSON object"
	}
	return ""
}

func isNull(raw []byte) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// isAbsent reports a member that is not there or null.
func isAbsent(raw jsontext.Value) bool {
	return len(raw) == 0 || isNull(raw)
}

// isEmpty reports a required field that is absent, null or "".
func isEmpty(raw jsontext.Value) bool {
	return isAbsent(raw) || bytes.Equal(bytes.TrimSpace(raw), []byte(`""`))
}

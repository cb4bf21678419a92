package server

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

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

// decodeRequest validates one Device Gateway call in the contract's order
// (CONTRACT.md §1.3): the x-actor-id header, the JSON body, the endpoint's
// required fields (111), then the formats of what is present (112). It
// returns a request whose strings and frames are fresh copies, safe to keep
// after the HTTP handler returns. actors, when non-nil, is the allowlist of
// x-actor-id values.
func decodeRequest(endpoint flow.Endpoint, actor string, body []byte, actors map[string]struct{}) (engine.Request, *refusal) {
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

	fields, bad := decodeObject(body, "body")
	if bad != nil {
		return req, bad
	}
	spec := endpointFields[endpoint]
	for _, f := range spec {
		if f.required && isEmpty(fields[f.name]) {
			return req, missing(f.name)
		}
	}
	for _, f := range spec {
		raw, present := fields[f.name]
		if !present || isNull(raw) {
			continue
		}
		if bad := decodeField(&req, f.name, raw); bad != nil {
			return req, bad
		}
	}
	return req, nil
}

// decodeField checks the format of one present, non-null field and stores
// its value in req.
func decodeField(req *engine.Request, name string, raw json.RawMessage) *refusal {
	var bad *refusal
	switch name {
	case fieldIssuerID:
		req.IssuerID, bad = decodeText(raw, name, 1, maxIssuerID)
	case fieldCardID:
		req.CardID, bad = decodeText(raw, name, 1, maxCardID)
	case fieldPurchaseID:
		req.PurchaseID, bad = decodeText(raw, name, 1, maxPurchaseID)
	case fieldDeviceID:
		req.DeviceID, bad = decodeText(raw, name, 1, maxDeviceID)
	case fieldOperation:
		req.Operation, bad = decodeText(raw, name, 1, maxOperation)
	case fieldStatusMessage:
		req.StatusMessage, bad = decodeText(raw, name, 0, maxStatusMessage)
	case fieldCardContents:
		req.CardContents, bad = decodeCardContents(raw)
	case fieldResponses:
		req.Responses, bad = decodeResponses(raw)
	case fieldResponseTimeMs:
		var ms float64
		if json.Unmarshal(raw, &ms) != nil || ms < 0 || ms > maxResponseTimeMs {
			return badFormat(name, "not a number of milliseconds from 0 to a day")
		}
		req.ResponseTime = ms
	case fieldStatusCode:
		var code float64
		if json.Unmarshal(raw, &code) != nil || code != math.Trunc(code) || code < 0 || code > maxStatusCode {
			return badFormat(name, "not a status code")
		}
		req.StatusCode = int(code)
	default:
		// endpointFields names a field this switch does not know: a
		// programming error, refused rather than silently dropped.
		return badFormat(name, "field has no decoder")
	}
	return bad
}

// decodeResponses reads the device's answers to the previous batch.
func decodeResponses(raw json.RawMessage) ([]engine.Response, *refusal) {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, badFormat(fieldResponses, "not an array")
	}
	out := make([]engine.Response, 0, len(items))
	for i, item := range items {
		path := fieldResponses + "[" + strconv.Itoa(i) + "]"
		obj, bad := decodeObject(item, path)
		if bad != nil {
			return nil, bad
		}
		idRaw, ok := obj[fieldCommandID]
		if !ok || isNull(idRaw) {
			return nil, badFormat(path+"."+fieldCommandID, "missing")
		}
		id, bad := decodeText(idRaw, path+"."+fieldCommandID, 1, maxCommandID)
		if bad != nil {
			return nil, bad
		}
		frameRaw, ok := obj[fieldResponse]
		if !ok || isNull(frameRaw) {
			return nil, badFormat(path+"."+fieldResponse, "missing")
		}
		frame, bad := decodeFrame(frameRaw, path+"."+fieldResponse)
		if bad != nil {
			return nil, bad
		}
		out = append(out, engine.Response{CommandID: id, Frame: frame})
	}
	return out, nil
}

// decodeFrame reads a FeliCa frame as hex of either case; "" is a command
// that got no answer and decodes to nil.
func decodeFrame(raw json.RawMessage, path string) ([]byte, *refusal) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, badFormat(path, "not a string")
	}
	if s == "" {
		return nil, nil
	}
	if len(s)%2 != 0 {
		return nil, badFormat(path, "odd number of hex digits")
	}
	if len(s)/2 > maxFrameBytes {
		return nil, badFormat(path, "frame longer than 255 bytes")
	}
	frame, err := hex.DecodeString(s)
	if err != nil {
		return nil, badFormat(path, "not hex")
	}
	return frame, nil
}

// decodeCardContents reads the physical card's description in reader mode.
// Its members are judged as the format of cardContents: systemCode and idm
// must be there, pmm, cardServiceId and areaCodeList may be left out.
func decodeCardContents(raw json.RawMessage) (*flow.CardContents, *refusal) {
	obj, bad := decodeObject(raw, fieldCardContents)
	if bad != nil {
		return nil, bad
	}
	path := func(name string) string { return fieldCardContents + "." + name }
	cc := &flow.CardContents{}

	systemRaw, ok := obj[fieldSystemCode]
	if !ok || isNull(systemRaw) {
		return nil, badFormat(path(fieldSystemCode), "missing")
	}
	if cc.SystemCode, bad = decodeCode(systemRaw, path(fieldSystemCode)); bad != nil {
		return nil, bad
	}
	idmRaw, ok := obj[fieldIDm]
	if !ok || isNull(idmRaw) {
		return nil, badFormat(path(fieldIDm), "missing")
	}
	if cc.IDm, bad = decodeID8(idmRaw, path(fieldIDm)); bad != nil {
		return nil, bad
	}
	if pmmRaw, ok := obj[fieldPMm]; ok && !isNull(pmmRaw) {
		if cc.PMm, bad = decodeID8(pmmRaw, path(fieldPMm)); bad != nil {
			return nil, bad
		}
	}
	if serviceRaw, ok := obj[fieldCardServiceID]; ok && !isNull(serviceRaw) {
		if cc.CardServiceID, bad = decodeText(serviceRaw, path(fieldCardServiceID), 0, maxCardServiceID); bad != nil {
			return nil, bad
		}
	}
	if listRaw, ok := obj[fieldAreaCodeList]; ok && !isNull(listRaw) {
		if cc.Areas, bad = decodeAreas(listRaw); bad != nil {
			return nil, bad
		}
	}
	return cc, nil
}

func decodeAreas(raw json.RawMessage) ([]flow.AreaKey, *refusal) {
	listPath := fieldCardContents + "." + fieldAreaCodeList
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, badFormat(listPath, "not an array")
	}
	areas := make([]flow.AreaKey, 0, len(items))
	for i, item := range items {
		path := listPath + "[" + strconv.Itoa(i) + "]"
		obj, bad := decodeObject(item, path)
		if bad != nil {
			return nil, bad
		}
		var area flow.AreaKey
		if area.AreaCode, bad = decodeCode(obj[fieldAreaCode], path+"."+fieldAreaCode); bad != nil {
			return nil, bad
		}
		if area.KeyVersion, bad = decodeCode(obj[fieldKeyVersion], path+"."+fieldKeyVersion); bad != nil {
			return nil, bad
		}
		areas = append(areas, area)
	}
	return areas, nil
}

// decodeCode reads a 16-bit code written as 4 hex digits, most significant
// first ("1000" is 0x1000).
func decodeCode(raw json.RawMessage, path string) (uint16, *refusal) {
	b, bad := decodeFixedHex(raw, path, 2)
	if bad != nil {
		return 0, bad
	}
	return binary.BigEndian.Uint16(b), nil
}

// decodeID8 reads an 8-byte identifier (IDm, PMm) as 16 hex digits and
// returns it in upper case, the form the ledger keys it by.
func decodeID8(raw json.RawMessage, path string) (string, *refusal) {
	b, bad := decodeFixedHex(raw, path, 8)
	if bad != nil {
		return "", bad
	}
	return strings.ToUpper(hex.EncodeToString(b)), nil
}

func decodeFixedHex(raw json.RawMessage, path string, size int) ([]byte, *refusal) {
	if raw == nil || isNull(raw) {
		return nil, badFormat(path, "missing")
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil, badFormat(path, "not a string")
	}
	if len(s) != 2*size {
		return nil, badFormat(path, "not "+strconv.Itoa(2*size)+" hex digits")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, badFormat(path, "not hex")
	}
	return b, nil
}

// decodeText reads a JSON string of minLen..maxLen characters without
// control characters.
func decodeText(raw json.RawMessage, path string, minLen, maxLen int) (string, *refusal) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", badFormat(path, "not a string")
	}
	if reason := checkText(s, minLen, maxLen); reason != "" {
		return "", badFormat(path, reason)
	}
	return s, nil
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

// decodeObject reads a JSON object into its members, keeping each value raw
// so that a missing member can be told from one of the wrong type.
func decodeObject(raw []byte, path string) (map[string]json.RawMessage, *refusal) {
	if !utf8.Valid(raw) {
		return nil, badFormat(path, "not UTF-8")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil || obj == nil {
		return nil, badFormat(path, "not a JSON object")
	}
	return obj, nil
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// isEmpty reports a required field that is absent, null or "".
func isEmpty(raw json.RawMessage) bool {
	return raw == nil || isNull(raw) || bytes.Equal(bytes.TrimSpace(raw), []byte(`""`))
}

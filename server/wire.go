package server

import (
	"github.com/goccy/go-json/jsontext"

	"github.com/tes-project/tes/flow"
)

// This file is the Device Gateway API's vocabulary on the wire: every JSON
// field name it reads or writes is here and nowhere else, so that swapping in
// the official schema (CONTRACT.md: the responses items, the command list and
// the response header are reconstructed) touches this one file.

// Request fields (CONTRACT.md §1.1).
const (
	fieldIssuerID       = "issuerId"
	fieldCardID         = "cardId"
	fieldPurchaseID     = "purchaseId"
	fieldDeviceID       = "deviceId"
	fieldOperation      = "operation"
	fieldCardContents   = "cardContents"
	fieldResponses      = "responses"
	fieldResponseTimeMs = "responseTimeMs"
	fieldStatusCode     = "statusCode"
	fieldStatusMessage  = "statusMessage"
)

// Fields of a responses item (reconstructed).
const (
	fieldCommandID = "commandId"
	fieldResponse  = "response"
)

// Fields of cardContents and of its areaCodeList items (from the seed).
const (
	fieldCardServiceID = "cardServiceId"
	fieldSystemCode    = "systemCode"
	fieldIDm           = "idm"
	fieldPMm           = "pmm"
	fieldAreaCodeList  = "areaCodeList"
	fieldAreaCode      = "areaCode"
	fieldKeyVersion    = "keyVersion"
)

// headerActorID names the TSH actor that makes the call.
const headerActorID = "x-actor-id"

// Limits of the request fields, in characters (CONTRACT.md §1.1). The
// limits marked reconstructed are not in the reference; they only bound
// values tes itself produces or that no real card has longer.
const (
	maxActorID       = 32
	maxIssuerID      = 16
	maxCardID        = 48
	maxPurchaseID    = 64
	maxDeviceID      = 48
	maxOperation     = 64  // reconstructed: operation names are short words
	maxCommandID     = 64  // reconstructed: tes issues ids like "3.1"
	maxCardServiceID = 64  // reconstructed
	maxStatusMessage = 256 // the reference's limit
	maxStatusCode    = 999 // codes are three digits
	// maxResponseTimeMs bounds responseTimeMs: a day, far past any TTL, so
	// that the trace's duration cannot overflow.
	maxResponseTimeMs = 24 * 60 * 60 * 1000
	maxFrameBytes     = 255 // a FeliCa frame's LEN is one byte and counts itself
)

// requestField is one body field an endpoint reads.
type requestField struct {
	name     string
	required bool
}

// endpointFields lists, per endpoint, the body fields it reads (CONTRACT.md
// §1.1 table); every other field is ignored as unknown.
var endpointFields = map[flow.Endpoint][]requestField{
	flow.EndpointCard: {
		{fieldIssuerID, true},
		{fieldCardID, true},
		{fieldPurchaseID, false},
		{fieldDeviceID, true},
		{fieldOperation, false},
		{fieldResponses, false},
		{fieldResponseTimeMs, false},
		{fieldStatusCode, false},
		{fieldStatusMessage, false},
	},
	flow.EndpointPark: {
		{fieldIssuerID, true},
		{fieldCardID, true},
		{fieldDeviceID, true},
		{fieldOperation, false},
		{fieldResponses, false},
		{fieldResponseTimeMs, false},
		{fieldStatusCode, false},
		{fieldStatusMessage, false},
	},
	flow.EndpointReaderMode: {
		{fieldIssuerID, true},
		{fieldDeviceID, true},
		{fieldOperation, false},
		{fieldCardContents, false},
		{fieldResponses, false},
		{fieldResponseTimeMs, false},
		{fieldStatusCode, false},
		{fieldStatusMessage, false},
	},
}

// rawRequest is a request body as the server reads it: each member an
// endpoint reads (endpointFields), kept as raw JSON so that decodeRequest can
// tell an absent member (empty) from null, "" or a value of the wrong type
// before it judges formats. Other members are ignored.
type rawRequest struct {
	IssuerID       jsontext.Value `json:"issuerId"`
	CardID         jsontext.Value `json:"cardId"`
	PurchaseID     jsontext.Value `json:"purchaseId"`
	DeviceID       jsontext.Value `json:"deviceId"`
	Operation      jsontext.Value `json:"operation"`
	CardContents   jsontext.Value `json:"cardContents"`
	Responses      jsontext.Value `json:"responses"`
	ResponseTimeMs jsontext.Value `json:"responseTimeMs"`
	StatusCode     jsontext.Value `json:"statusCode"`
	StatusMessage  jsontext.Value `json:"statusMessage"`
}

// member returns the raw member of that field name, empty when absent or
// when the name is none of rawRequest's.
func (r *rawRequest) member(name string) jsontext.Value {
	switch name {
	case fieldIssuerID:
		return r.IssuerID
	case fieldCardID:
		return r.CardID
	case fieldPurchaseID:
		return r.PurchaseID
	case fieldDeviceID:
		return r.DeviceID
	case fieldOperation:
		return r.Operation
	case fieldCardContents:
		return r.CardContents
	case fieldResponses:
		return r.Responses
	case fieldResponseTimeMs:
		return r.ResponseTimeMs
	case fieldStatusCode:
		return r.StatusCode
	case fieldStatusMessage:
		return r.StatusMessage
	}
	return nil
}

// rawResponse is one item of a request's responses, its members raw.
type rawResponse struct {
	CommandID jsontext.Value `json:"commandId"`
	Response  jsontext.Value `json:"response"`
}

// rawCardContents is a request's cardContents, its members raw.
type rawCardContents struct {
	CardServiceID jsontext.Value `json:"cardServiceId"`
	SystemCode    jsontext.Value `json:"systemCode"`
	IDm           jsontext.Value `json:"idm"`
	PMm           jsontext.Value `json:"pmm"`
	AreaCodeList  jsontext.Value `json:"areaCodeList"`
}

// rawAreaKey is one item of cardContents.areaCodeList, its members raw.
type rawAreaKey struct {
	AreaCode   jsontext.Value `json:"areaCode"`
	KeyVersion jsontext.Value `json:"keyVersion"`
}

// wireReply is the body of every Device Gateway response (reconstructed,
// CONTRACT.md §1.2).
type wireReply struct {
	ResponseHeader wireResponseHeader `json:"responseHeader"`
	// Commands is always present; empty ends the operation.
	Commands      []wireCommand `json:"commands"`
	Balance       *int64        `json:"balance,omitempty"`
	CardAccountID string        `json:"cardAccountId,omitempty"`
}

// wireResponseHeader identifies the response and carries the outcome.
type wireResponseHeader struct {
	ResponseID    string `json:"responseId"`
	SessionID     string `json:"sessionId"`
	StatusCode    int    `json:"statusCode"`
	StatusMessage string `json:"statusMessage"`
	Timestamp     string `json:"timestamp"`
}

// wireCommand is one FeliCa command frame for the device, upper-case hex.
type wireCommand struct {
	CommandID string `json:"commandId"`
	Command   string `json:"command"`
}

// timestampLayout is RFC 3339 in UTC with milliseconds.
const timestampLayout = "2006-01-02T15:04:05.000Z"

// The names below are for clients of the API, above all tsh/, which plays
// the TSH: they reuse this file's vocabulary instead of spelling the JSON
// names again.

// HeaderActorID names the header that carries the TSH actor.
const HeaderActorID = headerActorID

// Reply, ResponseHeader and Command are the response body as a client reads it.
type (
	Reply          = wireReply
	ResponseHeader = wireResponseHeader
	Command        = wireCommand
)

// Request is a Device Gateway request body as a client writes it. The
// server does not decode into it: it reads bodies field by field to tell an
// absent field from an empty one.
type Request struct {
	IssuerID     string        `json:"issuerId,omitempty"`
	CardID       string        `json:"cardId,omitempty"`
	PurchaseID   string        `json:"purchaseId,omitempty"`
	DeviceID     string        `json:"deviceId,omitempty"`
	Operation    string        `json:"operation,omitempty"`
	CardContents *CardContents `json:"cardContents,omitempty"`
	Responses    []Response    `json:"responses,omitempty"`
	// ResponseTimeMs and StatusCode are pointers so that a client can send 0.
	ResponseTimeMs *float64 `json:"responseTimeMs,omitempty"`
	StatusCode     *int     `json:"statusCode,omitempty"`
	StatusMessage  string   `json:"statusMessage,omitempty"`
}

// Response is one item of a request's responses: the device's answer to one
// command, upper- or lower-case hex, "" when the device got no answer.
type Response struct {
	CommandID string `json:"commandId"`
	Response  string `json:"response"`
}

// CardContents describes the physical card of a reader-mode request. Codes
// are hex, most significant digit first.
type CardContents struct {
	CardServiceID string    `json:"cardServiceId,omitempty"`
	SystemCode    string    `json:"systemCode,omitempty"`
	IDm           string    `json:"idm,omitempty"`
	PMm           string    `json:"pmm,omitempty"`
	AreaCodeList  []AreaKey `json:"areaCodeList,omitempty"`
}

// AreaKey is one item of cardContents.areaCodeList.
type AreaKey struct {
	AreaCode   string `json:"areaCode"`
	KeyVersion string `json:"keyVersion"`
}

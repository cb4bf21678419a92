package replay

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tes-project/tes/flow"
)

// MaxRecordingBytes bounds a recording file.
const MaxRecordingBytes = 8 << 20

// ErrRecording: a recording does not decode or lacks what replay needs.
var ErrRecording = errors.New("replay: bad recording")

// Recording is one session as the admin API shows it
// (GET /admin/v1/sessions/{id}), plus what the trace does not keep: the
// ledger facts the flow read and reader mode's cardContents, which a file
// may add under "ledger" and "cardContents".
type Recording struct {
	SessionID  string `json:"sessionId"`
	IssuerID   string `json:"issuerId"`
	DeviceID   string `json:"deviceId"`
	Endpoint   string `json:"endpoint"`
	Operation  string `json:"operation"`
	CardID     string `json:"cardId,omitempty"`
	PurchaseID string `json:"purchaseId,omitempty"`
	// Version is the script version the session ran on.
	Version string `json:"version"`
	Calls   []Call `json:"trace"`

	// Ledger, when set, holds the ledger facts as they were when the
	// session ran; else replay takes today's from wherever it can.
	Ledger *Facts `json:"ledger,omitempty"`
	// CardContents is reader mode's cardContents (the trace lacks it).
	CardContents *Contents `json:"cardContents,omitempty"`
}

// Call is one recorded call of the session.
type Call struct {
	At         time.Time `json:"at"`
	Step       string    `json:"step,omitempty"`
	DeviceCode int       `json:"deviceStatusCode,omitempty"`
	Responses  []Frame   `json:"responses"`
	Decisions  []string  `json:"decisions"`
	Commands   []Frame   `json:"commands"`
	StatusCode int       `json:"statusCode"`
	Message    string    `json:"statusMessage,omitempty"`
}

// Frame is one command or answer: its commandId and the frame as hex ("" for
// no answer).
type Frame struct {
	CommandID string `json:"commandId"`
	Hex       string `json:"hex"`
}

// Contents is cardContents as the Device Gateway takes it.
type Contents struct {
	CardServiceID string `json:"cardServiceId"`
	SystemCode    string `json:"systemCode"`
	IDm           string `json:"idm"`
	PMm           string `json:"pmm"`
	AreaCodeList  []struct {
		AreaCode   string `json:"areaCode"`
		KeyVersion string `json:"keyVersion"`
	} `json:"areaCodeList"`
}

// Facts are the ledger facts a flow may read, as they were when the
// session ran. Absent records are nil.
type Facts struct {
	Card        *FactCard     `json:"card,omitempty"`
	Purchase    *FactPurchase `json:"purchase,omitempty"`
	Account     *FactAccount  `json:"account,omitempty"`
	Blacklisted bool          `json:"blacklisted,omitempty"`
	// Attempts counts the device's reader-mode attempts in the window,
	// the session's own excluded.
	Attempts int `json:"attempts,omitempty"`
}

// FactCard is the request's ledger card.
type FactCard struct {
	Status           string         `json:"status"`
	ProductCode      int            `json:"productCode"`
	DeviceID         string         `json:"deviceId,omitempty"`
	Expiry           string         `json:"expiry,omitempty"`
	LastKnownBalance *int64         `json:"lastKnownBalance,omitempty"`
	ParkedBalance    *int64         `json:"parkedBalance,omitempty"`
	Uncertain        []FactPurchase `json:"uncertain,omitempty"`
	PendingPark      *struct {
		Balance int64 `json:"balance"`
		Counter int   `json:"counter"`
	} `json:"pendingPark,omitempty"`
}

// FactPurchase is a purchase.
type FactPurchase struct {
	PurchaseID      string `json:"purchaseId"`
	CardID          string `json:"cardId"`
	Amount          int64  `json:"amount"`
	Kind            string `json:"kind"`
	Status          string `json:"status"`
	ExpectedCounter int    `json:"expectedCounter,omitempty"`
}

// FactAccount is the account made from the card's IDm.
type FactAccount struct {
	CardAccountID   string `json:"cardAccountId"`
	Balance         int64  `json:"balance"`
	Pending         bool   `json:"pending,omitempty"`
	ExpectedCounter int    `json:"expectedCounter,omitempty"`
}

// Parse reads a recording: the admin API's session JSON, optionally with
// "ledger" and "cardContents" added. Unknown fields are ignored (the admin
// API's summary fields). It never panics.
func Parse(data []byte) (rec Recording, err error) {
	defer func() {
		if p := recover(); p != nil {
			rec, err = Recording{}, fmt.Errorf("%w: %v", ErrRecording, p)
		}
	}()
	if len(data) > MaxRecordingBytes {
		return Recording{}, fmt.Errorf("%w: larger than %d bytes", ErrRecording, MaxRecordingBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&rec); err != nil {
		return Recording{}, fmt.Errorf("%w: %w", ErrRecording, err)
	}
	switch {
	case rec.IssuerID == "":
		return Recording{}, fmt.Errorf("%w: no issuerId", ErrRecording)
	case rec.Endpoint == "" || rec.Operation == "":
		return Recording{}, fmt.Errorf("%w: no endpoint or operation", ErrRecording)
	case len(rec.Calls) == 0:
		return Recording{}, fmt.Errorf("%w: the trace is empty", ErrRecording)
	}
	for i, c := range rec.Calls {
		for _, f := range append(append([]Frame(nil), c.Responses...), c.Commands...) {
			if _, err := hex.DecodeString(f.Hex); err != nil {
				return Recording{}, fmt.Errorf("%w: call %d: frame %s: %w", ErrRecording, i+1, f.CommandID, err)
			}
		}
	}
	return rec, nil
}

// frames decodes a call's frames (checked by Parse).
func frames(fs []Frame) [][]byte {
	out := make([][]byte, len(fs))
	for i, f := range fs {
		out[i], _ = hex.DecodeString(f.Hex)
	}
	return out
}

// request is the flow's view of the recorded request.
func (r Recording) request() (flow.Request, error) {
	req := flow.Request{IssuerID: r.IssuerID, CardID: r.CardID, PurchaseID: r.PurchaseID, DeviceID: r.DeviceID}
	if c := r.CardContents; c != nil {
		cc := &flow.CardContents{CardServiceID: c.CardServiceID, IDm: strings.ToUpper(c.IDm), PMm: strings.ToUpper(c.PMm)}
		var err error
		if cc.SystemCode, err = hex16(c.SystemCode); err != nil {
			return req, fmt.Errorf("%w: cardContents.systemCode: %w", ErrRecording, err)
		}
		for _, a := range c.AreaCodeList {
			code, err1 := hex16(a.AreaCode)
			kv, err2 := hex16(a.KeyVersion)
			if err := errors.Join(err1, err2); err != nil {
				return req, fmt.Errorf("%w: cardContents.areaCodeList: %w", ErrRecording, err)
			}
			cc.Areas = append(cc.Areas, flow.AreaKey{AreaCode: code, KeyVersion: kv})
		}
		req.CardContents = cc
	}
	return req, nil
}

func hex16(s string) (uint16, error) {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != 2 {
		return 0, fmt.Errorf("%q: want 4 hex digits", s)
	}
	return uint16(raw[0])<<8 | uint16(raw[1]), nil
}

package tsh

import (
	"time"

	"github.com/tes-project/tes/server"
)

// Outcome is what one Run saw. Its JSON is what tes sim --json prints.
type Outcome struct {
	// SessionID, StatusCode and StatusMessage are from the last reply.
	SessionID     string `json:"sessionId"`
	StatusCode    int    `json:"statusCode"`
	StatusMessage string `json:"statusMessage"`
	// Balance and CardAccountID are from the last reply, when it had them.
	Balance       *int64 `json:"balance,omitempty"`
	CardAccountID string `json:"cardAccountId,omitempty"`
	// RoundTrips are every HTTP round trip, in order.
	RoundTrips []RoundTrip `json:"roundTrips"`
}

// Requests counts the HTTP requests sent, duplicates included.
func (o Outcome) Requests() int {
	n := len(o.RoundTrips)
	for _, rt := range o.RoundTrips {
		if rt.Duplicate != nil {
			n++
		}
	}
	return n
}

// RoundTrip is one request, the server's reply, and the reply's commands as
// the device ran them.
type RoundTrip struct {
	// N counts round trips from 1, the request that starts the operation.
	N       int            `json:"n"`
	Request server.Request `json:"request"`
	// Paused is how long the device waited before sending the request.
	Paused     time.Duration `json:"pausedNs,omitempty"`
	HTTPStatus int           `json:"httpStatus"`
	// Latency is the HTTP request's time, from sending to the end of the
	// reply's body.
	Latency time.Duration `json:"latencyNs"`
	Reply   server.Reply  `json:"reply"`
	// Duplicate is the reply to the same request sent a second time.
	Duplicate *server.Reply `json:"duplicate,omitempty"`
	// Commands are the reply's commands and the card's answers; empty when
	// the reply ended the operation.
	Commands []Exchange `json:"commands,omitempty"`
}

// Exchange is one command and the card's answer.
type Exchange struct {
	CommandID string `json:"commandId"`
	Command   []byte `json:"-"`
	// Answer is nil when the device got no answer; NoAnswer says why.
	Answer   []byte `json:"-"`
	NoAnswer string `json:"noAnswer,omitempty"`
	// CommandText and AnswerText are felica.Describe's lines; empty when
	// Options.SkipDescribe is set or there is no answer.
	CommandText string `json:"commandText,omitempty"`
	AnswerText  string `json:"answerText,omitempty"`
	// CommandHex and AnswerHex are the frames as they travel.
	CommandHex string `json:"command"`
	AnswerHex  string `json:"answer"`
}

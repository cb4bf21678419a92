package tsh

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
)

// DefaultMaxRoundTrips bounds a Run when Options.MaxRoundTrips is 0.
const DefaultMaxRoundTrips = 64

// Operation is what the TSH asks the server to do: the fields of the
// request that starts it.
type Operation struct {
	Endpoint     flow.Endpoint
	IssuerID     string
	Operation    string // empty: the endpoint's default
	CardID       string
	PurchaseID   string
	DeviceID     string
	ActorID      string // the x-actor-id header; empty sends none
	CardContents *server.CardContents
}

// Options tune one Run. The zero value runs without faults.
type Options struct {
	Faults []Fault
	// Framing is how the issuer frames commands, for decoding them; it must
	// match the card's own setting.
	Framing felica.Framing
	// Pause waits out a Pause fault; nil sleeps on a timer. Tests on an
	// in-process server pass a function that advances a fake clock.
	Pause func(ctx context.Context, d time.Duration) error
	// MaxRoundTrips bounds the operation; 0: DefaultMaxRoundTrips.
	MaxRoundTrips int
	// SkipDescribe leaves Exchange.CommandText and AnswerText empty, for
	// load generators that do not print them.
	SkipDescribe bool
}

// deviceErrorMessage is the statusMessage of a simulated device failure.
const deviceErrorMessage = "device failure (simulated by tsh)"

// Run plays op: it sends the request that starts it, runs each batch of
// commands on crd in order (a silent card gives the response ""), sends the
// responses back, and stops when a reply has no commands or a non-zero
// status. A nil crd is no card in the field: every command goes unanswered.
//
// The Outcome holds every round trip made, also when Run fails midway.
// Faults that hit the card are armed on crd when Run starts.
func (c *Client) Run(ctx context.Context, op Operation, crd *card.Card, opts Options) (Outcome, error) {
	if !slices.Contains([]flow.Endpoint{flow.EndpointCard, flow.EndpointPark, flow.EndpointReaderMode}, op.Endpoint) {
		return Outcome{}, fmt.Errorf("%w: unknown endpoint %q", ErrConfig, op.Endpoint)
	}
	plan, err := planFaults(opts.Faults)
	if err != nil {
		return Outcome{}, err
	}
	if err := armCard(crd, opts.Faults); err != nil {
		return Outcome{}, err
	}
	maxRoundTrips := opts.MaxRoundTrips
	if maxRoundTrips == 0 {
		maxRoundTrips = DefaultMaxRoundTrips
	}
	pause := opts.Pause
	if pause == nil {
		pause = sleep
	}

	var out Outcome
	req := server.Request{
		IssuerID: op.IssuerID, CardID: op.CardID, PurchaseID: op.PurchaseID, DeviceID: op.DeviceID,
		Operation: op.Operation, CardContents: op.CardContents,
	}
	for n := 1; ; n++ {
		if n > maxRoundTrips {
			return out, fmt.Errorf("%w: still commands after %d", ErrTooManyRoundTrips, maxRoundTrips)
		}
		rt := RoundTrip{N: n, Request: req}
		if d := plan.pause[n]; d > 0 {
			if err := pause(ctx, d); err != nil {
				return out, fmt.Errorf("round trip %d: pause %s: %w", n, d, err)
			}
			rt.Paused = d
		}
		body, err := json.Marshal(req)
		if err != nil {
			return out, fmt.Errorf("round trip %d: encode request: %w", n, err)
		}
		ex, err := c.post(ctx, op.Endpoint, op.ActorID, body)
		rt.HTTPStatus, rt.Latency, rt.Reply = ex.status, ex.latency, ex.reply
		if err != nil {
			return out, fmt.Errorf("round trip %d: %w", n, err)
		}
		out.RoundTrips = append(out.RoundTrips, rt)
		out.SessionID = ex.reply.ResponseHeader.SessionID
		out.StatusCode = ex.reply.ResponseHeader.StatusCode
		out.StatusMessage = ex.reply.ResponseHeader.StatusMessage
		out.Balance, out.CardAccountID = ex.reply.Balance, ex.reply.CardAccountID
		if plan.duplicate[n] {
			again, err := c.post(ctx, op.Endpoint, op.ActorID, body)
			if err != nil {
				return out, fmt.Errorf("round trip %d, sent again: %w", n, err)
			}
			out.RoundTrips[n-1].Duplicate = &again.reply
			if err := sameReply(ex.reply, again.reply); err != nil {
				return out, fmt.Errorf("round trip %d: %w", n, err)
			}
		}
		if len(ex.reply.Commands) == 0 || ex.reply.ResponseHeader.StatusCode != flow.StatusOK {
			return out, nil
		}
		devErr, failing := plan.deviceError[n+1]
		started := time.Now()
		exchanges, err := runBatch(ctx, crd, ex.reply.Commands, failing, opts)
		if err != nil {
			return out, fmt.Errorf("round trip %d: %w", n, err)
		}
		out.RoundTrips[n-1].Commands = exchanges
		req = continuation(req, exchanges, time.Since(started))
		if failing {
			req.StatusCode = &devErr.StatusCode
			req.StatusMessage = deviceErrorMessage
		}
	}
}

// continuation is the request that answers a batch: the operation's fields
// again, the responses, the device's time and status 0.
func continuation(start server.Request, exchanges []Exchange, took time.Duration) server.Request {
	req := start
	req.Responses = make([]server.Response, len(exchanges))
	for i, ex := range exchanges {
		req.Responses[i] = server.Response{CommandID: ex.CommandID, Response: ex.AnswerHex}
	}
	ms := float64(took.Microseconds()) / 1000
	ok := flow.StatusOK
	req.ResponseTimeMs, req.StatusCode, req.StatusMessage = &ms, &ok, ""
	return req
}

// runBatch runs commands on crd in order. When lastFails, the device fails
// on the last command: it never reaches the card.
func runBatch(ctx context.Context, crd *card.Card, commands []server.Command, lastFails bool, opts Options) ([]Exchange, error) {
	out := make([]Exchange, len(commands))
	for i, cmd := range commands {
		frame, err := hex.DecodeString(cmd.Command)
		if err != nil {
			return nil, fmt.Errorf("%w: command %s is not hex: %w", ErrBadReply, cmd.CommandID, err)
		}
		ex := Exchange{CommandID: cmd.CommandID, Command: frame, CommandHex: strings.ToUpper(cmd.Command)}
		if !opts.SkipDescribe {
			ex.CommandText = felica.Describe(frame, opts.Framing)
		}
		switch {
		case lastFails && i == len(commands)-1:
			ex.NoAnswer = deviceErrorMessage
		case crd == nil:
			ex.NoAnswer = "no card in the field"
		default:
			answer, err := crd.Transceive(ctx, frame)
			switch {
			case errors.Is(err, card.ErrNoAnswer):
				ex.NoAnswer = err.Error()
			case err != nil:
				return nil, fmt.Errorf("command %s: %w", cmd.CommandID, err)
			default:
				ex.Answer = answer
				ex.AnswerHex = strings.ToUpper(hex.EncodeToString(answer))
				if !opts.SkipDescribe {
					ex.AnswerText = felica.Describe(answer, opts.Framing)
				}
			}
		}
		out[i] = ex
	}
	return out, nil
}

// armCard arms the faults that hit the card.
func armCard(crd *card.Card, faults []Fault) error {
	for _, f := range faults {
		cf, ok := f.cardFault()
		if !ok {
			continue
		}
		if crd == nil {
			return fmt.Errorf("%w: fault %s needs a card", ErrConfig, f)
		}
		if err := crd.Arm(cf); err != nil {
			return fmt.Errorf("%w: fault %s: %w", ErrConfig, f, err)
		}
	}
	return nil
}

// sameReply checks the contract's promise for a request sent twice: a new
// responseId, all else the same but the timestamp.
func sameReply(first, again server.Reply) error {
	if first.ResponseHeader.ResponseID == again.ResponseHeader.ResponseID {
		return fmt.Errorf("%w: both have responseId %q", ErrDuplicateDisagrees, first.ResponseHeader.ResponseID)
	}
	a, b := first, again
	a.ResponseHeader.ResponseID, a.ResponseHeader.Timestamp = "", ""
	b.ResponseHeader.ResponseID, b.ResponseHeader.Timestamp = "", ""
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if err := errors.Join(errA, errB); err != nil {
		return fmt.Errorf("compare replies: %w", err)
	}
	if string(ja) != string(jb) {
		return fmt.Errorf("%w: first %s, then %s", ErrDuplicateDisagrees, ja, jb)
	}
	return nil
}

// sleep is the default Options.Pause: a timer that gives up when ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

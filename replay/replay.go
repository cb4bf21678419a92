package replay

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/flow"
)

// Kind says what a Finding is about.
type Kind string

// The kinds of findings, in the order a call is compared.
const (
	// Same: the call replayed as recorded.
	Same Kind = "same"
	// DecisionsDiffer: the guards decided otherwise.
	DecisionsDiffer Kind = "decisions"
	// StepDiffers: another step answered the call, the decisions alike.
	StepDiffers Kind = "step"
	// CommandsDiffer: the batch sent differs.
	CommandsDiffer Kind = "commands"
	// OutcomeDiffers: one ended the operation where the other went on, or
	// with another status.
	OutcomeDiffers Kind = "outcome"
	// RanOut: the new flow asks the card something the recording has no
	// answer to; replay stops.
	RanOut Kind = "ran-out"
	// EndsEarly: the new flow ended where the recording goes on.
	EndsEarly Kind = "ends-early"
	// NotAStep: the recorded call ran no step (a device failure, 323, an
	// expiry); replay stops there.
	NotAStep Kind = "not-a-step"
	// Note: something to know that is not a difference.
	Note Kind = "note"
)

// Finding is one call's comparison.
type Finding struct {
	Call int  `json:"call"` // 1-based
	Kind Kind `json:"kind"`
	// Recorded and Now say what the recording and the new flow did.
	Recorded []string `json:"recorded,omitempty"`
	Now      []string `json:"now,omitempty"`
	Text     string   `json:"text,omitempty"`
}

// Differs tells whether the finding is a difference.
// A call that ran no step ends the replay without being one.
func (f Finding) Differs() bool { return f.Kind != Same && f.Kind != Note && f.Kind != NotAStep }

// Report is a whole replay.
type Report struct {
	SessionID string    `json:"sessionId"`
	IssuerID  string    `json:"issuerId"`
	Operation string    `json:"operation"`
	Recorded  string    `json:"recordedVersion"`
	Replayed  string    `json:"replayedVersion"`
	Findings  []Finding `json:"findings"`
	// Differences counts the findings that differ; FirstCall is the call
	// of the first (0: none).
	Differences int `json:"differences"`
	FirstCall   int `json:"firstCall,omitempty"`
}

// Run feeds rec's recorded card answers through iss's flow for rec's
// operation, call by call, and compares each step with the recording.
// facts are the ledger facts the flow reads. It stops where the recording
// can no longer answer the new flow. An error means the replay could not
// run at all (the operation is unknown to iss, the recording is unusable).
func Run(ctx context.Context, iss flow.Issuer, rec Recording, facts Facts) (Report, error) {
	rep := Report{SessionID: rec.SessionID, IssuerID: rec.IssuerID, Operation: rec.Operation,
		Recorded: rec.Version, Replayed: iss.Version()}
	op, ok := iss.Resolve(flow.Endpoint(rec.Endpoint), rec.Operation, rec.PurchaseID != "")
	if !ok {
		return rep, fmt.Errorf("replay: issuer %s offers no operation %s on %s", iss.ID(), rec.Operation, rec.Endpoint)
	}
	req, err := rec.request()
	if err != nil {
		return rep, err
	}
	framing := felica.WithLEN
	if iss.Settings().WithoutLEN {
		framing = felica.WithoutLEN
	}
	if flow.Endpoint(rec.Endpoint) == flow.EndpointReaderMode && rec.CardContents == nil {
		rep.add(Finding{Call: 1, Kind: Note, Text: "the trace does not keep cardContents and the recording adds none: replayed without"})
	}
	led := factsLedger{facts: facts, cardID: rec.CardID, purchaseID: rec.PurchaseID}
	var state []byte
	var pending [][]byte // the new flow's batch that the next call answers
	for i, call := range rec.Calls {
		n := i + 1
		if !isStep(call) {
			rep.add(Finding{Call: n, Kind: NotAStep, Recorded: describeCall(call, framing),
				Text: "the recording ends here without a step (" + strings.Join(call.Decisions, "; ") + "); replay stops"})
			return rep, nil
		}
		in := flow.Input{Endpoint: flow.Endpoint(rec.Endpoint), Operation: op, State: state, Request: req,
			Ledger: led, Now: call.At}
		if i > 0 {
			in.Responses = frames(call.Responses)
		}
		res, stepErr := stepSafely(ctx, iss, in)
		f := compare(n, call, res, stepErr, framing)
		rep.add(f)
		if stepErr != nil || len(res.Commands) == 0 {
			if n < len(rec.Calls) && stepErr == nil {
				rep.add(Finding{Call: n + 1, Kind: EndsEarly, Recorded: describeCall(rec.Calls[n], framing),
					Text: "the new flow ended at the call before; the recording goes on"})
			}
			return rep, nil
		}
		state, pending = res.State, res.Commands
		if !sameFrames(pending, frames(call.Commands)) {
			if n < len(rec.Calls) {
				rep.add(Finding{Call: n + 1, Kind: RanOut,
					Text: "the recorded answers are to the recorded commands, not to the new flow's: replay stops"})
			} else {
				rep.add(Finding{Call: n + 1, Kind: RanOut, Now: describeFrames(pending, framing),
					Text: "the recording has no call answering the new flow's commands"})
			}
			return rep, nil
		}
		if n == len(rec.Calls) {
			rep.add(Finding{Call: n + 1, Kind: RanOut, Now: describeFrames(pending, framing),
				Text: "the recording ends here; the new flow waits for answers to these commands"})
			return rep, nil
		}
	}
	return rep, nil
}

func (r *Report) add(f Finding) {
	r.Findings = append(r.Findings, f)
	if f.Differs() {
		r.Differences++
		if r.FirstCall == 0 {
			r.FirstCall = f.Call
		}
	}
}

// isStep tells whether a recorded call ran a step of the flow: it names
// its step, or the step failed (921).
func isStep(c Call) bool {
	return c.Step != "" || (len(c.Decisions) > 0 && strings.HasPrefix(c.Decisions[0], "fault: "))
}

// stepSafely runs one step; a panic is an error.
func stepSafely(ctx context.Context, iss flow.Issuer, in flow.Input) (res flow.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = flow.Result{}, fmt.Errorf("replay: step panicked: %v", p)
		}
	}()
	return iss.Step(ctx, in)
}

// compare compares one recorded call with the new step's result.
func compare(n int, call Call, res flow.Result, stepErr error, framing felica.Framing) Finding {
	recDecisions := slices.Clone(call.Decisions)
	refused := ""
	if k := slices.IndexFunc(recDecisions, func(d string) bool { return strings.HasPrefix(d, "refused: ") }); k >= 0 {
		refused = recDecisions[k]
		recDecisions = recDecisions[:k]
	}
	var rec, now []string
	kind := Same
	mark := func(k Kind) {
		if kind == Same {
			kind = k
		}
	}
	if stepErr != nil {
		now = append(now, "fault: "+stepErr.Error())
	}
	recFault := len(recDecisions) > 0 && strings.HasPrefix(recDecisions[0], "fault: ")
	switch {
	case recFault && stepErr != nil:
		if faultText(recDecisions[0]) != faultText("fault: "+stepErr.Error()) {
			mark(OutcomeDiffers)
			rec = append(rec, recDecisions[0])
		}
		return finding(n, kind, rec, now)
	case recFault != (stepErr != nil):
		mark(OutcomeDiffers)
		rec = append(rec, describeCall(call, framing)...)
		if stepErr == nil {
			now = append(now, describeResult(res, framing)...)
		}
		return finding(n, kind, rec, now)
	}
	if !slices.Equal(res.Decisions, recDecisions) {
		mark(DecisionsDiffer)
		k := 0 // the decisions both made alike are not repeated
		for k < len(res.Decisions) && k < len(recDecisions) && res.Decisions[k] == recDecisions[k] {
			k++
		}
		if k > 0 {
			same := fmt.Sprintf("(%d decisions alike)", k)
			rec, now = append(rec, same), append(now, same)
		}
		rec = append(rec, prefixed("decided ", recDecisions[k:])...)
		now = append(now, prefixed("decided ", res.Decisions[k:])...)
	}
	if res.Step != call.Step {
		mark(StepDiffers)
		rec = append(rec, "step "+call.Step)
		now = append(now, "step "+res.Step)
	}
	recFrames := frames(call.Commands)
	switch {
	case len(res.Commands) > 0 && len(recFrames) > 0:
		if !sameFrames(res.Commands, recFrames) {
			mark(CommandsDiffer)
			rec = append(rec, describeFrames(recFrames, framing)...)
			now = append(now, describeFrames(res.Commands, framing)...)
		}
	case len(res.Commands) > 0 || len(recFrames) > 0 || (refused == "" && res.Status != call.StatusCode):
		mark(OutcomeDiffers)
		rec = append(rec, describeCall(call, framing)...)
		now = append(now, describeResult(res, framing)...)
	case refused == "" && res.Message != "" && res.Message != call.Message:
		mark(OutcomeDiffers)
		rec = append(rec, fmt.Sprintf("status %d %s", call.StatusCode, call.Message))
		now = append(now, fmt.Sprintf("status %d %s", res.Status, res.Message))
	}
	f := finding(n, kind, rec, now)
	if refused != "" && kind == Same {
		f.Kind, f.Text = Note, "the engine refused this step's effects ("+strings.TrimPrefix(refused, "refused: ")+
			") and answered 911; replay does not apply effects, so it cannot tell whether it would again"
	}
	return f
}

func finding(n int, kind Kind, rec, now []string) Finding {
	return Finding{Call: n, Kind: kind, Recorded: rec, Now: now}
}

// faultText drops the file:line and details that change between versions
// from a fault message, keeping its gist for comparison.
func faultText(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func prefixed(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	if len(out) == 0 {
		out = []string{p + "nothing"}
	}
	return out
}

func sameFrames(a, b [][]byte) bool {
	return slices.EqualFunc(a, b, func(x, y []byte) bool { return string(x) == string(y) })
}

func describeFrames(fs [][]byte, framing felica.Framing) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = "command " + felica.Describe(f, framing)
	}
	return out
}

func describeCall(c Call, framing felica.Framing) []string {
	if len(c.Commands) > 0 {
		return describeFrames(frames(c.Commands), framing)
	}
	return []string{strings.TrimSpace(fmt.Sprintf("status %d %s", c.StatusCode, c.Message))}
}

func describeResult(r flow.Result, framing felica.Framing) []string {
	if len(r.Commands) > 0 {
		return describeFrames(r.Commands, framing)
	}
	return []string{strings.TrimSpace(fmt.Sprintf("status %d %s", r.Status, r.Message))}
}

// factsLedger answers a flow's ledger questions from fixed facts.
type factsLedger struct {
	facts      Facts
	cardID     string
	purchaseID string
}

func (l factsLedger) Card(_ context.Context, cardID string) (flow.Card, bool, error) {
	c := l.facts.Card
	if c == nil || cardID != l.cardID {
		return flow.Card{}, false, nil
	}
	out := flow.Card{CardID: cardID, Status: c.Status, ProductCode: c.ProductCode, DeviceID: c.DeviceID,
		Expiry: c.Expiry, LastKnownBalance: c.LastKnownBalance, ParkedBalance: c.ParkedBalance}
	for _, p := range c.Uncertain {
		out.Uncertain = append(out.Uncertain, p.flow())
	}
	if pp := c.PendingPark; pp != nil {
		out.PendingPark = &flow.PendingPark{Balance: pp.Balance, Counter: pp.Counter}
	}
	return out, true, nil
}

func (l factsLedger) Purchase(_ context.Context, purchaseID string) (flow.Purchase, bool, error) {
	if p := l.facts.Purchase; p != nil && purchaseID == or(p.PurchaseID, l.purchaseID) {
		return p.flow(), true, nil
	}
	if c := l.facts.Card; c != nil {
		for _, p := range c.Uncertain {
			if p.PurchaseID == purchaseID {
				return p.flow(), true, nil
			}
		}
	}
	return flow.Purchase{}, false, nil
}

func (l factsLedger) Blacklisted(context.Context, string) (bool, error) {
	return l.facts.Blacklisted, nil
}

func (l factsLedger) ReaderModeAttempts(context.Context, string, time.Time) (int, error) {
	return l.facts.Attempts, nil
}

func (l factsLedger) AccountByIDm(_ context.Context, idm string) (flow.Account, bool, error) {
	a := l.facts.Account
	if a == nil {
		return flow.Account{}, false, nil
	}
	return flow.Account{CardAccountID: a.CardAccountID, IDm: idm, Balance: a.Balance, Pending: a.Pending,
		ExpectedCounter: a.ExpectedCounter}, true, nil
}

func (p FactPurchase) flow() flow.Purchase {
	return flow.Purchase{PurchaseID: p.PurchaseID, CardID: p.CardID, Amount: p.Amount, Kind: p.Kind,
		Status: p.Status, ExpectedCounter: p.ExpectedCounter}
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// runAndCommit runs the next step of base on iss, outside any transaction,
// and commits its outcome and effects.
func (e *Engine) runAndCommit(ctx context.Context, c *call, iss flow.Issuer, base store.Session,
	mark readMark, closing []store.Session, now time.Time) (Reply, error) {
	in := flow.Input{
		Endpoint:  flow.Endpoint(base.Endpoint),
		Operation: base.Operation,
		State:     base.FlowState,
		Request: flow.Request{
			IssuerID:     c.req.IssuerID,
			CardID:       c.req.CardID,
			PurchaseID:   c.req.PurchaseID,
			DeviceID:     c.req.DeviceID,
			CardContents: c.req.CardContents,
		},
		Responses: frames(c.req.Responses),
		Ledger:    ledger{store: e.store, issuerID: c.req.IssuerID},
		Now:       now,
	}
	stepStart := e.clock.Now()
	res, stepErr := e.runStep(ctx, iss, in)
	if e.observer != nil {
		e.observer.StepDone(c.req.IssuerID, base.Operation, e.clock.Now().Sub(stepStart), stepErr)
	}
	if err := ctx.Err(); err != nil {
		// The caller gave up, not the flow: keep the session as it was.
		return Reply{}, fmt.Errorf("request abandoned during the step: %w", err)
	}

	var ch change
	if stepErr != nil {
		e.logFault(ctx, "engine: step failed", c, base.ID, iss.Version(), stepErr)
		s := base
		e.record(&s, c, now, finalReply(flow.StatusUnexpectedError),
			store.TraceEntry{Decisions: []string{"fault: " + stepErr.Error()}})
		e.end(&s, store.EndFault, now)
		ch = change{session: s}
	} else {
		ch = e.outcome(c, iss, base, res, now)
	}
	ch.mark = mark
	ch.closing = closing
	ch.now = now

	written, refusal, err := e.commit(ctx, ch)
	switch {
	case errors.Is(err, store.ErrClaimed) && base.Revision == 0:
		// Another device's operation has the card: nothing was written.
		return statusReply("", flow.StatusOperationOngoing), nil
	case errors.Is(err, store.ErrClaimed):
		// The step named a card (its IDm) that another device's operation
		// has: this operation ends, its step's effects unwritten.
		return e.endWith(ctx, c, base, mark, now, flow.StatusOperationOngoing, store.EndCompleted,
			"refused: "+err.Error())
	case err != nil:
		return Reply{}, err
	}
	if refusal != nil {
		e.log.WarnContext(ctx, "engine: step's effects refused",
			"error", refusal.Error(), "issuer", c.req.IssuerID, "version", iss.Version(),
			"session", written.ID, e.cardAttr(ctx, "cardId", c.req.CardID))
	}
	return replyOf(written.ID, written.LastReply), nil
}

// outcome turns a step's result into the session to write, and the session
// to write instead if the ledger refuses the step's effects (911).
func (e *Engine) outcome(c *call, iss flow.Issuer, base store.Session, res flow.Result, now time.Time) change {
	stepNo := base.Steps + 1

	s := base
	s.FlowState = bytes.Clone(res.State)
	if s.IDm == "" {
		s.IDm = res.IDm
	}
	s.InFlight = inFlightAfter(base.InFlight, res.Effects, c.req.CardID)
	entry := store.TraceEntry{Step: res.Step, Decisions: res.Decisions}
	var reply store.Reply
	if len(res.Commands) > 0 {
		// A batch always answers 0: a status only means something when the
		// operation ends.
		reply = finalReply(flow.StatusOK)
		reply.Commands = batch(stepNo, res.Commands)
		s.Batch = reply.Commands
		s.ExpiresAt = now.Add(ttl(iss))
		entry.Commands = reply.Commands
		e.record(&s, c, now, reply, entry)
	} else {
		reply = finalReply(res.Status)
		if res.Message != "" {
			reply.StatusMessage = res.Message
		}
		reply.Balance = res.Balance
		e.record(&s, c, now, reply, entry)
		e.end(&s, store.EndCompleted, now)
	}

	refused := func(reason error) store.Session {
		r := base
		decisions := append(slices.Clone(res.Decisions), "refused: "+reason.Error())
		e.record(&r, c, now, finalReply(flow.StatusOperationFailed),
			store.TraceEntry{Step: res.Step, Decisions: decisions})
		e.end(&r, store.EndCompleted, now)
		return r
	}
	scope := effectScope{
		issuerID:  c.req.IssuerID,
		cardID:    c.req.CardID,
		deviceID:  c.req.DeviceID,
		sessionID: s.ID,
		now:       now,
		newID:     e.newID,
	}
	if c.req.CardContents != nil {
		scope.idm = c.req.CardContents.IDm
	}
	return change{session: s, effects: res.Effects, scope: scope, refused: refused}
}

// runStep runs one step under the issuer's step timeout. The step runs on
// its own goroutine so that one which ignores its context, or panics, still
// gives the request back on time.
//
// At most Config.MaxConcurrentSteps steps run at once, and a step's time
// limit starts when it gets its turn: with hundreds of requests in flight
// on a few cores, a limit that also counted the wait for a core would fail
// sound scripts (921) under load, while one that counts only the step's
// own run still stops a runaway script.
func (e *Engine) runStep(ctx context.Context, iss flow.Issuer, in flow.Input) (flow.Result, error) {
	select {
	case e.stepSlots <- struct{}{}:
		defer func() { <-e.stepSlots }()
	case <-ctx.Done():
		return flow.Result{}, fmt.Errorf("waiting for a turn to run the step: %w", ctx.Err())
	}
	limit := iss.Settings().StepTimeout
	if limit <= 0 {
		limit = defaultStepTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	type stepDone struct {
		res flow.Result
		err error
	}
	done := make(chan stepDone, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- stepDone{err: fmt.Errorf("%w: %v", ErrStepPanic, r)}
			}
		}()
		res, err := iss.Step(ctx, in)
		done <- stepDone{res: res, err: err}
	}()
	select {
	case d := <-done:
		if d.err != nil {
			return flow.Result{}, fmt.Errorf("step of %s %s: %w", in.Endpoint, in.Operation, d.err)
		}
		return d.res, nil
	case <-ctx.Done():
		return flow.Result{}, fmt.Errorf("%w after %s (%s %s)", ErrStepTimeout, limit, in.Endpoint, in.Operation)
	}
}

func ttl(iss flow.Issuer) time.Duration {
	if d := iss.Settings().TTL; d > 0 {
		return d
	}
	return defaultTTL
}

// batch names a step's commands "<step>.<index>", counting from 1.
func batch(stepNo int, frames [][]byte) []store.Command {
	prefix := strconv.Itoa(stepNo) + "."
	cmds := make([]store.Command, len(frames))
	for i, f := range frames {
		cmds[i] = store.Command{ID: prefix + strconv.Itoa(i+1), Frame: bytes.Clone(f)}
	}
	return cmds
}

func frames(responses []Response) [][]byte {
	if len(responses) == 0 {
		return nil
	}
	out := make([][]byte, len(responses))
	for i, r := range responses {
		out[i] = r.Frame
	}
	return out
}

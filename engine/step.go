package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync"
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
		e.recordStopped(c.req.IssuerID, base.Operation, now, stepErr)
		s := base
		e.record(&s, c, now, finalReply(flow.StatusUnexpectedError),
			store.TraceEntry{Step: faultStep(base, stepErr), Decisions: []string{"fault: " + stepErr.Error()}})
		e.end(&s, store.EndFault, now)
		ch = change{session: s}
	} else {
		e.logFlowLines(ctx, c, base.ID, res)
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
	entry := store.TraceEntry{Step: res.Step, Decisions: res.Decisions, Effects: describeEffects(res.Effects),
		Logs: res.Logs, Vars: string(res.Vars)}
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
			store.TraceEntry{Step: res.Step, Decisions: decisions, Logs: res.Logs, Vars: string(res.Vars)})
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

// runStep runs one step of issuer iss under its step limit, on a slot of
// that issuer's own (so a runaway issuer delays only itself), watched by
// the memory guard.
//
// The limit counts the step's own work: the step runs on a goroutine locked
// to its OS thread, and a watchdog reads that thread's CPU clock, so time
// spent waiting for a core on a busy machine is not charged to the script
// (CONTRACT.md §1.7: no false 921 under load). A step that sleeps or waits
// without using CPU is still stopped at wallLimitFactor times the limit.
// Without a thread CPU clock the limit is wall time.
//
// The step runs on one of the engine's step runners, which lets a step the
// engine stops, or one that panics, give the request back. A stopped
// step's runner returns when the script next checks its context; its
// result is dropped.
func (e *Engine) runStep(ctx context.Context, iss flow.Issuer, in flow.Input) (flow.Result, error) {
	slots := e.slots.of(in.Request.IssuerID)
	select {
	case slots <- struct{}{}:
		defer func() { <-slots }()
	case <-ctx.Done():
		return flow.Result{}, fmt.Errorf("waiting for a turn to run the step: %w", ctx.Err())
	}
	limit := iss.Settings().StepTimeout
	if limit <= 0 {
		limit = defaultStepTimeout
	}
	stepCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// The guard follows the step on its runner, not this call: a stopped
	// step holds its memory until it has returned.
	unwatch := e.memory.watch(stop)

	done := make(chan stepDone, 1)
	e.runners.run(func() (flow.Result, error) {
		defer unwatch()
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer watchCPU(limit, stop)()
		return iss.Step(stepCtx, in)
	}, done)
	select {
	case d := <-done:
		if cause := context.Cause(stepCtx); cause != nil && ctx.Err() == nil {
			return flow.Result{}, fmt.Errorf("step of %s %s: %w", in.Endpoint, in.Operation, cause)
		}
		if d.err != nil {
			return flow.Result{}, fmt.Errorf("step of %s %s: %w", in.Endpoint, in.Operation, d.err)
		}
		return d.res, nil
	case <-stepCtx.Done():
		return flow.Result{}, fmt.Errorf("step of %s %s: %w", in.Endpoint, in.Operation, context.Cause(stepCtx))
	}
}

// faultStep names the flow step that failed: the one the flow names, else
// (a step the engine stopped) the one whose answers the step was handling.
func faultStep(base store.Session, err error) string {
	var se *flow.StepError
	if errors.As(err, &se) {
		return se.Step
	}
	return base.Step
}

// recordStopped counts a step the engine stopped (time or memory limit,
// panic) among its issuer's run-time errors; a step that failed on its own
// was counted by the flow.
func (e *Engine) recordStopped(issuerID, operation string, at time.Time, err error) {
	recorder, ok := e.flows.(flow.RuntimeErrorRecorder)
	if !ok || !(errors.Is(err, ErrStepTimeout) || errors.Is(err, ErrStepMemory) || errors.Is(err, ErrStepPanic)) {
		return
	}
	recorder.RecordRuntimeError(issuerID, operation, at, err)
}

// wallLimitFactor bounds a step's wall time, as a multiple of its CPU
// limit: a step blocked without using CPU must end too.
const wallLimitFactor = 20

// watchCPU stops the step running on the calling goroutine's locked
// thread once that thread used limit of CPU, or once wallLimitFactor
// times limit passed. Call the returned function when the step returns.
func watchCPU(limit time.Duration, stop context.CancelCauseFunc) (cancel func()) {
	wallStart := time.Now()
	read := threadCPUClock()
	cpuStart := read()
	if cpuStart < 0 {
		t := time.AfterFunc(limit, func() {
			stop(fmt.Errorf("%w: it ran %s", ErrStepTimeout, limit))
		})
		return func() { t.Stop() }
	}
	var t *time.Timer
	var mu sync.Mutex // guards t against the first check running before it is set
	check := func() {
		used, wall := read()-cpuStart, time.Since(wallStart)
		switch {
		case used >= limit:
			stop(fmt.Errorf("%w: it used %s of CPU, its limit is %s", ErrStepTimeout, used.Round(time.Millisecond), limit))
		case wall >= wallLimitFactor*limit:
			stop(fmt.Errorf("%w: it ran %s and used %s of CPU", ErrStepTimeout, wall.Round(time.Millisecond), used.Round(time.Millisecond)))
		default:
			// The step cannot use CPU faster than the clock runs.
			mu.Lock()
			t.Reset(min(limit-used, wallLimitFactor*limit-wall))
			mu.Unlock()
		}
	}
	mu.Lock()
	t = time.AfterFunc(limit, check)
	mu.Unlock()
	return func() {
		mu.Lock()
		defer mu.Unlock()
		t.Stop()
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

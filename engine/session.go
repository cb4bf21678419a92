package engine

import (
	"slices"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// record notes on s that call c advanced it and answered reply: one more
// step and revision, the fingerprint and reply for replays, a trace entry.
func (e *Engine) record(s *store.Session, c *call, now time.Time, reply store.Reply, entry store.TraceEntry) {
	s.Revision++
	s.Steps++
	s.ActorID = c.req.ActorID
	s.LastCallAt = now
	s.LastRequest = c.fingerprint
	s.LastReply = reply

	entry.At = now
	entry.Elapsed = e.clock.Now().Sub(c.start)
	entry.DeviceCode = c.req.StatusCode
	entry.DeviceTime = time.Duration(c.req.ResponseTime * float64(time.Millisecond))
	entry.StatusCode = reply.StatusCode
	entry.Message = reply.StatusMessage
	if len(c.req.Responses) > 0 {
		entry.Responses = make([]store.Command, len(c.req.Responses))
		for i, r := range c.req.Responses {
			entry.Responses[i] = store.Command{ID: r.CommandID, Frame: r.Frame}
		}
	}
	if entry.Step != "" {
		s.Step = entry.Step
	}
	s.Trace = appendTrace(s.Trace, entry)
}

// expire closes an open session whose TTL passed. It does not advance the
// session: the reply kept for replays stays the last one it gave. A write in
// flight stays UNCERTAIN in the ledger (CONTRACT.md §1.6).
func (e *Engine) expire(s store.Session, now time.Time, why string) store.Session {
	s.Revision++
	msg, _ := flow.StatusMessage(flow.StatusTTLExpired)
	s.Trace = appendTrace(s.Trace, store.TraceEntry{
		At:         now,
		Decisions:  []string{why},
		StatusCode: flow.StatusTTLExpired,
		Message:    msg,
	})
	e.end(&s, store.EndExpired, now)
	return s
}

func (e *Engine) end(s *store.Session, reason store.EndReason, now time.Time) {
	s.State = store.SessionEnded
	s.EndReason = reason
	s.EndedAt = now
	s.PurgeAt = now.Add(e.retention)
	s.Batch = nil
	// No step runs after the end: the flow's state would only weigh on
	// the store until the purge (the trace keeps its last variables).
	s.FlowState = nil
}

// appendTrace adds an entry to what the session's next write appends to
// its trace (store.Tx.PutSession). It never writes into the backing array
// of the session it was given: the same base session may be recorded twice
// (the step's outcome and its refusal), and neither may see the other's
// entry.
func appendTrace(trace []store.TraceEntry, entry store.TraceEntry) []store.TraceEntry {
	return append(slices.Clip(trace), entry)
}

// sameOperation: a start request asks for what the open session s does.
func sameOperation(s store.Session, c *call) bool {
	return s.Endpoint == string(c.req.Endpoint) &&
		s.Operation == c.operation &&
		s.CardID == c.req.CardID &&
		s.PurchaseID == c.req.PurchaseID
}

// answersBatch: responses answer the leading commands of batch, in order.
func answersBatch(batch []store.Command, responses []Response) bool {
	if len(responses) > len(batch) {
		return false
	}
	for i, r := range responses {
		if r.CommandID != batch[i].ID {
			return false
		}
	}
	return true
}

// framesFit: every non-empty frame's LEN byte counts the frame, unless the
// issuer's frames travel without LEN.
func framesFit(withoutLEN bool, responses []Response) bool {
	if withoutLEN {
		return true
	}
	for _, r := range responses {
		if len(r.Frame) > 0 && int(r.Frame[0]) != len(r.Frame) {
			return false
		}
	}
	return true
}

// inFlightAfter follows the money write in flight through a step's effects.
func inFlightAfter(cur *store.MoneyWrite, effects []flow.Effect, requestCard string) *store.MoneyWrite {
	for _, ef := range effects {
		switch ef.Kind {
		case flow.WriteSent:
			cur = &store.MoneyWrite{
				PurchaseID:      ef.PurchaseID,
				CardID:          orDefault(ef.CardID, requestCard),
				ExpectedCounter: ef.Counter,
			}
		case flow.PurchaseApplied, flow.PurchasePending:
			if cur != nil && cur.PurchaseID == ef.PurchaseID {
				cur = nil
			}
		}
	}
	return cur
}

// orDefault fills an effect's empty field (card, IDm) from the request.
func orDefault(v, fromRequest string) string {
	if v != "" {
		return v
	}
	return fromRequest
}

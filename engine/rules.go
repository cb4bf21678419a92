package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// startOperation applies the rules for a request without responses: retry,
// 321, closing an expired session, or a new session's first step.
func (e *Engine) startOperation(ctx context.Context, c *call, cur store.Session, found bool, now time.Time) (Reply, error) {
	var closing []store.Session
	if found && cur.State == store.SessionOpen {
		switch {
		case now.After(cur.ExpiresAt):
			closing = []store.Session{e.expire(cur, now, "expired: a new operation started")}
		case cur.Steps == 1 && sameOperation(cur, c):
			return replyOf(cur.ID, cur.LastReply), nil
		default:
			return statusReply(cur.ID, flow.StatusOperationOngoing), nil
		}
	}
	fresh := store.Session{
		ID:         e.newID(),
		IssuerID:   c.req.IssuerID,
		DeviceID:   c.req.DeviceID,
		ActorID:    c.req.ActorID,
		Endpoint:   string(c.req.Endpoint),
		Operation:  c.operation,
		CardID:     c.req.CardID,
		PurchaseID: c.req.PurchaseID,
		Version:    c.issuer.Version(),
		State:      store.SessionOpen,
		CreatedAt:  now,
	}
	if c.req.CardContents != nil {
		fresh.IDm = c.req.CardContents.IDm
	}
	// The commit is what refuses a card another device's operation holds;
	// looking first spares that step.
	busy, err := e.cardBusy(ctx, fresh, now)
	if err != nil || busy {
		return statusReply("", flow.StatusOperationOngoing), err
	}
	return e.runAndCommit(ctx, c, c.issuer, fresh, readMarkOf(cur, found), closing, now)
}

// continueOperation applies the rules for a request with responses.
func (e *Engine) continueOperation(ctx context.Context, c *call, cur store.Session, found bool, now time.Time) (Reply, error) {
	if !found {
		return statusReply("", flow.StatusUnknownSession), nil
	}
	if c.operation == "" {
		c.operation = cur.Operation // the issuer was unloaded: the session knows
	}
	replay := bytes.Equal(cur.LastRequest, c.fingerprint)
	if cur.State == store.SessionEnded {
		switch {
		case cur.EndReason == store.EndExpired:
			return statusReply(cur.ID, flow.StatusTTLExpired), nil
		case replay:
			return replyOf(cur.ID, cur.LastReply), nil
		default:
			return statusReply("", flow.StatusUnknownSession), nil
		}
	}

	mark := readMarkOf(cur, true)
	if now.After(cur.ExpiresAt) {
		closed := e.expire(cur, now, "expired: responses came after the TTL")
		if _, _, err := e.commit(ctx, change{mark: mark, session: closed}); err != nil {
			return Reply{}, err
		}
		return statusReply(cur.ID, flow.StatusTTLExpired), nil
	}
	if replay {
		return replyOf(cur.ID, cur.LastReply), nil
	}
	if cur.Endpoint != string(c.req.Endpoint) || cur.CardID != c.req.CardID ||
		!answersBatch(cur.Batch, c.req.Responses) {
		return statusReply("", flow.StatusBadFormat), nil
	}

	pinned, err := e.flows.Pinned(ctx, cur.IssuerID, cur.Version)
	switch {
	case errors.Is(err, flow.ErrVersionGone):
		e.logFault(ctx, "engine: session's script version is gone", c, cur.ID, cur.Version, err)
		return e.endWith(ctx, c, cur, mark, now, flow.StatusUnexpectedError, store.EndFault, "fault: "+err.Error())
	case err != nil:
		return Reply{}, fmt.Errorf("loading version %s of issuer %s: %w", cur.Version, cur.IssuerID, err)
	}
	if !framesFit(pinned.Settings().WithoutLEN, c.req.Responses) {
		return statusReply("", flow.StatusBadFormat), nil
	}

	switch code := c.req.StatusCode; {
	case flow.IsDeviceFailure(code):
		return e.endWith(ctx, c, cur, mark, now, code, store.EndDeviceFailure,
			fmt.Sprintf("device failure %d reported by the TSH", code))
	case code != flow.StatusOK:
		return statusReply("", flow.StatusBadFormat), nil
	case len(c.req.Responses) < len(cur.Batch):
		return e.endWith(ctx, c, cur, mark, now, flow.StatusOperationIncomplete, store.EndIncomplete,
			fmt.Sprintf("%d responses for %d commands", len(c.req.Responses), len(cur.Batch)))
	}
	return e.runAndCommit(ctx, c, pinned, cur, mark, nil, now)
}

// endWith ends the session without running a step and answers code.
func (e *Engine) endWith(ctx context.Context, c *call, cur store.Session, mark readMark, now time.Time,
	code int, reason store.EndReason, why string) (Reply, error) {
	s := cur
	e.record(&s, c, now, finalReply(code), store.TraceEntry{Decisions: []string{why}})
	e.end(&s, reason, now)
	written, _, err := e.commit(ctx, change{mark: mark, session: s})
	if err != nil {
		return Reply{}, err
	}
	return replyOf(written.ID, written.LastReply), nil
}

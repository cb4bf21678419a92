package engine

import (
	"context"
	"log/slog"

	"github.com/tes-project/tes/flow"
)

// cardAttr logs a card identifier (cardId, IDm) in full only when the
// logger is at debug level; otherwise it shows the first four characters.
func (e *Engine) cardAttr(ctx context.Context, key, id string) slog.Attr {
	if e.log.Enabled(ctx, slog.LevelDebug) {
		return slog.String(key, id)
	}
	return slog.String(key, mask(id))
}

// mask keeps the first four characters (not bytes: a card id may be any
// UTF-8) of a longer id; an id of four or fewer shows nothing.
func mask(id string) string {
	const shown = 4
	n := 0
	for i := range id {
		if n == shown {
			return id[:i] + "…"
		}
		n++
	}
	return "…"
}

// logFault records a 921 that ended a session.
func (e *Engine) logFault(ctx context.Context, msg string, c *call, sessionID, version string, err error) {
	e.log.ErrorContext(ctx, msg,
		"error", err.Error(),
		"issuer", c.req.IssuerID,
		"version", version,
		"session", sessionID,
		"device", c.req.DeviceID,
		e.cardAttr(ctx, "cardId", c.req.CardID))
}

// logFlowLines logs the flow's own log() lines of a step at info level,
// with the session they belong to.
func (e *Engine) logFlowLines(ctx context.Context, c *call, sessionID string, res flow.Result) {
	for _, line := range res.Logs {
		e.log.InfoContext(ctx, "flow log", "message", line, "issuer", c.req.IssuerID,
			"session", sessionID, "step", res.Step)
	}
}

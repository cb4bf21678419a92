package tsh

import (
	"context"
	"encoding/json"
	"net/http"
)

// Session fetches a session's trace (GET /admin/v1/sessions/{id}) as the
// admin API writes it, for tes replay.
func (a *Admin) Session(ctx context.Context, sessionID string) (json.RawMessage, error) {
	var raw json.RawMessage
	err := a.do(ctx, http.MethodGet, a.path("sessions", sessionID), nil, &raw)
	return raw, err
}

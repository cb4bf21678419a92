package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/store"
)

// Listing limits of GET /admin/v1/sessions.
const (
	defaultSessionLimit = 50
	maxSessionLimit     = 1000
	maxSessionID        = 64
)

// SessionSummary is a session without its trace, as listings show it.
type SessionSummary struct {
	SessionID     string             `json:"sessionId"`
	IssuerID      string             `json:"issuerId"`
	DeviceID      string             `json:"deviceId"`
	ActorID       string             `json:"actorId,omitempty"`
	Endpoint      string             `json:"endpoint"`
	Operation     string             `json:"operation"`
	CardID        string             `json:"cardId,omitempty"`
	IDm           string             `json:"idm,omitempty"`
	PurchaseID    string             `json:"purchaseId,omitempty"`
	Version       string             `json:"version"`
	State         store.SessionState `json:"state"`
	EndReason     store.EndReason    `json:"endReason,omitempty"`
	Steps         int                `json:"steps"`
	StatusCode    int                `json:"statusCode"`
	StatusMessage string             `json:"statusMessage"`
	InFlight      *store.MoneyWrite  `json:"inFlight,omitempty"`
	CreatedAt     time.Time          `json:"createdAt"`
	LastCallAt    time.Time          `json:"lastCallAt"`
	ExpiresAt     time.Time          `json:"expiresAt"`
	EndedAt       time.Time          `json:"endedAt,omitzero"`
}

// SessionPage is one page of GET /admin/v1/sessions: NextCursor, when not
// empty, is the cursor of the next page.
type SessionPage struct {
	Sessions   []SessionSummary `json:"sessions"`
	NextCursor string           `json:"nextCursor,omitempty"`
}

// SessionView is one session with its trace.
//
// Each trace entry is the store's TraceEntry as its JSON names it, so that
// a field the engine or the flows start recording shows without a change
// here, except that: "commands" and "responses" are frames decoded
// (FrameView), and every duration field whose name ends in "Ns" is given
// in milliseconds under the name ending in "Ms" instead.
type SessionView struct {
	SessionSummary
	Trace []map[string]any `json:"trace"`
}

// FrameView is a frame as hex and as felica.Describe reads it.
type FrameView struct {
	CommandID string `json:"commandId"`
	Hex       string `json:"hex"`
	Decoded   string `json:"decoded"`
}

func summarize(sess store.Session) SessionSummary {
	return SessionSummary{
		SessionID: sess.ID, IssuerID: sess.IssuerID, DeviceID: sess.DeviceID, ActorID: sess.ActorID,
		Endpoint: sess.Endpoint, Operation: sess.Operation, CardID: sess.CardID, IDm: sess.IDm,
		PurchaseID: sess.PurchaseID, Version: sess.Version, State: sess.State, EndReason: sess.EndReason,
		Steps: sess.Steps, StatusCode: sess.LastReply.StatusCode, StatusMessage: sess.LastReply.StatusMessage,
		InFlight: sess.InFlight, CreatedAt: sess.CreatedAt, LastCallAt: sess.LastCallAt,
		ExpiresAt: sess.ExpiresAt, EndedAt: sess.EndedAt,
	}
}

// Session returns a session with its trace decoded; 404 when there is none.
func (a *API) Session(ctx context.Context, id string) (SessionView, error) {
	if reason := checkText(id, 1, maxSessionID); reason != "" {
		return SessionView{}, badInput("sessionId: " + reason)
	}
	var sess store.Session
	var trace []store.TraceEntry
	err := a.s.store.View(ctx, func(tx store.Tx) error {
		var err error
		if sess, err = tx.Session(id); err != nil {
			return err
		}
		trace, err = tx.SessionTrace(id)
		return err
	})
	if err != nil {
		return SessionView{}, storeError(err, "session")
	}
	framing := a.s.framingOf(ctx, sess)
	view := SessionView{SessionSummary: summarize(sess), Trace: make([]map[string]any, 0, len(trace))}
	for _, entry := range trace {
		v, err := traceEntryView(entry, framing)
		if err != nil {
			return SessionView{}, fmt.Errorf("session %s: %w", id, err)
		}
		view.Trace = append(view.Trace, v)
	}
	return view, nil
}

// traceEntryView is entry as its JSON names it, frames decoded and
// durations in milliseconds (see SessionView).
func traceEntryView(entry store.TraceEntry, framing felica.Framing) (map[string]any, error) {
	raw, err := json.Marshal(entry)
	if err != nil {
		return nil, fmt.Errorf("encode trace entry: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode trace entry: %w", err)
	}
	for key, v := range m {
		name, isNs := strings.CutSuffix(key, "Ns")
		n, isNumber := v.(json.Number)
		if !isNs || !isNumber {
			continue
		}
		ns, err := n.Float64()
		if err != nil {
			continue
		}
		delete(m, key)
		m[name+"Ms"] = math.Round(ns/1e3) / 1e3 // microsecond precision
	}
	m["responses"] = describeFrames(entry.Responses, framing)
	m["commands"] = describeFrames(entry.Commands, framing)
	if _, ok := m["decisions"]; !ok {
		m["decisions"] = []string{}
	}
	return m, nil
}

func (s *Server) getSession(c *fiber.Ctx) error {
	view, err := s.API().Session(c.UserContext(), strings.Clone(c.Params("sessionId")))
	if err != nil {
		return err
	}
	return c.JSON(view)
}

// sessionParams are the parameters of GET /admin/v1/sessions.
var sessionParams = []string{"issuerId", "deviceId", "cardId", "idm", "purchaseId", "operation",
	"statusCode", "state", "from", "to", "limit", "cursor"}

// SearchSessions lists sessions, newest first, by the parameters of GET
// /admin/v1/sessions (an empty value is an absent one). An unknown
// parameter, a repeated one or a bad value is a 400 naming it.
func (a *API) SearchSessions(ctx context.Context, params url.Values) (SessionPage, error) {
	q, err := sessionQuery(params)
	if err != nil {
		return SessionPage{}, err
	}
	var sessions []store.Session
	var next string
	err = a.s.store.View(ctx, func(tx store.Tx) error {
		var err error
		sessions, next, err = tx.SearchSessions(q)
		return err
	})
	if errors.Is(err, store.ErrInvalid) && q.After != "" {
		return SessionPage{}, badInput("cursor: not a cursor this server gave")
	}
	if err != nil {
		return SessionPage{}, storeError(err, "sessions")
	}
	page := SessionPage{Sessions: make([]SessionSummary, 0, len(sessions)), NextCursor: next}
	for _, sess := range sessions {
		page.Sessions = append(page.Sessions, summarize(sess))
	}
	return page, nil
}

// sessionQuery validates params into a store query.
func sessionQuery(params url.Values) (store.SessionQuery, error) {
	if err := checkParams(params, sessionParams); err != nil {
		return store.SessionQuery{}, err
	}
	q := store.SessionQuery{Limit: defaultSessionLimit}
	texts := []struct {
		name   string
		maxLen int
		dst    *string
	}{
		{"issuerId", maxIssuerID, &q.IssuerID}, {"deviceId", maxDeviceID, &q.DeviceID},
		{"cardId", maxCardID, &q.CardID}, {"purchaseId", maxPurchaseID, &q.PurchaseID},
		{"operation", maxOperation, &q.Operation},
	}
	for _, f := range texts {
		if v := params.Get(f.name); v != "" {
			if reason := checkText(v, 1, f.maxLen); reason != "" {
				return q, badInput(f.name + ": " + reason)
			}
			*f.dst = v
		}
	}
	if v := params.Get("idm"); v != "" {
		if !isHex(v, 16) {
			return q, badInput("idm: must be 16 hex digits")
		}
		q.IDm = strings.ToUpper(v)
	}
	if v := params.Get("statusCode"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 999 {
			return q, badInput("statusCode: must be an integer 0..999")
		}
		q.StatusCode = &n
	}
	switch v := store.SessionState(strings.ToUpper(params.Get("state"))); v {
	case "":
	case store.SessionOpen, store.SessionEnded:
		q.State = v
	default:
		return q, badInput("state: must be OPEN or ENDED")
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if v := params.Get(f.name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return q, badInput(f.name + ": must be an RFC 3339 time such as 2026-11-24T02:00:00Z")
			}
			*f.dst = t
		}
	}
	limit, err := limitParam(params, defaultSessionLimit, maxSessionLimit)
	if err != nil {
		return q, err
	}
	q.Limit = limit
	q.After = params.Get("cursor")
	return q, nil
}

// checkParams refuses a parameter that is not in known, and one given more
// than once.
func checkParams(params url.Values, known []string) error {
	for name, values := range params {
		if !containsString(known, name) {
			return badInput(fmt.Sprintf("unknown parameter %q (known: %s)", name, strings.Join(known, ", ")))
		}
		if len(values) > 1 {
			return badInput(fmt.Sprintf("parameter %q given %d times", name, len(values)))
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// limitParam reads "limit": def when absent, else 1..maxLimit.
func limitParam(params url.Values, def, maxLimit int) (int, error) {
	v := params.Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badInput("limit: must be an integer 1.." + strconv.Itoa(maxLimit))
	}
	return n, nil
}

// queryValues copies the request's query out of fiber's buffers.
func queryValues(c *fiber.Ctx) url.Values {
	params := url.Values{}
	c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) {
		params.Add(string(k), string(v))
	})
	return params
}

// listSessions is GET /admin/v1/sessions.
func (s *Server) listSessions(c *fiber.Ctx) error {
	page, err := s.API().SearchSessions(c.UserContext(), queryValues(c))
	if err != nil {
		return err
	}
	return c.JSON(page)
}

// framingOf tells how a session's frames travel, from its issuer's settings
// at the version it ran on; with LEN when that cannot be had.
func (s *Server) framingOf(ctx context.Context, sess store.Session) felica.Framing {
	if s.flows == nil {
		return felica.WithLEN
	}
	iss, err := s.flows.Pinned(ctx, sess.IssuerID, sess.Version)
	if err != nil || !iss.Settings().WithoutLEN {
		return felica.WithLEN
	}
	return felica.WithoutLEN
}

func describeFrames(cmds []store.Command, framing felica.Framing) []FrameView {
	out := make([]FrameView, 0, len(cmds))
	for _, cmd := range cmds {
		v := FrameView{CommandID: cmd.ID, Hex: upperHex(cmd.Frame), Decoded: "no answer"}
		if len(cmd.Frame) > 0 {
			v.Decoded = felica.Describe(cmd.Frame, framing)
		}
		out = append(out, v)
	}
	return out
}

// notFound is a 404 naming what is missing.
func notFound(what string) error {
	return fiber.NewError(http.StatusNotFound, what+" not found")
}

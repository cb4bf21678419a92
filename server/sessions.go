package server

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/store"
)

// Listing limits of GET /admin/v1/sessions.
const (
	defaultSessionLimit = 100
	maxSessionLimit     = 1000
	maxSessionID        = 64
)

// sessionSummary is a session without its trace, as listings show it.
type sessionSummary struct {
	SessionID     string             `json:"sessionId"`
	IssuerID      string             `json:"issuerId"`
	DeviceID      string             `json:"deviceId"`
	ActorID       string             `json:"actorId,omitempty"`
	Endpoint      string             `json:"endpoint"`
	Operation     string             `json:"operation"`
	CardID        string             `json:"cardId,omitempty"`
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

// sessionView is one session with its trace, frames decoded.
type sessionView struct {
	sessionSummary
	Trace []traceView `json:"trace"`
}

// traceView is one call of a session.
type traceView struct {
	At               time.Time   `json:"at"`
	ElapsedMs        float64     `json:"elapsedMs"`
	Step             string      `json:"step,omitempty"`
	DeviceStatusCode int         `json:"deviceStatusCode,omitempty"`
	DeviceTimeMs     float64     `json:"deviceTimeMs,omitempty"` // the TSH's responseTimeMs
	Responses        []frameView `json:"responses"`
	Decisions        []string    `json:"decisions"`
	Commands         []frameView `json:"commands"`
	StatusCode       int         `json:"statusCode"`
	StatusMessage    string      `json:"statusMessage,omitempty"`
}

// frameView is a frame as hex and as felica.Describe reads it.
type frameView struct {
	CommandID string `json:"commandId"`
	Hex       string `json:"hex"`
	Decoded   string `json:"decoded"`
}

func summarize(sess store.Session) sessionSummary {
	return sessionSummary{
		SessionID: sess.ID, IssuerID: sess.IssuerID, DeviceID: sess.DeviceID, ActorID: sess.ActorID,
		Endpoint: sess.Endpoint, Operation: sess.Operation, CardID: sess.CardID, PurchaseID: sess.PurchaseID,
		Version: sess.Version, State: sess.State, EndReason: sess.EndReason, Steps: sess.Steps,
		StatusCode: sess.LastReply.StatusCode, StatusMessage: sess.LastReply.StatusMessage,
		InFlight: sess.InFlight, CreatedAt: sess.CreatedAt, LastCallAt: sess.LastCallAt,
		ExpiresAt: sess.ExpiresAt, EndedAt: sess.EndedAt,
	}
}

func (s *Server) getSession(c *fiber.Ctx) error {
	id, err := pathID(c, "sessionId", maxSessionID)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	var sess store.Session
	err = s.store.View(ctx, func(tx store.Tx) error {
		sess, err = tx.Session(id)
		return err
	})
	if err != nil {
		return storeError(err, "session")
	}
	framing := s.framingOf(ctx, sess)
	view := sessionView{sessionSummary: summarize(sess), Trace: make([]traceView, 0, len(sess.Trace))}
	for _, entry := range sess.Trace {
		view.Trace = append(view.Trace, traceView{
			At: entry.At, ElapsedMs: float64(entry.Elapsed) / float64(time.Millisecond),
			Step: entry.Step, DeviceStatusCode: entry.DeviceCode,
			DeviceTimeMs: float64(entry.DeviceTime) / float64(time.Millisecond),
			Responses:    describeFrames(entry.Responses, framing), Decisions: nonNil(entry.Decisions),
			Commands:   describeFrames(entry.Commands, framing),
			StatusCode: entry.StatusCode, StatusMessage: entry.Message,
		})
	}
	return c.JSON(view)
}

// listSessions lists an issuer's sessions, newest first, optionally of one
// device: ?issuerId=&deviceId=&limit=.
func (s *Server) listSessions(c *fiber.Ctx) error {
	issuerID := c.Query("issuerId")
	if reason := checkText(issuerID, 1, maxIssuerID); reason != "" {
		return badInput("issuerId: " + reason)
	}
	deviceID := c.Query("deviceId")
	if deviceID != "" {
		if reason := checkText(deviceID, 1, maxDeviceID); reason != "" {
			return badInput("deviceId: " + reason)
		}
	}
	limit := defaultSessionLimit
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxSessionLimit {
			return badInput("limit must be an integer 1.." + strconv.Itoa(maxSessionLimit))
		}
		limit = n
	}
	issuerID, deviceID = strings.Clone(issuerID), strings.Clone(deviceID)
	var sessions []store.Session
	err := s.store.View(c.UserContext(), func(tx store.Tx) error {
		var err error
		sessions, _, err = tx.SearchSessions(store.SessionQuery{IssuerID: issuerID, DeviceID: deviceID, Limit: limit})
		return err
	})
	if err != nil {
		return storeError(err, "sessions")
	}
	out := make([]sessionSummary, 0, len(sessions))
	for _, sess := range sessions {
		out = append(out, summarize(sess))
	}
	return c.JSON(out)
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

func describeFrames(cmds []store.Command, framing felica.Framing) []frameView {
	out := make([]frameView, 0, len(cmds))
	for _, cmd := range cmds {
		v := frameView{CommandID: cmd.ID, Hex: upperHex(cmd.Frame), Decoded: "no answer"}
		if len(cmd.Frame) > 0 {
			v.Decoded = felica.Describe(cmd.Frame, framing)
		}
		out = append(out, v)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

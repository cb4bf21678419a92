package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/store"
)

// Limits of the audit log's listing and of a change's reason.
const (
	defaultAuditLimit = 50
	maxAuditLimit     = 1000
	// maxAuditScan bounds the entries one filtered page reads (target
	// filter); the page ends early with a cursor when it is reached.
	maxAuditScan = 10000
	maxReason    = 512
	// headerReason carries the optional reason of a change made through
	// the admin API (resolve takes it in its body).
	headerReason = "X-Audit-Reason"
)

// auditChange is one admin change on its way to the audit log.
type auditChange struct {
	caller, action, issuerID, target string
	before, after                    any // encoded as JSON; nil: none
	reason                           string
}

// audit appends change to the audit log inside tx, the change's own
// transaction, so that the entry is as durable as the change.
func (s *Server) audit(tx store.Tx, change auditChange) error {
	e := store.AuditEntry{
		At: s.clock.Now().UTC(), Actor: change.caller, Action: change.action,
		IssuerID: change.issuerID, Target: change.target, Reason: change.reason,
	}
	var err error
	if e.Before, err = auditJSON(change.before); err != nil {
		return err
	}
	if e.After, err = auditJSON(change.after); err != nil {
		return err
	}
	if err := tx.AppendAudit(e); err != nil {
		return fmt.Errorf("append audit entry: %w", err)
	}
	return nil
}

func auditJSON(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode audit record: %w", err)
	}
	return b, nil
}

// callerOf names the admin caller for the audit log: "token@ADDRESS" when
// a token admitted it, else its (loopback) address. Never the token.
func callerOf(c *fiber.Ctx) string {
	addr := c.Context().RemoteIP().String()
	if c.Get(fiber.HeaderAuthorization) != "" {
		return "token@" + addr
	}
	return addr
}

// auditReason is the X-Audit-Reason header of a change, bounded; control
// characters are dropped.
func auditReason(c *fiber.Ctx) string {
	return cleanReason(c.Get(headerReason))
}

func cleanReason(r string) string {
	r = strings.Map(func(ch rune) rune {
		if ch < 0x20 || ch == 0x7f {
			return -1
		}
		return ch
	}, strings.TrimSpace(r))
	if len([]rune(r)) > maxReason {
		r = string([]rune(r)[:maxReason])
	}
	return r
}

// crossOrigin reports whether a browser sent the request from a page of
// another origin than the admin address: an Origin header naming another
// host, a "null" Origin, or Sec-Fetch-Site cross-site. Non-browser clients
// send neither header.
func crossOrigin(c *fiber.Ctx) bool {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" {
		return c.Get("Sec-Fetch-Site") == "cross-site"
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return true
	}
	return !strings.EqualFold(u.Host, c.Get(fiber.HeaderHost))
}

// AuditView is one audit entry as the admin API shows it: the records
// before and after are JSON values, null when there was none.
type AuditView struct {
	Seq      uint64          `json:"seq"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Action   string          `json:"action"`
	IssuerID string          `json:"issuerId,omitempty"`
	Target   string          `json:"target,omitempty"`
	Before   json.RawMessage `json:"before"`
	After    json.RawMessage `json:"after"`
	Reason   string          `json:"reason,omitempty"`
}

// AuditPage is one page of GET /admin/v1/audit.
type AuditPage struct {
	Entries    []AuditView `json:"entries"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

func viewAudit(e store.AuditEntry) AuditView {
	v := AuditView{Seq: e.Seq, At: e.At, Actor: e.Actor, Action: e.Action, IssuerID: e.IssuerID,
		Target: e.Target, Before: json.RawMessage("null"), After: json.RawMessage("null"), Reason: e.Reason}
	if json.Valid(e.Before) {
		v.Before = json.RawMessage(e.Before)
	}
	if json.Valid(e.After) {
		v.After = json.RawMessage(e.After)
	}
	return v
}

var auditParams = []string{"issuerId", "target", "limit", "cursor"}

// Audit lists audit entries, newest first, by the parameters of GET
// /admin/v1/audit: issuerId, target (a card, purchase or IDm), limit
// (default 50, at most 1000), cursor.
func (a *API) Audit(ctx context.Context, params url.Values) (AuditPage, error) {
	if err := checkParams(params, auditParams); err != nil {
		return AuditPage{}, err
	}
	q := store.AuditQuery{IssuerID: params.Get("issuerId"), After: params.Get("cursor")}
	if q.IssuerID != "" {
		if reason := checkText(q.IssuerID, 1, maxIssuerID); reason != "" {
			return AuditPage{}, badInput("issuerId: " + reason)
		}
	}
	target := params.Get("target")
	if target != "" {
		if reason := checkText(target, 1, maxPurchaseID); reason != "" {
			return AuditPage{}, badInput("target: " + reason)
		}
	}
	limit, err := limitParam(params, defaultAuditLimit, maxAuditLimit)
	if err != nil {
		return AuditPage{}, err
	}
	page := AuditPage{Entries: []AuditView{}}
	err = a.s.store.View(ctx, func(tx store.Tx) error {
		if target == "" {
			q.Limit = limit
			list, next, err := tx.AuditLog(q)
			for _, e := range list {
				page.Entries = append(page.Entries, viewAudit(e))
			}
			page.NextCursor = next
			return err
		}
		// Filtered by target: read pages of at most as many entries as the
		// page still lacks, so that every match of a page read fits and
		// the store's own cursor resumes after it; stop at the scan bound.
		scanned := 0
		for {
			q.Limit = min(limit-len(page.Entries), maxAuditScan-scanned)
			list, next, err := tx.AuditLog(q)
			if err != nil {
				return err
			}
			scanned += len(list)
			for _, e := range list {
				if e.Target == target {
					page.Entries = append(page.Entries, viewAudit(e))
				}
			}
			page.NextCursor, q.After = next, next
			if next == "" || len(page.Entries) == limit || scanned >= maxAuditScan {
				return nil
			}
		}
	})
	if errors.Is(err, store.ErrInvalid) && q.After != "" {
		return AuditPage{}, badInput("cursor: not a cursor this server gave")
	}
	if err != nil {
		return AuditPage{}, storeError(err, "audit log")
	}
	return page, nil
}

func (s *Server) listAudit(c *fiber.Ctx) error {
	page, err := s.API().Audit(c.UserContext(), queryValues(c))
	if err != nil {
		return err
	}
	return c.JSON(page)
}

// errConflict is a 409 with message.
func errConflict(message string) error {
	return fiber.NewError(http.StatusConflict, message)
}

package server

import (
	"bufio"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/store"
)

// API is the admin API as Go calls: the admin handlers and the console
// (package server/console) read and change through it, so that both show
// and do the same. Caller mistakes come back as *fiber.Error with the HTTP
// status the admin API answers (400, 404, 409); anything else is a fault.
// Safe for concurrent use.
type API struct{ s *Server }

// API returns the server's admin API as Go calls.
func (s *Server) API() *API { return &API{s: s} }

// TokenRequired reports whether an admin token is configured; without one
// only loopback callers are served.
func (a *API) TokenRequired() bool { return a.s.adminToken != "" }

// CheckToken reports, in constant time, whether token is the admin token.
// It is false when no token is configured.
func (a *API) CheckToken(token string) bool {
	return a.s.adminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(a.s.adminToken)) == 1
}

// Logger is the server's logger, for the console's own messages.
func (a *API) Logger() *slog.Logger { return a.s.log }

// Now is the server's clock.
func (a *API) Now() time.Time { return a.s.clock.Now() }

// Issuers lists the loaded issuers with their load and run-time errors.
func (a *API) Issuers() []IssuerView { return a.s.issuerViews() }

// Operations counts the sessions of an issuer created at or after since,
// by operation and status code (the last reply's; open sessions count
// under their state). It reads at most maxOperationsScan sessions and says
// so in Truncated.
func (a *API) Operations(ctx context.Context, issuerID string, since time.Time) (OperationCounts, error) {
	out := OperationCounts{IssuerID: issuerID, Since: since.UTC(), Counts: []OperationCount{}}
	var sessions []store.Session
	var next string
	err := a.s.store.View(ctx, func(tx store.Tx) error {
		var err error
		sessions, next, err = tx.SearchSessions(store.SessionQuery{IssuerID: issuerID, From: since, Limit: maxOperationsScan})
		return err
	})
	if err != nil {
		return out, storeError(err, "sessions")
	}
	out.Truncated = next != ""
	index := map[OperationCount]int{}
	for _, s := range sessions {
		k := OperationCount{Operation: s.Operation, State: s.State, StatusCode: s.LastReply.StatusCode}
		if s.State == store.SessionOpen {
			k.StatusCode = 0
		}
		i, ok := index[k]
		if !ok {
			i = len(out.Counts)
			index[k] = i
			out.Counts = append(out.Counts, k)
		}
		out.Counts[i].Count++
		out.Total++
	}
	return out, nil
}

// maxOperationsScan bounds the sessions Operations reads.
const maxOperationsScan = 5000

// OperationCounts are an issuer's operations since a time.
type OperationCounts struct {
	IssuerID  string           `json:"issuerId"`
	Since     time.Time        `json:"since"`
	Total     int              `json:"total"`
	Truncated bool             `json:"truncated"`
	Counts    []OperationCount `json:"counts"`
}

// OperationCount is how many sessions of one operation ended with one
// status code (or are still open).
type OperationCount struct {
	Operation  string             `json:"operation"`
	State      store.SessionState `json:"state"`
	StatusCode int                `json:"statusCode"`
	Count      int                `json:"count"`
}

// Purchases lists an issuer's purchases of a status (any when empty), by
// purchase id, at most limit.
func (a *API) Purchases(ctx context.Context, issuerID string, status store.PurchaseStatus, limit int) ([]PurchaseView, error) {
	if reason := checkText(issuerID, 1, maxIssuerID); reason != "" {
		return nil, badInput("issuerId: " + reason)
	}
	switch status {
	case "", store.PurchasePending, store.PurchaseApplied, store.PurchaseUncertain:
	default:
		return nil, badInput("status: must be PENDING, APPLIED or UNCERTAIN")
	}
	var list []store.Purchase
	err := a.s.store.View(ctx, func(tx store.Tx) error {
		var err error
		list, err = tx.Purchases(issuerID, status, limit)
		return err
	})
	if err != nil {
		return nil, storeError(err, "purchases")
	}
	out := make([]PurchaseView, 0, len(list))
	for _, p := range list {
		out = append(out, viewPurchase(p))
	}
	return out, nil
}

// Purchase returns one purchase; 404 when there is none.
func (a *API) Purchase(ctx context.Context, issuerID, purchaseID string) (PurchaseView, error) {
	if err := checkIDPair(issuerID, "purchaseId", purchaseID, maxPurchaseID); err != nil {
		return PurchaseView{}, err
	}
	var p store.Purchase
	err := a.s.store.View(ctx, func(tx store.Tx) error {
		var err error
		p, err = tx.Purchase(issuerID, purchaseID)
		return err
	})
	if err != nil {
		return PurchaseView{}, storeError(err, "purchase")
	}
	return viewPurchase(p), nil
}

// ResolveInput is the body of POST .../purchases/{purchaseId}/resolve.
type ResolveInput struct {
	Outcome store.PurchaseStatus `json:"outcome"`
	Reason  string               `json:"reason"`
}

// ResolvePurchase settles an UNCERTAIN purchase by hand (engine.
// ResolvePurchase) and writes the audit entry in the same commit. caller
// names who did it, for the audit log. 400 for a bad outcome or no reason,
// 404 for an unknown purchase, 409 for one that is not UNCERTAIN or whose
// card has an operation open.
func (a *API) ResolvePurchase(ctx context.Context, caller, issuerID, purchaseID string, in ResolveInput) (PurchaseView, error) {
	if err := checkIDPair(issuerID, "purchaseId", purchaseID, maxPurchaseID); err != nil {
		return PurchaseView{}, err
	}
	if in.Outcome != store.PurchaseApplied && in.Outcome != store.PurchasePending {
		return PurchaseView{}, badInput("outcome: must be APPLIED or PENDING")
	}
	reason := cleanReason(in.Reason)
	if reason == "" {
		return PurchaseView{}, badInput("reason: required (why the purchase is settled by hand)")
	}
	now := a.s.clock.Now().UTC()
	var after store.Purchase
	err := a.s.store.Update(ctx, func(tx store.Tx) error {
		before, settled, err := engine.ResolvePurchase(tx, issuerID, purchaseID, in.Outcome, now)
		if err != nil {
			return err
		}
		after = settled
		return a.s.audit(tx, auditChange{caller: caller, action: "purchase.resolve", issuerID: issuerID,
			target: purchaseID, before: viewPurchase(before), after: viewPurchase(settled), reason: reason})
	})
	switch {
	case errors.Is(err, engine.ErrNotUncertain):
		return PurchaseView{}, errConflict("the purchase is not UNCERTAIN: only an UNCERTAIN purchase can be resolved")
	case errors.Is(err, engine.ErrCardBusy):
		return PurchaseView{}, errConflict("an operation is open on the purchase's card: it may settle the purchase itself; try again when it has ended")
	case err != nil:
		return PurchaseView{}, storeError(err, "purchase")
	}
	a.s.log.LogAttrs(ctx, slog.LevelInfo, "purchase resolved by hand",
		slog.String("issuerId", issuerID), slog.String("purchaseId", purchaseID),
		slog.String("outcome", string(in.Outcome)), slog.String("caller", caller))
	return viewPurchase(after), nil
}

// checkIDPair validates an issuer id and one more path identifier.
func checkIDPair(issuerID, name, id string, maxLen int) error {
	if reason := checkText(issuerID, 1, maxIssuerID); reason != "" {
		return badInput("issuerId: " + reason)
	}
	if reason := checkText(id, 1, maxLen); reason != "" {
		return badInput(name + ": " + reason)
	}
	return nil
}

// Limits of GET .../purchases.
const (
	defaultPurchaseLimit = 100
	maxPurchaseLimit     = 1000
)

// listPurchases is GET /admin/v1/issuers/{issuerId}/purchases?status=&limit=.
func (s *Server) listPurchases(c *fiber.Ctx) error {
	params := queryValues(c)
	if err := checkParams(params, []string{"status", "limit"}); err != nil {
		return err
	}
	limit, err := limitParam(params, defaultPurchaseLimit, maxPurchaseLimit)
	if err != nil {
		return err
	}
	list, err := s.API().Purchases(c.UserContext(), strings.Clone(c.Params("issuerId")),
		store.PurchaseStatus(strings.ToUpper(params.Get("status"))), limit)
	if err != nil {
		return err
	}
	return c.JSON(list)
}

func (s *Server) resolvePurchase(c *fiber.Ctx) error {
	var in ResolveInput
	if err := decodeAdminBody(c, &in); err != nil {
		return err
	}
	view, err := s.API().ResolvePurchase(c.UserContext(), callerOf(c),
		strings.Clone(c.Params("issuerId")), strings.Clone(c.Params("purchaseId")), in)
	if err != nil {
		return err
	}
	return c.JSON(view)
}

// LogLevelView is the body of GET and PUT /admin/v1/loglevel.
type LogLevelView struct {
	Level string `json:"level"`
}

func (s *Server) getLogLevel(c *fiber.Ctx) error {
	if s.logLevel == nil {
		return fiber.NewError(http.StatusNotImplemented, "the log level is fixed in this server")
	}
	return c.JSON(LogLevelView{Level: strings.ToLower(s.logLevel.Level().String())})
}

// putLogLevel changes the log level at run time; audited.
func (s *Server) putLogLevel(c *fiber.Ctx) error {
	if s.logLevel == nil {
		return fiber.NewError(http.StatusNotImplemented, "the log level is fixed in this server")
	}
	var in LogLevelView
	if err := decodeAdminBody(c, &in); err != nil {
		return err
	}
	var level slog.Level
	switch strings.ToLower(in.Level) {
	case "debug", "info", "warn", "error":
		if err := level.UnmarshalText([]byte(in.Level)); err != nil {
			return badInput("level: must be debug, info, warn or error")
		}
	default:
		return badInput("level: must be debug, info, warn or error")
	}
	before := LogLevelView{Level: strings.ToLower(s.logLevel.Level().String())}
	after := LogLevelView{Level: strings.ToLower(level.String())}
	err := s.store.Update(c.UserContext(), func(tx store.Tx) error {
		return s.audit(tx, auditChange{caller: callerOf(c), action: "loglevel", before: before, after: after, reason: auditReason(c)})
	})
	if err != nil {
		return fmt.Errorf("audit the log level: %w", err)
	}
	s.logLevel.Set(level)
	s.log.LogAttrs(c.UserContext(), slog.LevelWarn, "log level changed by the admin API",
		slog.String("from", before.Level), slog.String("to", after.Level))
	return c.JSON(after)
}

// backup streams a consistent copy of the store (GET /admin/v1/backup),
// when the store can make one: a bbolt file with its Content-Length, so
// that a cut transfer shows as one.
func (s *Server) backup(c *fiber.Ctx) error {
	snap, ok := s.store.(store.Snapshotter)
	if !ok {
		return fiber.NewError(http.StatusNotImplemented, "this store cannot be backed up through the admin API; use the backend's own backups")
	}
	sn, err := snap.Snapshot(c.UserContext())
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	size := sn.Size()
	s.log.LogAttrs(c.UserContext(), slog.LevelInfo, "backup started", slog.Int64("bytes", size), slog.String("caller", callerOf(c)))
	c.Set(fiber.HeaderContentType, "application/octet-stream")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="tes-`+s.clock.Now().UTC().Format("20060102T150405Z")+`.db"`)
	log := s.log
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer func() {
			if err := sn.Close(); err != nil {
				log.Warn("backup: close snapshot", "error", err.Error())
			}
		}()
		n, err := sn.WriteTo(w)
		if err == nil {
			err = w.Flush()
		}
		if err != nil {
			log.Error("backup cut short", "error", err.Error(), "written", n, "of", size)
			return
		}
		log.Info("backup sent", "bytes", n)
	})
	c.Response().Header.SetContentLength(int(size))
	return nil
}

// serveOpenAPI is GET /admin/v1/openapi.yaml.
func (s *Server) serveOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml")
	return c.Send(openAPI)
}

// mountPprof serves net/http/pprof's handlers under r (/debug/pprof).
func mountPprof(r fiber.Router) {
	r.Get("/", adaptor.HTTPHandlerFunc(pprof.Index))
	r.Get("/cmdline", adaptor.HTTPHandlerFunc(pprof.Cmdline))
	r.Get("/profile", adaptor.HTTPHandlerFunc(pprof.Profile))
	r.Get("/symbol", adaptor.HTTPHandlerFunc(pprof.Symbol))
	r.Post("/symbol", adaptor.HTTPHandlerFunc(pprof.Symbol))
	r.Get("/trace", adaptor.HTTPHandlerFunc(pprof.Trace))
	r.Get("/:name", func(c *fiber.Ctx) error {
		return adaptor.HTTPHandler(pprof.Handler(strings.Clone(c.Params("name"))))(c)
	})
}

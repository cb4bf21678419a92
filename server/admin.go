package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/store"
)

// AdminBasePath is where the admin API lives (CONTRACT.md §2).
const AdminBasePath = "/admin/v1"

// readyTimeout bounds the store probe of /readyz.
const readyTimeout = 2 * time.Second

func (s *Server) newAdmin(cfg Config) *fiber.App {
	app := fiber.New(fiberConfig(cfg, "tes-admin", s.adminError))
	app.Use(s.recoverPanics)
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", s.authorize, s.metrics.handler)

	v1 := app.Group(AdminBasePath, s.authorize)
	v1.Get("/openapi.yaml", s.serveOpenAPI)
	v1.Get("/issuers", s.listIssuers)
	v1.Post("/reload", s.reload)
	v1.Put("/issuers/:issuerId/cards/:cardId", s.putCard)
	v1.Get("/issuers/:issuerId/cards/:cardId", s.getCard)
	v1.Get("/issuers/:issuerId/purchases", s.listPurchases)
	v1.Put("/issuers/:issuerId/purchases/:purchaseId", s.putPurchase)
	v1.Get("/issuers/:issuerId/purchases/:purchaseId", s.getPurchase)
	v1.Post("/issuers/:issuerId/purchases/:purchaseId/resolve", s.resolvePurchase)
	v1.Put("/issuers/:issuerId/blacklist/:idm", s.setBlacklisted(true))
	v1.Delete("/issuers/:issuerId/blacklist/:idm", s.setBlacklisted(false))
	v1.Get("/issuers/:issuerId/blacklist/:idm", s.getBlacklisted)
	v1.Get("/issuers/:issuerId/accounts/:cardAccountId", s.getAccount)
	v1.Get("/issuers/:issuerId/report", s.getReport)
	v1.Get("/sessions", s.listSessions)
	v1.Get("/sessions/:sessionId", s.getSession)
	v1.Get("/audit", s.listAudit)
	v1.Get("/loglevel", s.getLogLevel)
	v1.Put("/loglevel", s.putLogLevel)
	v1.Get("/backup", s.backup)
	if cfg.Pprof {
		mountPprof(app.Group("/debug/pprof", s.authorize))
	}
	return app
}

// adminErrorBody is the admin API's only error shape.
type adminErrorBody struct {
	Error string `json:"error"`
}

// adminError answers every admin failure as {"error": "..."}: a fiber.Error
// keeps its code and message, anything else is a 500 whose cause goes to
// the log, not to the caller.
func (s *Server) adminError(c *fiber.Ctx, err error) error {
	code, message := http.StatusInternalServerError, "internal error"
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, message = fe.Code, fe.Message
	} else {
		s.log.LogAttrs(c.UserContext(), slog.LevelError, "admin request failed",
			slog.String("method", c.Method()),
			slog.String("path", c.Path()),
			slog.String("error", err.Error()))
	}
	return c.Status(code).JSON(adminErrorBody{Error: message})
}

// authorize admits admin callers: with a token, those that present it as a
// bearer token; without one, loopback callers only. A change (any method
// but GET and HEAD) that a browser sends from another origin is refused, so
// that a web page cannot make a loopback operator's browser change the
// ledger (CSRF).
func (s *Server) authorize(c *fiber.Ctx) error {
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead && crossOrigin(c) {
		return fiber.NewError(http.StatusForbidden, "a change from another origin is refused")
	}
	if s.adminToken == "" {
		if !c.Context().RemoteIP().IsLoopback() {
			return fiber.NewError(http.StatusForbidden, "without an admin token the admin API accepts loopback callers only")
		}
		return c.Next()
	}
	const scheme = "bearer "
	auth := c.Get(fiber.HeaderAuthorization)
	if len(auth) <= len(scheme) || !strings.EqualFold(auth[:len(scheme)], scheme) ||
		subtle.ConstantTimeCompare([]byte(auth[len(scheme):]), []byte(s.adminToken)) != 1 {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="tes-admin"`)
		return fiber.NewError(http.StatusUnauthorized, "missing or wrong bearer token")
	}
	return c.Next()
}

func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz reports ready when the store answers: its Ping when it has one
// (a database server), else an empty read.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), readyTimeout)
	defer cancel()
	probe := func() error { return s.store.View(ctx, func(store.Tx) error { return nil }) }
	if p, ok := s.store.(store.Pinger); ok {
		probe = func() error { return p.Ping(ctx) }
	}
	if err := probe(); err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "not ready", slog.String("error", err.Error()))
		return fiber.NewError(http.StatusServiceUnavailable, "store unavailable")
	}
	return c.JSON(fiber.Map{"status": "ready"})
}

// IssuerView is one entry of GET /admin/v1/issuers.
type IssuerView struct {
	IssuerID string    `json:"issuerId"`
	Version  string    `json:"version"`
	LoadedAt time.Time `json:"loadedAt,omitzero"`
	Error    string    `json:"error,omitempty"`
	// Run-time errors of steps since the process started (CONTRACT.md
	// §1.7): how many, the last one with its file:line, and when.
	RuntimeErrors             int       `json:"runtimeErrors"`
	LastRuntimeError          string    `json:"lastRuntimeError,omitempty"`
	LastRuntimeErrorAt        time.Time `json:"lastRuntimeErrorAt,omitzero"`
	LastRuntimeErrorOperation string    `json:"lastRuntimeErrorOperation,omitempty"`
}

func (s *Server) issuerViews() []IssuerView {
	views := []IssuerView{}
	if s.catalog == nil {
		return views
	}
	for _, st := range s.catalog.Statuses() {
		views = append(views, IssuerView{
			IssuerID: st.IssuerID, Version: st.Version, LoadedAt: st.LoadedAt.UTC(), Error: st.Error,
			RuntimeErrors: st.RuntimeErrors, LastRuntimeError: st.LastRuntimeError,
			LastRuntimeErrorAt: st.LastRuntimeErrorAt.UTC(), LastRuntimeErrorOperation: st.LastRuntimeErrorOperation,
		})
	}
	slices.SortFunc(views, func(a, b IssuerView) int { return strings.Compare(a.IssuerID, b.IssuerID) })
	return views
}

func (s *Server) listIssuers(c *fiber.Ctx) error {
	return c.JSON(s.issuerViews())
}

// reload reloads every issuer and answers the issuers' statuses after it.
// The audit log records the versions before and after.
func (s *Server) reload(c *fiber.Ctx) error {
	if s.catalog == nil {
		return fiber.NewError(http.StatusNotImplemented, "no issuer catalog to reload")
	}
	ctx := c.UserContext()
	before := s.issuerViews()
	if err := s.catalog.Reload(ctx); err != nil {
		return fmt.Errorf("reload issuers: %w", err)
	}
	after := s.issuerViews()
	err := s.store.Update(ctx, func(tx store.Tx) error {
		return s.audit(tx, auditChange{caller: callerOf(c), action: "reload",
			before: map[string]any{"issuers": before}, after: map[string]any{"issuers": after}, reason: auditReason(c)})
	})
	if err != nil {
		return fmt.Errorf("audit the reload: %w", err)
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "issuers reloaded by the admin API")
	return c.JSON(after)
}

// pathID returns a path parameter validated as an identifier of 1..maxLen
// characters, copied out of fiber's buffer.
func pathID(c *fiber.Ctx, name string, maxLen int) (string, error) {
	v := c.Params(name)
	if reason := checkText(v, 1, maxLen); reason != "" {
		return "", fiber.NewError(http.StatusBadRequest, name+": "+reason)
	}
	return strings.Clone(v), nil
}

// decodeAdminBody reads a JSON body into v, refusing unknown fields (an
// operator's typo should not pass silently) and trailing data.
func decodeAdminBody(c *fiber.Ctx, v any) error {
	dec := json.NewDecoder(bytes.NewReader(c.Request().Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fiber.NewError(http.StatusBadRequest, "body: "+err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fiber.NewError(http.StatusBadRequest, "body: data after the JSON object")
	}
	return nil
}

// storeError maps a store failure to the admin API: a missing record is a
// 404 naming what is missing, anything else a 500.
func storeError(err error, what string) error {
	if errors.Is(err, store.ErrNotFound) {
		return fiber.NewError(http.StatusNotFound, what+" not found")
	}
	return fmt.Errorf("%s: %w", what, err)
}

package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// ErrConfig: New was given a configuration it cannot run with.
var ErrConfig = errors.New("server: invalid configuration")

// Defaults for the zero values of Config.
const (
	DefaultBodyLimit    = 64 << 10
	DefaultReadTimeout  = 10 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	DefaultIdleTimeout  = 60 * time.Second
)

// Handler runs one validated Device Gateway request; *engine.Engine is one.
type Handler interface {
	Handle(ctx context.Context, req engine.Request) engine.Reply
}

// Config is what a Server needs. Engine and Store are required.
type Config struct {
	Engine Handler
	// Store serves the admin API's ledger and session views.
	Store store.Store
	// Catalog lists and reloads issuers for the admin API; nil: the
	// issuer list is empty and reload answers 501.
	Catalog flow.Catalog
	// Flows tells which framing (with or without LEN) an issuer's session
	// used, to decode its trace; nil: frames are decoded as with LEN.
	Flows  flow.Registry
	Clock  clock.Clock  // nil: the system clock
	Logger *slog.Logger // nil: discard
	// AdminToken, when set, is the bearer token the admin API requires;
	// when empty the admin API serves loopback callers only.
	AdminToken string
	// Actors, when not empty, is the allowlist of x-actor-id values.
	Actors    []string
	BodyLimit int // bytes; 0: DefaultBodyLimit

	ReadTimeout  time.Duration // 0: DefaultReadTimeout
	WriteTimeout time.Duration // 0: DefaultWriteTimeout
	IdleTimeout  time.Duration // 0: DefaultIdleTimeout

	// Metrics receives the server's collectors; nil: a registry of its own
	// with the Go and process collectors.
	Metrics *prometheus.Registry
	// LogLevel, when set, is the level of Logger's handler, which PUT
	// /admin/v1/loglevel changes at run time; nil: the level is fixed and
	// the endpoint answers 501.
	LogLevel *slog.LevelVar
	// Pprof mounts net/http/pprof under /debug/pprof/ on the admin app,
	// behind the admin access rule. Off by default.
	Pprof bool
}

// Server holds the two fiber apps. Its methods are safe for concurrent use.
type Server struct {
	engine  Handler
	store   store.Store
	catalog flow.Catalog
	flows   flow.Registry
	clock   clock.Clock
	log     *slog.Logger
	// adminToken is compared in constant time; empty: loopback only.
	adminToken string
	// actors is nil when every actor is allowed.
	actors map[string]struct{}
	// rawRequests reuses the gateway's decoding buffers (decodeRequest).
	rawRequests *sync.Pool
	metrics     *metrics
	logLevel    *slog.LevelVar // nil: fixed

	gateway *fiber.App
	admin   *fiber.App
}

// New builds a server from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, fmt.Errorf("%w: Engine is required", ErrConfig)
	}
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: Store is required", ErrConfig)
	}
	if cfg.BodyLimit < 0 {
		return nil, fmt.Errorf("%w: BodyLimit %d is negative", ErrConfig, cfg.BodyLimit)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.BodyLimit == 0 {
		cfg.BodyLimit = DefaultBodyLimit
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	s := &Server{
		engine:      cfg.Engine,
		store:       cfg.Store,
		catalog:     cfg.Catalog,
		flows:       cfg.Flows,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		adminToken:  cfg.AdminToken,
		logLevel:    cfg.LogLevel,
		rawRequests: newRawRequestPool(),
	}
	if len(cfg.Actors) > 0 {
		s.actors = make(map[string]struct{}, len(cfg.Actors))
		for _, actor := range cfg.Actors {
			if reason := checkText(actor, 1, maxActorID); reason != "" {
				return nil, fmt.Errorf("%w: actor %q: %s", ErrConfig, actor, reason)
			}
			s.actors[actor] = struct{}{}
		}
	}
	m, err := newMetrics(cfg, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.gateway = s.newGateway(cfg)
	s.admin = s.newAdmin(cfg)
	return s, nil
}

// Gateway returns the Device Gateway app (the three POST routes under
// /tes/devicegtwapi/1/0), for the TSH's listener.
func (s *Server) Gateway() *fiber.App { return s.gateway }

// Admin returns the admin app (admin API, /healthz, /readyz, /metrics),
// for the operators' listener.
func (s *Server) Admin() *fiber.App { return s.admin }

// fiberConfig is what both apps share: limits, timeouts, no banner, and an
// error handler that always answers JSON, except to a connection that timed
// out.
func fiberConfig(cfg Config, name string, onError fiber.ErrorHandler) fiber.Config {
	onError = closeOnTimeout(onError)
	return fiber.Config{
		AppName:               name,
		DisableStartupMessage: true,
		BodyLimit:             cfg.BodyLimit,
		ReadTimeout:           cfg.ReadTimeout,
		WriteTimeout:          cfg.WriteTimeout,
		IdleTimeout:           cfg.IdleTimeout,
		ErrorHandler:          onError,
		UnescapePath:          true,
	}
}

// closeOnTimeout closes, without a reply, a connection whose request did
// not arrive in time: one left idle before its first request, or one whose
// request stopped half-way. fasthttp would otherwise write an error reply
// nobody asked for, which a pooled or pipelining client reads as the answer
// to its next request.
func closeOnTimeout(next fiber.ErrorHandler) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		if !errors.Is(err, fiber.ErrRequestTimeout) {
			return next(c, err)
		}
		if conn := c.Context().Conn(); conn != nil {
			_ = conn.Close() // what fasthttp writes next goes nowhere
		}
		return nil
	}
}

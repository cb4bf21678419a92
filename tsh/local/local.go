package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/issuers"
	"github.com/tes-project/tes/scripts"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/server/console"
	"github.com/tes-project/tes/store/boltstore"
)

// ErrConfig: Start was given a configuration it cannot run.
var ErrConfig = errors.New("local: invalid configuration")

// shutdownTimeout bounds Close's wait for requests in flight.
const shutdownTimeout = 5 * time.Second

// Config says what to run. DataDir is required.
type Config struct {
	// DataDir holds the bbolt file; a test's t.TempDir().
	DataDir string
	// Flows serves the issuers; nil: the Lua issuers under IssuersDir, or
	// the embedded DEMO issuer when IssuersDir is empty or missing.
	Flows flow.Registry
	// Catalog lists the issuers for the admin API; ignored when Flows is
	// nil (the scripts registry is its own catalog).
	Catalog    flow.Catalog
	IssuersDir string
	// GroupCommit lets concurrent store updates share a commit (see
	// boltstore.Options).
	GroupCommit time.Duration
	Clock       clock.Clock  // nil: the system clock
	Logger      *slog.Logger // nil: discard
	AdminToken  string
}

// Server is a running in-process tes. Its fields are fixed by Start.
type Server struct {
	// GatewayURL and AdminURL are "http://127.0.0.1:PORT".
	GatewayURL string
	AdminURL   string
	Store      *boltstore.Store
	Flows      flow.Registry

	apps []*Listening

	closeOnce sync.Once
	closeErr  error
}

// Start builds and starts the server. Close stops it.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, fmt.Errorf("%w: DataDir is required", ErrConfig)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	st, err := boltstore.Open(filepath.Join(cfg.DataDir, "tes.db"), boltstore.Options{GroupCommit: cfg.GroupCommit, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("local: open store: %w", err)
	}
	s := &Server{Store: st, Flows: cfg.Flows}
	if err := s.start(ctx, cfg); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, cfg Config) error {
	catalog := cfg.Catalog
	metrics, err := server.NewMetricsRegistry()
	if err != nil {
		return fmt.Errorf("local: metrics: %w", err)
	}
	countReload, err := server.ReloadCounter(metrics)
	if err != nil {
		return fmt.Errorf("local: metrics: %w", err)
	}
	if s.Flows == nil {
		reg, err := scripts.Open(ctx, scripts.Config{Dir: cfg.IssuersDir, Embedded: issuers.FS, Store: s.Store, Clock: cfg.Clock, Logger: cfg.Logger, OnReload: countReload})
		if err != nil {
			return fmt.Errorf("local: load issuers: %w", err)
		}
		s.Flows, catalog = reg, reg
	}
	observer, err := server.NewObserver(metrics)
	if err != nil {
		return fmt.Errorf("local: metrics: %w", err)
	}
	eng, err := engine.New(engine.Config{Store: s.Store, Flows: s.Flows, Clock: cfg.Clock, Logger: cfg.Logger, Observer: observer})
	if err != nil {
		return fmt.Errorf("local: engine: %w", err)
	}
	srv, err := server.New(server.Config{
		Engine: eng, Store: s.Store, Catalog: catalog, Flows: s.Flows,
		Clock: cfg.Clock, Logger: cfg.Logger, AdminToken: cfg.AdminToken,
		Metrics: metrics,
	})
	if err != nil {
		return fmt.Errorf("local: server: %w", err)
	}
	if err := console.Mount(srv.Admin(), srv.API(), console.Options{}); err != nil {
		return fmt.Errorf("local: console: %w", err)
	}
	if s.GatewayURL, err = s.serve(srv.Gateway()); err != nil {
		return err
	}
	s.AdminURL, err = s.serve(srv.Admin())
	return err
}

// serve starts app on a fresh loopback port and returns its base URL.
func (s *Server) serve(app *fiber.App) (string, error) {
	l, err := Listen(app)
	if err != nil {
		return "", err
	}
	s.apps = append(s.apps, l)
	return l.URL, nil
}

// Close stops the apps, waiting a little for requests in flight, then
// closes the store. Later calls return the first call's error.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Server) close() error {
	var errs []error
	for _, l := range s.apps {
		if err := l.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.Store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("local: close store: %w", err))
	}
	return errors.Join(errs...)
}

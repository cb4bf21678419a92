package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/issuers"
	"github.com/tes-project/tes/sam"
	"github.com/tes-project/tes/scripts"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/server/console"
	"github.com/tes-project/tes/store"
)

// ErrConfig: Start was given a configuration it cannot run.
var ErrConfig = errors.New("node: invalid configuration")

// DefaultDrain bounds Close's wait for requests in flight when
// Config.Drain is zero.
const DefaultDrain = 5 * time.Second

// Config says what to run. The zero value of each field is the in-process
// choice (loopback ports, no sweeper, no watch); tes serve fills in its
// flags.
type Config struct {
	// StoreURL chooses the store: empty for the embedded bbolt file in
	// DataDir, "postgres://…" or "postgresql://…" for PostgreSQL (DataDir
	// is then unused).
	StoreURL string
	// DataDir holds the bbolt file (created if missing); required when
	// StoreURL is empty.
	DataDir string
	// Store, when set, is an open store to run on instead of opening one
	// (StoreURL and DataDir are then unused); Close leaves it open.
	Store store.Store
	// GroupCommit lets concurrent bbolt updates wait that long for company
	// (see boltstore.Options); ignored by PostgreSQL.
	GroupCommit time.Duration

	// IssuersDir is the folder of issuer folders; when empty or missing,
	// Embedded serves.
	IssuersDir string
	// Embedded is the issuers used without IssuersDir; nil: the built-in
	// ones (package issuers).
	Embedded fs.FS
	// Flows, when set, serves the issuers instead of a scripts registry
	// (tests); Catalog then lists them for the admin API and may be nil.
	Flows   flow.Registry
	Catalog flow.Catalog
	// Watch reloads an issuer folder when its files change.
	Watch bool

	// KeyDir is the issuers' key store (--keys): one <issuerId>.json per
	// issuer, mode 600 (docs/keys.md). Empty: the built-in DEMOAES TEST
	// KEYS only. The keys are read again with every reload of the issuers.
	KeyDir string
	// SealKeyFile is the key that seals the authenticated sessions' state
	// in the store (--seal-key). Empty: DataDir/seal.key with the embedded
	// store, created on the first start; a shared store with a KeyDir
	// requires it (see sealKey).
	SealKeyFile string
	// SAM, when set, is used instead of a software SAM over KeyDir (tests);
	// KeyDir and SealKeyFile are then unused.
	SAM sam.SAM

	// GatewayAddr and AdminAddr are the listen addresses of the Device
	// Gateway API and of the admin API; empty: a free port of 127.0.0.1.
	GatewayAddr, AdminAddr string
	// NoListen serves no port: the apps are reached in process through
	// Node.Server (tes test runs many cases at once this way). GatewayURL,
	// AdminURL and the listeners' addresses are then empty.
	NoListen bool
	// GatewayTLS, when set, serves the Device Gateway API over TLS.
	GatewayTLS *tls.Config
	// AdminToken, when set, is the bearer token of the admin API; without
	// one it serves loopback callers only.
	AdminToken string
	// Actors, when not empty, is the allowlist of x-actor-id values.
	Actors []string

	// StepMemory is the heap all running steps may share (engine.Config);
	// 0: the engine's default, 256 MiB.
	StepMemory uint64

	// SweepEvery is how often expired sessions are closed and old ones
	// purged; zero: no sweeper (Engine.Sweep may be called by hand).
	SweepEvery time.Duration
	// Drain bounds Close's wait for requests in flight; 0: DefaultDrain.
	Drain time.Duration

	Clock  clock.Clock  // nil: the system clock
	Logger *slog.Logger // nil: discard
	// LogLevel, when set, is Logger's level, which the admin API changes
	// at run time (server.Config.LogLevel).
	LogLevel *slog.LevelVar
	// Pprof serves net/http/pprof on the admin address (server.Config).
	Pprof bool
}

// Node is a running tes: a store, the issuers' flows, the engine, the
// server's two apps on their listeners, and the background work (sweeper,
// folder watch). Its exported fields are fixed by Start; its methods are
// safe for concurrent use.
type Node struct {
	// GatewayURL and AdminURL are "http://HOST:PORT" ("https://" for a
	// gateway behind TLS).
	GatewayURL string
	AdminURL   string
	Store      store.Store
	Flows      flow.Registry
	// Registry is the scripts registry serving Flows; nil when
	// Config.Flows replaced it.
	Registry *scripts.Registry
	// SAM authenticates to cards for the flows: Config.SAM, or the
	// software SAM over the key store.
	SAM    sam.SAM
	Engine *engine.Engine
	Server *server.Server

	log      *slog.Logger
	drain    time.Duration
	ownStore bool // Start opened the store: Close closes it
	gateway  *Listening
	admin    *Listening

	cancel     context.CancelFunc // ends the background work
	background sync.WaitGroup
	failed     chan error    // capacity 1: the first listener that stopped by itself
	stopping   chan struct{} // closed when Close begins

	closeOnce sync.Once
	closeErr  error
}

// Start opens the store, loads the issuers, builds the engine and the
// server, listens, and starts the background work. ctx bounds the start
// only. On error everything started is stopped again.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Embedded == nil {
		cfg.Embedded = issuers.FS
	}
	if cfg.Drain <= 0 {
		cfg.Drain = DefaultDrain
	}
	st, ownStore := cfg.Store, false
	if st == nil {
		var err error
		if st, err = OpenStore(ctx, cfg); err != nil {
			return nil, err
		}
		ownStore = true
	}
	bg, cancel := context.WithCancel(context.Background())
	n := &Node{Store: st, ownStore: ownStore, Flows: cfg.Flows, log: cfg.Logger, drain: cfg.Drain, cancel: cancel,
		failed: make(chan error, 1), stopping: make(chan struct{})}
	if err := n.start(ctx, bg, cfg); err != nil {
		return nil, errors.Join(err, n.Close())
	}
	return n, nil
}

func (n *Node) start(ctx, bg context.Context, cfg Config) error {
	metrics, err := server.NewMetricsRegistry()
	if err != nil {
		return err
	}
	catalog := cfg.Catalog
	if n.Flows == nil {
		countReload, err := server.ReloadCounter(metrics)
		if err != nil {
			return err
		}
		var keys scripts.KeyReloader
		n.SAM = cfg.SAM
		if n.SAM == nil {
			software, err := openSAM(cfg, cfg.Logger)
			if err != nil {
				return err
			}
			n.SAM, keys = software, software
		}
		reg, err := scripts.Open(ctx, scripts.Config{
			Dir: cfg.IssuersDir, Embedded: cfg.Embedded, Store: n.Store,
			Clock: cfg.Clock, Logger: cfg.Logger, OnReload: countReload,
			SAM: n.SAM, Keys: keys,
		})
		if err != nil {
			return fmt.Errorf("node: load issuers: %w", err)
		}
		n.Registry, n.Flows, catalog = reg, reg, reg
	}
	observer, err := server.NewObserver(metrics)
	if err != nil {
		return err
	}
	n.Engine, err = engine.New(engine.Config{
		Store: n.Store, Flows: n.Flows, Clock: cfg.Clock, Logger: cfg.Logger, StepMemory: cfg.StepMemory,
		Observer: observer,
	})
	if err != nil {
		return fmt.Errorf("node: engine: %w", err)
	}
	n.Server, err = server.New(server.Config{
		Engine: n.Engine, Store: n.Store, Catalog: catalog, Flows: n.Flows,
		Clock: cfg.Clock, Logger: cfg.Logger, AdminToken: cfg.AdminToken, Actors: cfg.Actors,
		Metrics: metrics, LogLevel: cfg.LogLevel, Pprof: cfg.Pprof,
	})
	if err != nil {
		return fmt.Errorf("node: server: %w", err)
	}
	// The support staff's console, on the admin address.
	if err := console.Mount(n.Server.Admin(), n.Server.API(), console.Options{}); err != nil {
		return fmt.Errorf("node: console: %w", err)
	}

	if cfg.SweepEvery > 0 {
		n.background.Go(func() { n.Engine.RunSweeper(bg, cfg.SweepEvery) })
	}
	if cfg.Watch && n.Registry != nil {
		n.background.Go(func() {
			if err := n.Registry.Watch(bg); err != nil {
				n.log.Warn("issuer folders are not watched; reload with SIGHUP or the admin API", "error", err.Error())
			}
		})
	}

	if cfg.NoListen {
		return nil
	}
	gatewayLn, err := listen(cfg.GatewayAddr, "the Device Gateway API")
	if err != nil {
		return err
	}
	scheme := "http"
	if cfg.GatewayTLS != nil {
		gatewayLn, scheme = tls.NewListener(gatewayLn, cfg.GatewayTLS), "https"
	}
	n.gateway = Serve(n.Server.Gateway(), gatewayLn, scheme)
	n.GatewayURL = n.gateway.URL
	adminLn, err := listen(cfg.AdminAddr, "the admin API")
	if err != nil {
		return err
	}
	n.admin = Serve(n.Server.Admin(), adminLn, "http")
	n.AdminURL = n.admin.URL
	for _, l := range []*Listening{n.gateway, n.admin} {
		n.background.Go(func() {
			select {
			case <-l.Exited():
			case <-n.stopping:
				return
			}
			select {
			case <-n.stopping: // Close stopped it: closed before any Stop
				return
			default:
			}
			err := l.Err()
			if err == nil {
				err = errors.New("the listener returned no error")
			}
			select {
			case n.failed <- fmt.Errorf("node: %s stopped serving: %w", l.URL, err):
			default:
			}
		})
	}
	return nil
}

func listen(addr, what string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("node: listen for %s: %w", what, err)
	}
	return ln, nil
}

// GatewayAddr and AdminAddr are the addresses the apps listen on.
func (n *Node) GatewayAddr() net.Addr { return n.gateway.Addr() }

// AdminAddr: see GatewayAddr.
func (n *Node) AdminAddr() net.Addr { return n.admin.Addr() }

// Failed delivers an error when a listener stops serving by itself (not
// by Close): the node should then be closed.
func (n *Node) Failed() <-chan error { return n.failed }

// Reload reloads the issuers from their folders (SIGHUP); nothing to do
// when Config.Flows replaced the registry.
func (n *Node) Reload(ctx context.Context) error {
	if n.Registry == nil {
		return nil
	}
	return n.Registry.Reload(ctx)
}

// Close stops the node in the reverse order of Start: the Device Gateway
// API first (the TSH's requests in flight finish, within Config.Drain, new
// ones are refused), then the admin API, then the background work, and
// the store last. Later calls return the first call's error.
func (n *Node) Close() error {
	n.closeOnce.Do(func() { n.closeErr = n.close() })
	return n.closeErr
}

func (n *Node) close() error {
	close(n.stopping)
	var errs []error
	for _, l := range []*Listening{n.gateway, n.admin} {
		if l == nil {
			continue
		}
		if err := l.Stop(n.drain); err != nil {
			errs = append(errs, err)
		}
	}
	n.cancel()
	n.background.Wait()
	if n.ownStore {
		n.log.Info("stopped accepting requests; closing the store")
		if err := n.Store.Close(); err != nil {
			errs = append(errs, fmt.Errorf("node: close store: %w", err))
		}
	}
	return errors.Join(errs...)
}

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/issuers"
	"github.com/tes-project/tes/scripts"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/server/console"
	"github.com/tes-project/tes/store/boltstore"
)

const serveAbout = `Runs the server: the Device Gateway API for the TSH on --addr (TLS with
--tls-cert and --tls-key; client certificates required with --client-ca) and
the admin API on --admin-addr. Every option may also come from the
environment as TES_<NAME> (e.g. TES_ADMIN_ADDR); a flag wins.
SIGHUP reloads the issuers; SIGINT or SIGTERM stops accepting, lets the
requests in flight finish, and closes the store.`

const (
	// storeFile is the bbolt file inside --data.
	storeFile = "tes.db"
	// sweepEvery is how often expired sessions are closed and old ones purged.
	sweepEvery = time.Minute
	// drainTimeout bounds the wait for requests in flight at shutdown.
	drainTimeout = 15 * time.Second
)

// serveConfig is tes serve's command line.
type serveConfig struct {
	addr, adminAddr, data, issuers string
	adminToken                     string
	tlsCert, tlsKey, clientCA      string
	actors, logLevel               string
	pprof                          bool
}

func serveFlags(cfg *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("tes serve", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", ":8080", "address of the Device Gateway API")
	fs.StringVar(&cfg.adminAddr, "admin-addr", "127.0.0.1:8081", "address of the admin API, /healthz, /readyz and /metrics")
	fs.StringVar(&cfg.data, "data", "./data", "directory of the embedded store (created if missing)")
	fs.StringVar(&cfg.issuers, "issuers", "./issuers", "folder of issuer folders; the built-in DEMO issuer when it does not exist")
	fs.StringVar(&cfg.adminToken, "admin-token", "", "bearer token the admin API requires; without one it serves loopback callers only")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "PEM certificate (chain) of the Device Gateway API; TLS when set")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&cfg.clientCA, "client-ca", "", "PEM CA certificates; when set the TSH must present a client certificate they sign")
	fs.StringVar(&cfg.actors, "actors", "", "comma-separated allowlist of x-actor-id values; empty: any")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "debug, info, warn or error (card identifiers are masked above debug); PUT /admin/v1/loglevel changes it at run time")
	fs.BoolVar(&cfg.pprof, "pprof", false, "serve net/http/pprof under /debug/pprof/ on the admin address, behind the admin access rule")
	return fs
}

// runServe is tes serve. It returns when a signal on signals other than
// SIGHUP, or the end of ctx, has shut the server down.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	var cfg serveConfig
	fs := serveFlags(&cfg)
	if code, ok := parseSubcommand(fs, serveAbout, args, stdout, stderr); !ok {
		return code
	}
	if err := applyEnv(fs, os.Getenv); err != nil {
		fmt.Fprintf(stderr, "tes serve: %v\n", err)
		return exitUsage
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		fmt.Fprintf(stderr, "tes serve: --log-level %q: want debug, info, warn or error\n", cfg.logLevel)
		return exitUsage
	}
	if err := cfg.checkTLSFlags(); err != nil {
		fmt.Fprintf(stderr, "tes serve: %v\n", err)
		return exitUsage
	}
	levelVar := new(slog.LevelVar)
	levelVar.Set(level)
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: levelVar, ReplaceAttr: readableDurations}))
	if err := serve(ctx, cfg, log, levelVar, signals); err != nil {
		log.Error("tes serve stopped", "error", err.Error())
		return exitFail
	}
	return exitOK
}

// readableDurations writes durations as Go duration strings ("1.5ms"),
// not the JSON handler's nanosecond integers.
func readableDurations(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

func (cfg serveConfig) checkTLSFlags() error {
	switch {
	case (cfg.tlsCert == "") != (cfg.tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case cfg.clientCA != "" && cfg.tlsCert == "":
		return errors.New("--client-ca needs --tls-cert and --tls-key")
	}
	return nil
}

// gatewayTLS is the TLS configuration of the TSH link; nil for plain HTTP.
func (cfg serveConfig) gatewayTLS() (*tls.Config, error) {
	if cfg.tlsCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair: %w", err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.clientCA != "" {
		pem, err := os.ReadFile(cfg.clientCA)
		if err != nil {
			return nil, fmt.Errorf("read client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA %s: no PEM certificate in it", cfg.clientCA)
		}
		conf.ClientCAs, conf.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return conf, nil
}

// actorList splits --actors, dropping blanks.
func (cfg serveConfig) actorList() []string {
	var out []string
	for _, a := range strings.Split(cfg.actors, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// serve opens the store, the issuers, the engine and the server, serves
// until told to stop, then drains and closes them in reverse order.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, level *slog.LevelVar, signals <-chan os.Signal) (err error) {
	tlsConf, err := cfg.gatewayTLS()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.data, 0o700); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	st, err := boltstore.Open(filepath.Join(cfg.data, storeFile), boltstore.Options{Logger: log})
	if err != nil {
		return err
	}
	defer func() {
		if closeErr := st.Close(); closeErr != nil {
			err = errors.Join(err, closeErr)
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	var background sync.WaitGroup
	// Runs before the store closes: the sweeper and the watcher use it.
	defer background.Wait()
	defer cancel()

	metrics, err := server.NewMetricsRegistry()
	if err != nil {
		return err
	}
	countReload, err := server.ReloadCounter(metrics)
	if err != nil {
		return err
	}
	registry, err := scripts.Open(ctx, scripts.Config{
		Dir: cfg.issuers, Embedded: issuers.FS, Store: st, Logger: log, OnReload: countReload,
	})
	if err != nil {
		return err
	}
	observer, err := server.NewObserver(metrics)
	if err != nil {
		return err
	}
	eng, err := engine.New(engine.Config{Store: st, Flows: registry, Logger: log, Observer: observer})
	if err != nil {
		return err
	}
	srv, err := server.New(server.Config{
		Engine: eng, Store: st, Catalog: registry, Flows: registry, Logger: log,
		AdminToken: cfg.adminToken, Actors: cfg.actorList(), Metrics: metrics,
		LogLevel: level, Pprof: cfg.pprof,
	})
	if err != nil {
		return err
	}
	if err := console.Mount(srv.Admin(), srv.API(), console.Options{}); err != nil {
		return err
	}
	background.Go(func() { eng.RunSweeper(ctx, sweepEvery) })
	background.Go(func() {
		if err := registry.Watch(ctx); err != nil {
			log.Warn("issuer folders are not watched; reload with SIGHUP or the admin API", "error", err.Error())
		}
	})

	gatewayLn, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen for the Device Gateway API: %w", err)
	}
	if tlsConf != nil {
		gatewayLn = tls.NewListener(gatewayLn, tlsConf)
	}
	adminLn, err := net.Listen("tcp", cfg.adminAddr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen for the admin API: %w", err), gatewayLn.Close())
	}
	stopped := make(chan error, 2)
	go func() { stopped <- srv.Gateway().Listener(gatewayLn) }()
	go func() { stopped <- srv.Admin().Listener(adminLn) }()
	build := readBuildInfo()
	log.Info("tes serving", "version", build.Version, "commit", build.Commit,
		"gateway", gatewayLn.Addr().String(), "admin", adminLn.Addr().String(),
		"tls", tlsConf != nil, "clientCertificates", cfg.clientCA != "",
		"adminToken", cfg.adminToken != "", "actorAllowlist", len(cfg.actorList()))

	var cause error
wait:
	for {
		select {
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				log.Info("SIGHUP: reloading issuers")
				if err := registry.Reload(ctx); err != nil {
					log.Error("reload failed", "error", err.Error())
				}
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			break wait
		case <-ctx.Done():
			log.Info("shutting down", "reason", context.Cause(ctx).Error())
			break wait
		case err := <-stopped:
			cause = fmt.Errorf("a listener stopped: %w", err)
			break wait
		}
	}
	// The gateway first: the TSH's requests in flight finish, new ones are
	// refused; then the admin API. Each listener is closed too: a Shutdown
	// that comes before fasthttp has registered its listener (a signal right
	// after start) would otherwise leave it serving.
	for _, part := range []struct {
		name string
		app  *fiber.App
		ln   net.Listener
	}{{"the Device Gateway API", srv.Gateway(), gatewayLn}, {"the admin API", srv.Admin(), adminLn}} {
		if err := part.app.ShutdownWithTimeout(drainTimeout); err != nil {
			cause = errors.Join(cause, fmt.Errorf("drain %s: %w", part.name, err))
		}
		if err := part.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			cause = errors.Join(cause, fmt.Errorf("close the listener of %s: %w", part.name, err))
		}
	}
	log.Info("stopped accepting requests; closing the store")
	return cause
}

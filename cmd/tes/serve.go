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
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/tes-project/tes/node"
)

const serveAbout = `Runs the server: the Device Gateway API for the TSH on --addr (TLS with
--tls-cert and --tls-key; client certificates required with --client-ca) and
the admin API on --admin-addr. Every option may also come from the
environment as TES_<NAME> (e.g. TES_ADMIN_ADDR); a flag wins.
SIGHUP reloads the issuers and the key store; SIGINT or SIGTERM stops accepting, lets the
requests in flight finish, and closes the store.`

// storeFile is the bbolt file inside --data.
const storeFile = node.StoreFile

const (
	// sweepEvery is how often expired sessions are closed and old ones purged.
	sweepEvery = time.Minute
	// drainTimeout bounds the wait for requests in flight at shutdown.
	drainTimeout = 15 * time.Second
)

// serveConfig is tes serve's command line.
type serveConfig struct {
	addr, adminAddr, data, issuers string
	storeURL                       string
	adminToken                     string
	tlsCert, tlsKey, clientCA      string
	actors, logLevel               string
	pprof                          bool
	stepMemoryMiB                  uint64
	keys, sealKey                  string
	// issuersGiven: --issuers or TES_ISSUERS was set, so the folder must
	// exist (the built-in issuers serve only when neither was).
	issuersGiven bool
	// keysGiven: --keys or TES_KEYS was set, so the folder must exist (the
	// built-in DEMOAES test keys serve only when neither was and ./keys
	// does not exist).
	keysGiven bool
}

func serveFlags(cfg *serveConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("tes serve", flag.ContinueOnError)
	fs.StringVar(&cfg.addr, "addr", ":8080", "address of the Device Gateway API")
	fs.StringVar(&cfg.adminAddr, "admin-addr", "127.0.0.1:8081", "address of the admin API, /healthz, /readyz and /metrics")
	fs.StringVar(&cfg.data, "data", "./data", "directory of the embedded store (created if missing); unused with a --store URL")
	fs.StringVar(&cfg.storeURL, "store", "", "empty: the embedded bbolt store in --data; postgres://USER:PASSWORD@HOST:PORT/DB: PostgreSQL, shared by every node given the same URL (migrated at start)")
	fs.StringVar(&cfg.issuers, "issuers", "./issuers", "folder of issuer folders; the built-in DEMO issuer when it does not exist")
	fs.StringVar(&cfg.adminToken, "admin-token", "", "bearer token the admin API requires; without one it serves loopback callers only")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "PEM certificate (chain) of the Device Gateway API; TLS when set")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&cfg.clientCA, "client-ca", "", "PEM CA certificates; when set the TSH must present a client certificate they sign")
	fs.StringVar(&cfg.actors, "actors", "", "comma-separated allowlist of x-actor-id values; empty: any")
	fs.StringVar(&cfg.keys, "keys", "./keys", "key store: one <issuerId>.json of card keys per issuer, mode 600 (docs/keys.md); the built-in DEMOAES TEST KEYS when it does not exist")
	fs.StringVar(&cfg.sealKey, "seal-key", "", "file of the key (64 hex digits, mode 600) that seals authenticated sessions in the store; default: <data>/seal.key, created on first start; required with a --store URL and a key store")
	fs.StringVar(&cfg.logLevel, "log-level", "info", "debug, info, warn or error (card identifiers are masked above debug); PUT /admin/v1/loglevel changes it at run time")
	fs.BoolVar(&cfg.pprof, "pprof", false, "serve net/http/pprof under /debug/pprof/ on the admin address, behind the admin access rule")
	fs.Uint64Var(&cfg.stepMemoryMiB, "step-memory", 256, "MiB of heap all running flow steps may share beyond the server's own use; past it the longest-running step ends 921")
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
	cfg.issuersGiven = givenOrInEnv(fs, "issuers", os.Getenv)
	cfg.keysGiven = givenOrInEnv(fs, "keys", os.Getenv)
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.logLevel)); err != nil {
		fmt.Fprintf(stderr, "tes serve: --log-level %q: want debug, info, warn or error\n", cfg.logLevel)
		return exitUsage
	}
	if err := cfg.checkFlags(); err != nil {
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

// checkFlags refuses combinations of flags that cannot run.
func (cfg serveConfig) checkFlags() error {
	switch {
	case cfg.storeURL != "" && !node.IsPostgresURL(cfg.storeURL):
		return errors.New("--store: want empty (the embedded store in --data) or a postgres:// URL")
	case (cfg.tlsCert == "") != (cfg.tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case cfg.clientCA != "" && cfg.tlsCert == "":
		return errors.New("--client-ca needs --tls-cert and --tls-key")
	case cfg.stepMemoryMiB == 0:
		return errors.New("--step-memory: want a number of MiB above 0")
	}
	if cfg.issuersGiven {
		if err := mustBeFolder("--issuers", cfg.issuers); err != nil {
			return err
		}
	}
	if cfg.keysGiven {
		if err := mustBeFolder("--keys", cfg.keys); err != nil {
			return err
		}
	}
	if cfg.storeURL != "" && cfg.keyDir() != "" && cfg.sealKey == "" {
		return errors.New("--store with a key store needs --seal-key: every node must open the sessions the others sealed")
	}
	return nil
}

// keyDir is the key store to load: --keys when given or when the default
// folder exists; empty (the built-in test keys) otherwise.
func (cfg serveConfig) keyDir() string {
	if cfg.keysGiven {
		return cfg.keys
	}
	if info, err := os.Stat(cfg.keys); err == nil && info.IsDir() {
		return cfg.keys
	}
	return ""
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

// serverMemory is what tes serve's soft memory limit allows beyond the
// steps' budget: the server's own heap, the engine's reserve for requests
// in flight, and room for the collector to work in.
const serverMemory = 512 << 20

// gcPercent is tes serve's GOGC. The live heap is small (tens of MiB) and
// every request makes garbage, so at Go's default of 100 the collector
// runs all the time. Measured with tes bench at 64 devices (BENCHMARKS.md):
// 400 cuts the server's CPU per round trip by about a sixth for some 35
// MiB more resident memory; the soft memory limit above still bounds it.
const gcPercent = 400

// serve starts a node (store, issuers, engine, server, sweeper, watch),
// serves until told to stop, then drains and closes it.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger, level *slog.LevelVar, signals <-chan os.Signal) (err error) {
	tlsConf, err := cfg.gatewayTLS()
	if err != nil {
		return err
	}
	stepMemory := cfg.stepMemoryMiB << 20
	if os.Getenv("GOMEMLIMIT") == "" {
		// The runtime collects harder as the heap nears the limit, so that
		// garbage does not trip the engine's memory guard (which allows the
		// server's own use, a reserve and the steps' budget) before live
		// data does.
		debug.SetMemoryLimit(int64(stepMemory) + serverMemory)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	n, err := node.Start(ctx, node.Config{
		StoreURL: cfg.storeURL, DataDir: cfg.data, IssuersDir: cfg.issuers, Watch: true, StepMemory: stepMemory,
		KeyDir: cfg.keyDir(), SealKeyFile: cfg.sealKey,
		GatewayAddr: cfg.addr, AdminAddr: cfg.adminAddr, GatewayTLS: tlsConf,
		AdminToken: cfg.adminToken, Actors: cfg.actorList(),
		SweepEvery: sweepEvery, Drain: drainTimeout, Logger: log, LogLevel: level, Pprof: cfg.pprof,
	})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, n.Close()) }()
	build := readBuildInfo()
	log.Info("tes serving", "version", build.Version, "commit", build.Commit,
		"gateway", n.GatewayAddr().String(), "admin", n.AdminAddr().String(),
		"tls", tlsConf != nil, "clientCertificates", cfg.clientCA != "",
		"adminToken", cfg.adminToken != "", "actorAllowlist", len(cfg.actorList()))

	for {
		select {
		case sig := <-signals:
			if sig == syscall.SIGHUP {
				log.Info("SIGHUP: reloading issuers")
				if err := n.Reload(ctx); err != nil {
					log.Error("reload failed", "error", err.Error())
				}
				continue
			}
			log.Info("shutting down", "signal", sig.String())
			return nil
		case <-ctx.Done():
			log.Info("shutting down", "reason", context.Cause(ctx).Error())
			return nil
		case err := <-n.Failed():
			return fmt.Errorf("a listener stopped: %w", err)
		}
	}
}

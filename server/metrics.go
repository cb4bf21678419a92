package server

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

// Bounds of the gauges computed at scrape time from the store: a scrape
// reads at most this many open sessions and this many UNCERTAIN purchases
// per issuer, within scrapeTimeout. A count at the bound means "at least".
const (
	maxScrapedOpenSessions = 10000
	maxScrapedUncertain    = 10000
	scrapeTimeout          = 2 * time.Second
)

// metrics are the server's Prometheus collectors, and its engine.Observer.
// Label values are bounded: issuer and operation are those of loaded
// issuers (empty when a request never reached one), endpoint is one of the
// three or "unknown", status_code is the contract's.
type metrics struct {
	requests     *prometheus.CounterVec   // by issuer, operation, endpoint and status code
	latency      *prometheus.HistogramVec // by endpoint
	steps        *prometheus.HistogramVec // by issuer and operation
	scriptErrors *prometheus.CounterVec   // by issuer and operation
	handler      fiber.Handler            // serves /metrics
}

// NewMetricsRegistry returns a registry with the Go and process collectors,
// for Config.Metrics and for the collectors of the parts built before the
// server (ReloadCounter).
func NewMetricsRegistry() (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, fmt.Errorf("server: register Go collector: %w", err)
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, fmt.Errorf("server: register process collector: %w", err)
	}
	return reg, nil
}

// ReloadCounter registers tes_issuer_reloads_total on reg and returns the
// function that counts one reload, as scripts.Config.OnReload takes it.
func ReloadCounter(reg *prometheus.Registry) (func(issuerID, result string), error) {
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "tes_issuer_reloads_total",
		Help: "Loads of an issuer folder by issuer and result (loaded, unchanged, failed, removed).",
	}, []string{"issuer", "result"})
	if err := reg.Register(reloads); err != nil {
		return nil, fmt.Errorf("server: register reload counter: %w", err)
	}
	return func(issuerID, result string) { reloads.WithLabelValues(issuerID, result).Inc() }, nil
}

// Observer is what the engine reports its steps to (engine.Config.Observer):
// the step duration histogram and the run-time script errors, by issuer
// and operation. Build it before the engine with NewObserver, on the
// registry that Config.Metrics then gets. Safe for concurrent use.
type Observer struct {
	steps        *prometheus.HistogramVec
	scriptErrors *prometheus.CounterVec
}

var _ engine.Observer = (*Observer)(nil)

// NewObserver registers tes_step_duration_seconds and
// tes_script_errors_total on reg.
func NewObserver(reg *prometheus.Registry) (*Observer, error) {
	o := &Observer{
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tes_step_duration_seconds",
			Help:    "Time a flow step ran (its own work, scripts and guards), by issuer and operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25},
		}, []string{"issuer", "operation"}),
		scriptErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tes_script_errors_total",
			Help: "Flow steps that failed at run time (a script error, a timeout, the memory budget; each ended its operation with 921), by issuer and operation.",
		}, []string{"issuer", "operation"}),
	}
	for _, c := range []prometheus.Collector{o.steps, o.scriptErrors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("server: register step metrics: %w", err)
		}
	}
	return o, nil
}

// StepDone implements engine.Observer. It does not block.
func (o *Observer) StepDone(issuerID, operation string, elapsed time.Duration, err error) {
	o.steps.WithLabelValues(issuerID, operation).Observe(elapsed.Seconds())
	if err != nil {
		o.scriptErrors.WithLabelValues(issuerID, operation).Inc()
	}
}

func newMetrics(cfg Config, log *slog.Logger) (*metrics, error) {
	reg := cfg.Metrics
	if reg == nil {
		var err error
		if reg, err = NewMetricsRegistry(); err != nil {
			return nil, err
		}
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tes_gateway_requests_total",
			Help: "Device Gateway replies by issuer, operation, endpoint and status code (the responseHeader's, not HTTP's). Issuer and operation are empty when the request never reached a loaded issuer's operation.",
		}, []string{"issuer", "operation", "endpoint", "status_code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tes_gateway_request_duration_seconds",
			Help:    "Time to answer a Device Gateway request, from routing to the reply.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"endpoint"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, &ledgerCollector{store: cfg.Store, catalog: cfg.Catalog, log: log}} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("server: register metrics: %w", err)
		}
	}
	m.handler = adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return m, nil
}

// countReply counts one reply; issuerID is dropped when the request never
// reached an operation (operation empty), so that unknown issuer ids sent
// by a caller cannot grow the label set.
func (m *metrics) countReply(issuerID, operation, endpoint string, statusCode int) {
	if operation == "" {
		issuerID = ""
	}
	m.requests.WithLabelValues(issuerID, operation, endpoint, strconv.Itoa(statusCode)).Inc()
}

func (m *metrics) observeLatency(endpoint string, d time.Duration) {
	m.latency.WithLabelValues(endpoint).Observe(d.Seconds())
}

// ledgerCollector computes gauges from the store at scrape time: open
// sessions by issuer and operation, UNCERTAIN purchases by issuer. Each
// scrape reads a bounded number of records within scrapeTimeout.
type ledgerCollector struct {
	store   store.Store
	catalog flow.Catalog
	log     *slog.Logger
}

var (
	openSessionsDesc = prometheus.NewDesc("tes_open_sessions",
		"Open sessions (operations not yet ended) by issuer and operation, read from the store at scrape time; at most 10000 are counted.",
		[]string{"issuer", "operation"}, nil)
	uncertainDesc = prometheus.NewDesc("tes_uncertain_purchases",
		"UNCERTAIN purchases (a money write sent and not settled) of each loaded issuer, read from the store at scrape time; at most 10000 per issuer are counted.",
		[]string{"issuer"}, nil)
	uncertainAmountDesc = prometheus.NewDesc("tes_uncertain_purchases_yen",
		"Sum of the amounts of the UNCERTAIN purchases counted by tes_uncertain_purchases.",
		[]string{"issuer"}, nil)
)

func (c *ledgerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- openSessionsDesc
	ch <- uncertainDesc
	ch <- uncertainAmountDesc
}

func (c *ledgerCollector) Collect(ch chan<- prometheus.Metric) {
	if c.store == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	type key struct{ issuer, operation string }
	open := map[key]int{}
	type sum struct {
		count  int
		amount int64
	}
	uncertain := map[string]sum{}
	var issuerIDs []string
	if c.catalog != nil {
		for _, st := range c.catalog.Statuses() {
			issuerIDs = append(issuerIDs, st.IssuerID)
		}
	}
	// Open sessions are those not yet expired or expired and not yet swept:
	// all of them sort before the end of time in the expiry index.
	endOfTime := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	err := c.store.View(ctx, func(tx store.Tx) error {
		sessions, err := tx.OpenSessionsExpiredBefore(endOfTime, maxScrapedOpenSessions)
		if err != nil {
			return fmt.Errorf("open sessions: %w", err)
		}
		for _, s := range sessions {
			open[key{s.IssuerID, s.Operation}]++
		}
		for _, id := range issuerIDs {
			list, err := tx.Purchases(id, store.PurchaseUncertain, maxScrapedUncertain)
			if err != nil {
				return fmt.Errorf("uncertain purchases of %s: %w", id, err)
			}
			var s sum
			for _, p := range list {
				s.count++
				s.amount += p.Amount
			}
			uncertain[id] = s
		}
		return nil
	})
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "metrics: reading the store failed", slog.String("error", err.Error()))
		return
	}
	for k, n := range open {
		ch <- prometheus.MustNewConstMetric(openSessionsDesc, prometheus.GaugeValue, float64(n), k.issuer, k.operation)
	}
	for id, s := range uncertain {
		ch <- prometheus.MustNewConstMetric(uncertainDesc, prometheus.GaugeValue, float64(s.count), id)
		ch <- prometheus.MustNewConstMetric(uncertainAmountDesc, prometheus.GaugeValue, float64(s.amount), id)
	}
}

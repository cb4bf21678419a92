package server

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the gateway's Prometheus collectors.
type metrics struct {
	requests *prometheus.CounterVec   // by endpoint and status code
	latency  *prometheus.HistogramVec // by endpoint
	handler  fiber.Handler            // serves /metrics
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

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	if reg == nil {
		var err error
		if reg, err = NewMetricsRegistry(); err != nil {
			return nil, err
		}
	}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tes_gateway_requests_total",
			Help: "Device Gateway replies by endpoint and status code (the responseHeader's, not HTTP's).",
		}, []string{"endpoint", "status_code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tes_gateway_request_duration_seconds",
			Help:    "Time to answer a Device Gateway request, from routing to the reply.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"endpoint"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("server: register metrics: %w", err)
		}
	}
	m.handler = adaptor.HTTPHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return m, nil
}

func (m *metrics) countReply(endpoint string, statusCode int) {
	m.requests.WithLabelValues(endpoint, strconv.Itoa(statusCode)).Inc()
}

func (m *metrics) observeLatency(endpoint string, d time.Duration) {
	m.latency.WithLabelValues(endpoint).Observe(d.Seconds())
}

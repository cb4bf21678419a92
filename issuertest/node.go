package issuertest

import (
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store/boltstore"
	"github.com/tes-project/tes/tsh"
)

// node is one case's server: a bbolt store in a folder of its own, the
// engine and the Device Gateway's fiber app over the shared flows, reached
// through an in-memory transport (no port, no network).
type node struct {
	store  *boltstore.Store
	client *tsh.Client
}

// startNode opens a node whose store lives in dir.
func startNode(dir string, flows flow.Registry, clk clock.Clock) (*node, error) {
	logger := slog.New(slog.DiscardHandler)
	st, err := boltstore.Open(filepath.Join(dir, "tes.db"), boltstore.Options{Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	n := &node{store: st}
	eng, err := engine.New(engine.Config{Store: st, Flows: flows, Clock: clk, Logger: logger})
	if err != nil {
		return nil, n.closeWith(fmt.Errorf("engine: %w", err))
	}
	srv, err := server.New(server.Config{
		Engine: eng, Store: st, Flows: flows, Clock: clk, Logger: logger,
		Metrics: prometheus.NewRegistry(),
	})
	if err != nil {
		return nil, n.closeWith(fmt.Errorf("server: %w", err))
	}
	n.client, err = tsh.NewClient("http://tes-test.invalid", tsh.ClientOptions{Transport: appTransport{srv.Gateway()}})
	if err != nil {
		return nil, n.closeWith(err)
	}
	return n, nil
}

func (n *node) closeWith(err error) error {
	if cerr := n.store.Close(); cerr != nil {
		return fmt.Errorf("%w (and closing the store: %w)", err, cerr)
	}
	return err
}

// close closes the store.
func (n *node) close() error { return n.store.Close() }

// appTransport hands each HTTP request to a fiber app in process.
type appTransport struct{ app *fiber.App }

// RoundTrip serves req with the app, without a time limit (the machine may
// be busy; the client's own timeout still applies).
func (t appTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.app.Test(req, -1)
	if err != nil {
		return nil, fmt.Errorf("issuertest: serve in process: %w", err)
	}
	return resp, nil
}

package issuertest

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/flow"
	tesnode "github.com/tes-project/tes/node"
	"github.com/tes-project/tes/tsh"
)

// node is one case's server: the project's assembler (package node) on a
// bbolt store in a folder of its own, over the shared flows, without
// ports: its Device Gateway is reached through an in-memory transport.
type node struct {
	*tesnode.Node
	client *tsh.Client
}

// startNode starts a node whose store lives in dir.
func startNode(dir string, flows flow.Registry, clk clock.Clock) (*node, error) {
	n, err := tesnode.Start(context.Background(), tesnode.Config{DataDir: dir, Flows: flows, Clock: clk, NoListen: true})
	if err != nil {
		return nil, fmt.Errorf("start the case's server: %w", err)
	}
	client, err := tsh.NewClient("http://tes-test.invalid", tsh.ClientOptions{Transport: appTransport{n.Server.Gateway()}})
	if err != nil {
		return nil, fmt.Errorf("%w (and closing the server: %w)", err, n.Close())
	}
	return &node{Node: n, client: client}, nil
}

// close stops the node and closes its store.
func (n *node) close() error { return n.Close() }

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

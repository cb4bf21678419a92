package tsh

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
)

// DefaultTimeout bounds one HTTP request when ClientOptions.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// maxReplyBytes bounds how much of an answer is read; a Device Gateway
// reply carries at most a batch of 255-byte frames.
const maxReplyBytes = 1 << 20

// ClientOptions tune a Client. The zero value is ready to use.
type ClientOptions struct {
	// Timeout bounds one HTTP request, the reading of its answer included;
	// 0: DefaultTimeout.
	Timeout time.Duration
	// MaxConnsPerHost bounds the keep-alive pool; 0: 64. Load generators
	// set it to their number of devices so that every device keeps its
	// connection.
	MaxConnsPerHost int
	// Transport, when set, carries the requests instead of TCP: tes test
	// and tes replay hand the server's fiber app to it, in process.
	Transport http.RoundTripper
}

// Client talks to one server's Device Gateway API. Safe for concurrent use:
// Runs on different devices may share one Client and its connections.
type Client struct {
	base string // scheme://host[:port], no trailing slash
	http *http.Client
}

// NewClient returns a client of the server at baseURL (for instance
// "http://127.0.0.1:8080"); the gateway's base path is added to it.
func NewClient(baseURL string, o ClientOptions) (*Client, error) {
	base, err := parseBase(baseURL)
	if err != nil {
		return nil, err
	}
	return &Client{base: base + server.GatewayBasePath, http: newHTTPClient(o)}, nil
}

// parseBase checks an http(s) URL with a host and returns it without a
// trailing slash.
func parseBase(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%w: url %q: %w", ErrConfig, raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: url %q: want http://host:port or https://host:port", ErrConfig, raw)
	}
	return strings.TrimSuffix(raw, "/"), nil
}

func newHTTPClient(o ClientOptions) *http.Client {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Transport != nil {
		return &http.Client{Transport: o.Transport, Timeout: o.Timeout}
	}
	if o.MaxConnsPerHost == 0 {
		o.MaxConnsPerHost = 64
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = o.MaxConnsPerHost
	transport.MaxIdleConnsPerHost = o.MaxConnsPerHost
	return &http.Client{Transport: transport, Timeout: o.Timeout}
}

// CloseIdleConnections closes the keep-alive connections no request uses.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// exchange is one HTTP request and its answer.
type exchange struct {
	status  int
	reply   server.Reply
	latency time.Duration
}

// post sends one Device Gateway request and decodes the reply, which the
// contract promises even with HTTP 500.
func (c *Client) post(ctx context.Context, endpoint flow.Endpoint, actorID string, body []byte) (exchange, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+string(endpoint), bytes.NewReader(body))
	if err != nil {
		return exchange{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if actorID != "" {
		req.Header.Set(server.HeaderActorID, actorID)
	}
	started := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return exchange{}, fmt.Errorf("%w: POST %s: %w", ErrTransport, endpoint, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return exchange{}, fmt.Errorf("%w: read reply of %s: %w", ErrTransport, endpoint, err)
	}
	ex := exchange{status: resp.StatusCode, latency: time.Since(started)}
	if err := json.Unmarshal(raw, &ex.reply); err != nil {
		return ex, fmt.Errorf("%w: HTTP %d, body %.200q: %w", ErrBadReply, resp.StatusCode, raw, err)
	}
	return ex, nil
}

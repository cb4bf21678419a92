package tsh

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/tes-project/tes/server"
)

// NewClientSpread returns a client whose requests go to each of the
// servers at baseURLs in turn, one request each, as a TSH behind a load
// balancer without sticky routing: consecutive calls of one operation
// reach different servers. The servers must share their store.
func NewClientSpread(baseURLs []string, o ClientOptions) (*Client, error) {
	if len(baseURLs) == 0 {
		return nil, fmt.Errorf("%w: no server URL", ErrConfig)
	}
	targets := make([]*url.URL, len(baseURLs))
	for i, raw := range baseURLs {
		base, err := parseBase(raw)
		if err != nil {
			return nil, err
		}
		if targets[i], err = url.Parse(base); err != nil {
			return nil, fmt.Errorf("%w: url %q: %w", ErrConfig, raw, err)
		}
		if targets[i].Path != "" && targets[i].Path != targets[0].Path {
			return nil, fmt.Errorf("%w: url %q: the servers must share one path", ErrConfig, raw)
		}
	}
	c := &Client{base: targets[0].String() + server.GatewayBasePath, http: newHTTPClient(o)}
	if len(targets) > 1 {
		c.http.Transport = &roundRobin{targets: targets, next: new(atomic.Uint64), rt: c.http.Transport}
	}
	return c, nil
}

// roundRobin sends each request to the next target's scheme and host.
type roundRobin struct {
	targets []*url.URL
	next    *atomic.Uint64 // requests sent; the next goes to targets[next % len]
	rt      http.RoundTripper
}

func (r *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	t := r.targets[(r.next.Add(1)-1)%uint64(len(r.targets))]
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host, out.Host = t.Scheme, t.Host, t.Host
	return r.rt.RoundTrip(out)
}

// CloseIdleConnections passes the call on, so Client.CloseIdleConnections
// reaches the transport's pool.
func (r *roundRobin) CloseIdleConnections() {
	if c, ok := r.rt.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

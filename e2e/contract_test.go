package e2e_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tes-project/tes/server/openapitest"
)

// maxProxiedBody bounds what the proxy reads of a request or a reply; the
// server refuses requests over 64 KiB and its replies are smaller still.
const maxProxiedBody = 1 << 20

// proxy starts a loopback HTTP proxy to upstream (scheme://host:port) that
// validates every request and reply passing through against the document,
// failing t on a violation. The proxy outlives a restart of upstream.
func proxy(t *testing.T, api *openapitest.Contract, upstream string) string {
	t.Helper()
	// No keep-alive: the crash test kills the upstream, and a POST on a
	// pooled connection that died with it would fail instead of reconnecting.
	forward := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxProxiedBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		probe := r.Clone(r.Context())
		probe.Body = io.NopCloser(bytes.NewReader(body))
		api.CheckRequest(t, probe)

		out, err := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out.Header = r.Header.Clone()
		resp, err := forward.Do(out)
		if err != nil {
			// The upstream is down (the crash test kills it): the TSH sees a
			// transport failure, as it would.
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		reply, err := io.ReadAll(io.LimitReader(resp.Body, maxProxiedBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		api.CheckReply(t, r.Method, r.URL.Path, resp.StatusCode, resp.Header, reply)
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(reply)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

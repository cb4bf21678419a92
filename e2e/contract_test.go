package e2e_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/tes-project/tes/server"
)

// maxProxiedBody bounds what the proxy reads of a request or a reply; the
// server refuses requests over 64 KiB and its replies are smaller still.
const maxProxiedBody = 1 << 20

// contract validates Device Gateway traffic against server.OpenAPI().
type contract struct {
	router routers.Router
}

func newContract(t testing.TB) contract {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(server.OpenAPI())
	if err != nil {
		t.Fatalf("load OpenAPI: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatalf("OpenAPI router: %v", err)
	}
	return contract{router: router}
}

// proxy starts a loopback HTTP proxy to upstream (scheme://host:port) that
// validates every request and reply passing through against the document,
// failing t on a violation. The proxy outlives a restart of upstream.
func (c contract) proxy(t *testing.T, upstream string) string {
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
		probe := c.probe(r, body)
		route, params, err := c.router.FindRoute(probe)
		if err != nil {
			t.Errorf("proxy: no OpenAPI route for %s %s: %v", r.Method, r.URL.Path, err)
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		in := &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route}
		if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
			t.Errorf("request breaks the OpenAPI document: %v\n%s", err, body)
		}

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
		check := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: c.probe(r, nil), PathParams: params, Route: route},
			Status:                 resp.StatusCode,
			Header:                 resp.Header,
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		}
		check.SetBodyBytes(reply)
		if err := openapi3filter.ValidateResponse(context.Background(), check); err != nil {
			t.Errorf("reply breaks the OpenAPI document: %v\n%s", err, reply)
		}
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(reply)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// probe is r as the router and validator see it: same method, path,
// headers and body, on the document's host.
func (contract) probe(r *http.Request, body []byte) *http.Request {
	p := httptest.NewRequest(r.Method, "http://tes.test"+r.URL.RequestURI(), bytes.NewReader(body))
	p.Header = r.Header.Clone()
	return p
}

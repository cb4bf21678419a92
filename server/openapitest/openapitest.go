package openapitest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/tes-project/tes/server"
)

// Contract validates requests and replies. Safe for concurrent use: the
// end-to-end proxy calls it from its handler goroutines.
type Contract struct {
	router routers.Router
}

// New loads and validates the document, failing t if it is not valid.
func New(t testing.TB) *Contract {
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
	return &Contract{router: router}
}

// ValidateRequest returns why a request breaks the document, or nil. The
// request's path is matched on the document's host, whatever its own; its
// body is read and put back.
func (c *Contract) ValidateRequest(req *http.Request) error {
	in, err := c.input(req)
	if err != nil {
		return err
	}
	return openapi3filter.ValidateRequest(context.Background(), in)
}

// ValidateReply returns why a reply to method path breaks the document, or
// nil.
func (c *Contract) ValidateReply(method, path string, status int, header http.Header, body []byte) error {
	in, err := c.input(httptest.NewRequest(method, path, nil))
	if err != nil {
		return err
	}
	check := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	// Bodies other than JSON (YAML, CSV, a backup) are checked for status
	// and content type only: the validator decodes JSON bodies.
	if ct := header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		check.Options.ExcludeResponseBody = true
	}
	check.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), check)
}

// CheckRequest reports a request that breaks the document with t.Errorf.
func (c *Contract) CheckRequest(t testing.TB, req *http.Request) {
	t.Helper()
	if err := c.ValidateRequest(req); err != nil {
		t.Errorf("request %s %s breaks the OpenAPI document: %v", req.Method, req.URL.Path, err)
	}
}

// CheckReply reports a reply that breaks the document with t.Errorf.
func (c *Contract) CheckReply(t testing.TB, method, path string, status int, header http.Header, body []byte) {
	t.Helper()
	if err := c.ValidateReply(method, path, status, header, body); err != nil {
		t.Errorf("reply to %s %s breaks the OpenAPI document: %v\n%s", method, path, err, body)
	}
}

// input finds req's route in the document.
func (c *Contract) input(req *http.Request) (*openapi3filter.RequestValidationInput, error) {
	probe := req.Clone(req.Context())
	probe.URL.Scheme, probe.URL.Host, probe.Host = "http", "tes.test", "tes.test"
	route, params, err := c.router.FindRoute(probe)
	if err != nil {
		return nil, fmt.Errorf("no OpenAPI route for %s %s: %w", req.Method, req.URL.Path, err)
	}
	return &openapi3filter.RequestValidationInput{Request: probe, PathParams: params, Route: route}, nil
}

// Transport returns an http.RoundTripper that sends each request through
// base (http.DefaultTransport when nil) and reports with t.Errorf a request
// or reply that breaks the document, so that a test's admin or gateway
// client checks all its traffic. Replies that are not JSON (a CSV report,
// a backup, the document itself) are checked for their status and content
// type only as far as the document describes them.
func (c *Contract) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		t.Helper()
		var reqBody []byte
		if req.Body != nil {
			var err error
			if reqBody, err = io.ReadAll(req.Body); err != nil {
				return nil, fmt.Errorf("openapitest: read request body: %w", err)
			}
			req.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		probe := req.Clone(req.Context())
		probe.Body = io.NopCloser(bytes.NewReader(reqBody))
		c.CheckRequest(t, probe)
		resp, err := base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("openapitest: read reply body: %w", err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		c.CheckReply(t, req.Method, req.URL.RequestURI(), resp.StatusCode, resp.Header, body)
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

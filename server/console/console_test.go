package console_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/flow/flowtest"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/server/console"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
)

const (
	issuerID = "DEMO"
	token    = "console-test-token"
)

var epoch = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// fixture is a server with the console mounted, over a store holding one
// ended session, a card and an UNCERTAIN purchase.
type fixture struct {
	app   *fiber.App
	store *boltstore.Store
}

func newFixture(t *testing.T, adminToken string) *fixture {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "tes.db"), boltstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	iss := flowtest.NewIssuer(issuerID, "v1", func(context.Context, flow.Input) (flow.Result, error) {
		return flow.Result{Status: flow.StatusOK}, nil
	})
	flows := flowtest.NewRegistry(iss)
	fake := clock.NewFake(epoch)
	eng, err := engine.New(engine.Config{Store: st, Flows: flows, Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Engine: eng, Store: st, Flows: flows, Catalog: catalog{}, Clock: fake, AdminToken: adminToken,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := console.Mount(srv.Admin(), srv.API(), console.Options{}); err != nil {
		t.Fatal(err)
	}
	balance, counter := int64(1000), 7
	err = st.Update(context.Background(), func(tx store.Tx) error {
		if err := tx.PutCard(store.Card{IssuerID: issuerID, CardID: "CARD-1", Status: store.CardActive, ProductCode: 1,
			LastKnownBalance: &balance, LastCounter: &counter, Uncertain: []string{"P-U"}}); err != nil {
			return err
		}
		if err := tx.PutPurchase(store.Purchase{IssuerID: issuerID, PurchaseID: "P-U", CardID: "CARD-1", Amount: 500,
			Kind: store.PurchaseTopUp, Status: store.PurchaseUncertain, ExpectedCounter: 8, SessionID: "S-1"}); err != nil {
			return err
		}
		return tx.PutSession(store.Session{ID: "S-1", IssuerID: issuerID, DeviceID: "DEV-1", Endpoint: "getCardCommands",
			Operation: "TOPUP", CardID: "CARD-1", PurchaseID: "P-U", Version: "v1", Revision: 1, State: store.SessionEnded,
			EndReason: store.EndDeviceFailure, CreatedAt: epoch, LastCallAt: epoch, ExpiresAt: epoch.Add(time.Minute),
			EndedAt: epoch, PurgeAt: epoch.Add(time.Hour), LastReply: store.Reply{StatusCode: 231},
			Trace: []store.TraceEntry{
				{At: epoch, Elapsed: 1500 * time.Microsecond, Step: "poll", Decisions: []string{"start → poll"},
					Commands: []store.Command{{ID: "1.1", Frame: []byte{0x06, 0x00, 0x80, 0xDE, 0x01, 0x00}}}},
				{At: epoch, Step: "read", DeviceCode: 231, Decisions: []string{"when resp.poll.ok → read", "device failure 231"},
					Responses: []store.Command{{ID: "1.1"}}, StatusCode: 231},
			}})
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{app: srv.Admin(), store: st}
}

// testWriter sends the server's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// catalog lists the DEMO issuer as loaded.
type catalog struct{}

func (catalog) Statuses() []flow.IssuerStatus {
	return []flow.IssuerStatus{{IssuerID: issuerID, Version: "v1", LoadedAt: epoch}}
}

func (catalog) Reload(context.Context) error { return nil }

// request is one console request of a table.
type request struct {
	method, path string
	form         url.Values
	header       map[string]string
	cookie       string
}

// do sends r in-process (the caller is not on loopback).
func (f *fixture) do(t *testing.T, r request) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
	}
	req, err := http.NewRequest(r.method, "http://tes.test"+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.cookie != "" {
		req.AddCookie(&http.Cookie{Name: console.CookieName, Value: r.cookie})
	}
	resp, err := f.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func TestConsoleWithToken(t *testing.T) {
	f := newFixture(t, token)
	same := map[string]string{"Origin": "http://tes.test"}
	tests := []struct {
		name     string
		req      request
		want     int
		contains string // in the body, or the Location of a redirect
	}{
		{"home asks to log in", request{method: "GET", path: "/"}, 303, "/login?next=%2F"},
		{"a page asks to log in", request{method: "GET", path: "/sessions?cardId=CARD-1"}, 303, "/login?next=%2Fsessions%3FcardId%3DCARD-1"},
		{"wrong cookie", request{method: "GET", path: "/", cookie: "nope"}, 303, "/login"},
		{"login form", request{method: "GET", path: "/login?next=/audit"}, 200, `name="token"`},
		{"wrong token", request{method: "POST", path: "/login", form: url.Values{"token": {"nope"}}, header: same}, 401, "Wrong token"},
		{"login from another origin", request{method: "POST", path: "/login", form: url.Values{"token": {token}},
			header: map[string]string{"Origin": "http://evil.example"}}, 403, "Origin"},
		{"login", request{method: "POST", path: "/login", form: url.Values{"token": {token}, "next": {"/audit"}}, header: same}, 303, "/audit"},
		{"login keeps the redirect inside", request{method: "POST", path: "/login", form: url.Values{"token": {token}, "next": {"//evil.example/"}}, header: same}, 303, "/"},
		{"home", request{method: "GET", path: "/", cookie: token}, 200, "P-U"},
		{"stylesheet needs no login", request{method: "GET", path: "/console.css"}, 200, "@media print"},
		{"search by card", request{method: "GET", path: "/sessions?cardId=CARD-1", cookie: token}, 200, "/sessions/S-1"},
		{"search with empty fields", request{method: "GET", path: "/sessions?cardId=&issuerId=DEMO&from=&state=", cookie: token}, 200, "/sessions/S-1"},
		{"search by a datetime-local", request{method: "GET", path: "/sessions?from=2026-11-24T01:00", cookie: token}, 200, "/sessions/S-1"},
		{"search by a later time", request{method: "GET", path: "/sessions?from=2026-11-24T03:00", cookie: token}, 200, "No session matches"},
		{"search with a bad value", request{method: "GET", path: "/sessions?statusCode=x", cookie: token}, 400, "statusCode"},
		{"search with an unknown field", request{method: "GET", path: "/sessions?colour=red", cookie: token}, 400, "colour"},
		{"trace", request{method: "GET", path: "/sessions/S-1", cookie: token}, 200, "when resp.poll.ok → read"},
		{"trace pairs the command and the answer", request{method: "GET", path: "/sessions/S-1", cookie: token}, 200, "Polling system=80DE"},
		{"trace shows the device failure", request{method: "GET", path: "/sessions/S-1", cookie: token}, 200, "231 Device unexpected error"},
		{"unknown session", request{method: "GET", path: "/sessions/NOPE", cookie: token}, 404, "session not found"},
		{"purchase", request{method: "GET", path: "/purchases/DEMO/P-U", cookie: token}, 200, `id="resolve-form"`},
		{"unknown purchase", request{method: "GET", path: "/purchases/DEMO/NOPE", cookie: token}, 404, "purchase not found"},
		{"resolve from another origin", request{method: "POST", path: "/purchases/DEMO/P-U/resolve", cookie: token,
			form: url.Values{"outcome": {"APPLIED"}, "reason": {"x"}}, header: map[string]string{"Origin": "http://evil.example"}}, 403, "Origin"},
		{"resolve without Origin or Referer", request{method: "POST", path: "/purchases/DEMO/P-U/resolve", cookie: token,
			form: url.Values{"outcome": {"APPLIED"}, "reason": {"x"}}}, 403, "Origin"},
		{"resolve without the cookie", request{method: "POST", path: "/purchases/DEMO/P-U/resolve",
			form: url.Values{"outcome": {"APPLIED"}, "reason": {"x"}}, header: same}, 401, "Log in"},
		{"resolve without a reason", request{method: "POST", path: "/purchases/DEMO/P-U/resolve", cookie: token,
			form: url.Values{"outcome": {"APPLIED"}}, header: same}, 400, "reason"},
		{"resolve", request{method: "POST", path: "/purchases/DEMO/P-U/resolve", cookie: token,
			form:   url.Values{"outcome": {"APPLIED"}, "reason": {"card lost at the station"}},
			header: map[string]string{"Referer": "http://tes.test/purchases/DEMO/P-U"}}, 303, "/purchases/DEMO/P-U?resolved=1"},
		{"resolve again", request{method: "POST", path: "/purchases/DEMO/P-U/resolve", cookie: token,
			form: url.Values{"outcome": {"PENDING"}, "reason": {"x"}}, header: same}, 409, "not UNCERTAIN"},
		{"purchase after", request{method: "GET", path: "/purchases/DEMO/P-U?resolved=1", cookie: token}, 200, "card lost at the station"},
		{"audit", request{method: "GET", path: "/audit", cookie: token}, 200, "console token@0.0.0.0"},
		{"audit of a target", request{method: "GET", path: "/audit?target=P-U", cookie: token}, 200, "purchase.resolve"},
		{"report", request{method: "GET", path: "/reports/DEMO", cookie: token}, 200, "1,500 yen"},
		{"report as CSV", request{method: "GET", path: "/reports/DEMO?format=csv", cookie: token}, 200, "outstanding,DEMO"},
		{"report with a bad date", request{method: "GET", path: "/reports/DEMO?at=soon", cookie: token}, 400, "at:"},
		{"log out", request{method: "POST", path: "/logout", cookie: token, header: same}, 303, "/login"},
		{"an unknown admin path stays the API's", request{method: "GET", path: "/admin/v1/nowhere"}, 401, `"error"`},
		{"an unknown path is a 404", request{method: "GET", path: "/nowhere"}, 404, `"error"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(t, tt.req)
			got := body
			if resp.StatusCode == 303 {
				got = resp.Header.Get("Location")
			}
			if resp.StatusCode != tt.want || !strings.Contains(got, tt.contains) {
				t.Errorf("HTTP %d, want %d with %q; got %.600s", resp.StatusCode, tt.want, tt.contains, got)
			}
			if strings.Contains(body, token) && tt.req.path != "/login" {
				t.Errorf("the token is in the page")
			}
			if ct := resp.Header.Get("Content-Type"); resp.StatusCode == 200 && strings.HasPrefix(ct, "text/html") &&
				!strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'none'") {
				t.Errorf("page without the CSP header")
			}
		})
	}
	t.Run("cookie", func(t *testing.T) {
		resp, _ := f.do(t, request{method: "POST", path: "/login", form: url.Values{"token": {token}}, header: same})
		set := resp.Header.Get("Set-Cookie")
		for _, want := range []string{console.CookieName + "=", "httponly", "samesite=strict", "path=/"} {
			if !strings.Contains(strings.ToLower(set), strings.ToLower(want)) {
				t.Errorf("Set-Cookie %q lacks %q", set, want)
			}
		}
	})
}

// TestConsoleLoopbackOnly: without a token, a caller that is not on
// loopback gets 403 on every page; one on loopback is served.
func TestConsoleLoopbackOnly(t *testing.T) {
	f := newFixture(t, "")
	for _, path := range []string{"/", "/sessions", "/sessions/S-1", "/purchases/DEMO/P-U", "/audit", "/reports/DEMO"} {
		if resp, _ := f.do(t, request{method: "GET", path: path}); resp.StatusCode != 403 {
			t.Errorf("GET %s from 0.0.0.0: HTTP %d, want 403", path, resp.StatusCode)
		}
	}
	resp, _ := f.do(t, request{method: "POST", path: "/purchases/DEMO/P-U/resolve", form: url.Values{"outcome": {"APPLIED"}, "reason": {"x"}},
		header: map[string]string{"Origin": "http://tes.test"}})
	if resp.StatusCode != 403 {
		t.Errorf("POST resolve from 0.0.0.0: HTTP %d, want 403", resp.StatusCode)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = f.app.Listener(ln) }()
	t.Cleanup(func() { _ = f.app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()
	for _, path := range []string{"/", "/sessions?cardId=CARD-1", "/sessions/S-1", "/purchases/DEMO/P-U", "/audit", "/reports/DEMO"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s from loopback: HTTP %d", path, resp.StatusCode)
		}
	}
	if resp, err := http.Get(base + "/login"); err != nil || resp.Request.URL.Path != "/" {
		t.Errorf("/login without a token should lead home: %v %v", err, resp.Request.URL)
	}
}

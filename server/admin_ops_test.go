package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/server/openapitest"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
)

func withLogLevel(lv *slog.LevelVar) stackOption {
	return func(c *server.Config) { c.LogLevel = lv }
}

// adminRequest is one admin call of a table.
type adminRequest struct {
	method, path, body string
	header             map[string]string
}

// send runs r against the admin app with the admin token, checks the
// request and the reply against the OpenAPI document, and returns the
// status and raw body.
func (s *stack) send(t *testing.T, api *openapitest.Contract, r adminRequest) (int, []byte, http.Header) {
	t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(r.method, "http://tes.test"+r.path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	probe := req.Clone(context.Background())
	probe.Body = io.NopCloser(strings.NewReader(r.body))
	resp, err := s.server.Admin().Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if api != nil {
		// A request the server accepted must be one the document allows;
		// refused ones are often refused on purpose.
		if resp.StatusCode < 400 {
			api.CheckRequest(t, probe)
		}
		api.CheckReply(t, r.method, r.path, resp.StatusCode, resp.Header, raw)
	}
	return resp.StatusCode, raw, resp.Header
}

// seedUncertain stores purchase P-U of CARD-1, UNCERTAIN after a write that
// would leave counter 8, the card's balance 1000 at counter 7.
func (s *stack) seedUncertain(t *testing.T, purchaseID string) {
	t.Helper()
	balance, counter := int64(1000), 7
	err := s.store.Update(context.Background(), func(tx store.Tx) error {
		c, err := tx.Card(issuerID, cardID)
		if err != nil {
			return err
		}
		c.LastKnownBalance, c.LastCounter = &balance, &counter
		c.Uncertain = append(c.Uncertain, purchaseID)
		if err := tx.PutCard(c); err != nil {
			return err
		}
		return tx.PutPurchase(store.Purchase{IssuerID: issuerID, PurchaseID: purchaseID, CardID: cardID, Amount: 500,
			Kind: store.PurchaseTopUp, Status: store.PurchaseUncertain, ExpectedCounter: 8, SessionID: "S-LOST", UpdatedAt: epoch})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAdminPurchasesAndResolve(t *testing.T) {
	api := openapitest.New(t)
	s := newStack(t, withAdminToken(adminToken))
	s.seedUncertain(t, "P-U")
	s.seedUncertain(t, "P-U2")
	resolve := "/admin/v1/issuers/DEMO/purchases/P-U/resolve"
	tests := []struct {
		name    string
		req     adminRequest
		want    int
		contain string
	}{
		{"uncertain list", adminRequest{method: "GET", path: "/admin/v1/issuers/DEMO/purchases?status=UNCERTAIN"}, 200, `"purchaseId":"P-U"`},
		{"pending list", adminRequest{method: "GET", path: "/admin/v1/issuers/DEMO/purchases?status=PENDING"}, 200, `"purchaseId":"P-1"`},
		{"bad status", adminRequest{method: "GET", path: "/admin/v1/issuers/DEMO/purchases?status=LOST"}, 400, "status"},
		{"unknown parameter", adminRequest{method: "GET", path: "/admin/v1/issuers/DEMO/purchases?state=UNCERTAIN"}, 400, "state"},
		{"bad limit", adminRequest{method: "GET", path: "/admin/v1/issuers/DEMO/purchases?limit=0"}, 400, "limit"},
		{"resolve without reason", adminRequest{method: "POST", path: resolve, body: `{"outcome":"APPLIED"}`}, 400, "reason"},
		{"resolve with a blank reason", adminRequest{method: "POST", path: resolve, body: `{"outcome":"APPLIED","reason":"  "}`}, 400, "reason"},
		{"resolve to UNCERTAIN", adminRequest{method: "POST", path: resolve, body: `{"outcome":"UNCERTAIN","reason":"x"}`}, 400, "outcome"},
		{"resolve with an unknown field", adminRequest{method: "POST", path: resolve, body: `{"outcome":"APPLIED","reason":"x","amount":1}`}, 400, "amount"},
		{"resolve an unknown purchase", adminRequest{method: "POST", path: "/admin/v1/issuers/DEMO/purchases/NOPE/resolve", body: `{"outcome":"APPLIED","reason":"x"}`}, 404, "purchase"},
		{"resolve a PENDING purchase", adminRequest{method: "POST", path: "/admin/v1/issuers/DEMO/purchases/P-1/resolve", body: `{"outcome":"APPLIED","reason":"x"}`}, 409, "UNCERTAIN"},
		{"resolve from another origin", adminRequest{method: "POST", path: resolve, body: `{"outcome":"APPLIED","reason":"x"}`,
			header: map[string]string{"Origin": "http://evil.example"}}, 403, "origin"},
		{"resolve APPLIED", adminRequest{method: "POST", path: resolve, body: `{"outcome":"APPLIED","reason":"card lost; the TSH log shows the write answered"}`,
			header: map[string]string{"Origin": "http://tes.test"}}, 200, `"status":"APPLIED"`},
		{"resolve again", adminRequest{method: "POST", path: resolve, body: `{"outcome":"PENDING","reason":"x"}`}, 409, "UNCERTAIN"},
		{"resolve the other PENDING", adminRequest{method: "POST", path: "/admin/v1/issuers/DEMO/purchases/P-U2/resolve", body: `{"outcome":"PENDING","reason":"write never reached the card"}`}, 200, `"status":"PENDING"`},
		{"uncertain list after", adminRequest{method: "GET", path: "/admin/v1/issuers/DEMO/purchases?status=UNCERTAIN"}, 200, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, raw, _ := s.send(t, api, tt.req)
			if code != tt.want || !strings.Contains(string(raw), tt.contain) {
				t.Errorf("HTTP %d %s, want %d containing %q", code, raw, tt.want, tt.contain)
			}
		})
	}
	var card store.Card
	if err := s.store.View(context.Background(), func(tx store.Tx) error {
		var err error
		card, err = tx.Card(issuerID, cardID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(card.Uncertain) != 0 || card.LastKnownBalance == nil || *card.LastKnownBalance != 1500 || *card.LastCounter != 8 {
		t.Errorf("card after resolving: uncertain %v, balance %v", card.Uncertain, *card.LastKnownBalance)
	}
	code, raw, _ := s.send(t, api, adminRequest{method: "GET", path: "/admin/v1/audit?issuerId=DEMO&target=P-U"})
	var page server.AuditPage
	if err := json.Unmarshal(raw, &page); code != 200 || err != nil || len(page.Entries) != 1 {
		t.Fatalf("audit of P-U: HTTP %d %s", code, raw)
	}
	e := page.Entries[0]
	if e.Action != "purchase.resolve" || e.Actor != "token@0.0.0.0" || !strings.Contains(e.Reason, "card lost") ||
		!strings.Contains(string(e.Before), `"UNCERTAIN"`) || !strings.Contains(string(e.After), `"APPLIED"`) {
		t.Errorf("audit entry %+v", e)
	}
}

func TestAdminAudit(t *testing.T) {
	api := openapitest.New(t)
	lv := new(slog.LevelVar)
	s := newStack(t, withAdminToken(adminToken), withLogLevel(lv))
	changes := []struct {
		req            adminRequest
		action, target string
		before, after  string // substrings; "null" for none
	}{
		{adminRequest{method: "PUT", path: "/admin/v1/issuers/DEMO/cards/CARD-9", body: `{"status":"ACTIVE","productCode":1}`,
			header: map[string]string{"X-Audit-Reason": "new card"}}, "card.put", "CARD-9", "null", `"status":"ACTIVE"`},
		{adminRequest{method: "PUT", path: "/admin/v1/issuers/DEMO/cards/CARD-9", body: `{"status":"BLACKLISTED","productCode":1}`},
			"card.put", "CARD-9", `"status":"ACTIVE"`, `"status":"BLACKLISTED"`},
		{adminRequest{method: "PUT", path: "/admin/v1/issuers/DEMO/purchases/P-9", body: `{"cardId":"CARD-9","amount":700,"kind":"TOPUP"}`},
			"purchase.put", "P-9", "null", `"amount":700`},
		{adminRequest{method: "PUT", path: "/admin/v1/issuers/DEMO/blacklist/0102030405060708"},
			"blacklist.put", "0102030405060708", `"blacklisted":false`, `"blacklisted":true`},
		{adminRequest{method: "DELETE", path: "/admin/v1/issuers/DEMO/blacklist/0102030405060708"},
			"blacklist.delete", "0102030405060708", `"blacklisted":true`, `"blacklisted":false`},
		{adminRequest{method: "PUT", path: "/admin/v1/loglevel", body: `{"level":"debug"}`},
			"loglevel", "", `"level":"info"`, `"level":"debug"`},
	}
	for _, ch := range changes {
		if code, raw, _ := s.send(t, api, ch.req); code != 200 && code != 201 {
			t.Fatalf("%s %s: HTTP %d %s", ch.req.method, ch.req.path, code, raw)
		}
	}
	if lv.Level() != slog.LevelDebug {
		t.Errorf("log level is %v after PUT debug", lv.Level())
	}
	// Newest first, in pages of 4.
	var entries []server.AuditView
	path := "/admin/v1/audit?limit=4"
	for range 5 {
		code, raw, _ := s.send(t, api, adminRequest{method: "GET", path: path})
		var page server.AuditPage
		if err := json.Unmarshal(raw, &page); code != 200 || err != nil {
			t.Fatalf("audit: HTTP %d %s", code, raw)
		}
		entries = append(entries, page.Entries...)
		if page.NextCursor == "" {
			break
		}
		path = "/admin/v1/audit?limit=4&cursor=" + page.NextCursor
	}
	if len(entries) != len(changes) {
		t.Fatalf("%d audit entries, want %d: %+v", len(entries), len(changes), entries)
	}
	for i, ch := range changes {
		e := entries[len(entries)-1-i]
		if e.Action != ch.action || e.Target != ch.target || e.Actor != "token@0.0.0.0" ||
			!strings.Contains(string(e.Before), ch.before) || !strings.Contains(string(e.After), ch.after) {
			t.Errorf("entry for %s %s: %+v (before %s after %s)", ch.req.method, ch.req.path, e, e.Before, e.After)
		}
		if strings.Contains(string(e.Before)+string(e.After)+e.Actor+e.Reason, adminToken) {
			t.Errorf("the token is in the audit log: %+v", e)
		}
	}
	if entries[len(entries)-1].Reason != "new card" {
		t.Errorf("reason of the first change: %q", entries[len(entries)-1].Reason)
	}
	for _, tt := range []struct{ req adminRequest }{
		{adminRequest{method: "GET", path: "/admin/v1/audit?limit=0"}},
		{adminRequest{method: "GET", path: "/admin/v1/audit?who=me"}},
		{adminRequest{method: "GET", path: "/admin/v1/audit?cursor=%21"}},
		{adminRequest{method: "PUT", path: "/admin/v1/loglevel", body: `{"level":"verbose"}`}},
	} {
		if code, raw, _ := s.send(t, api, tt.req); code != 400 {
			t.Errorf("%s %s: HTTP %d %s, want 400", tt.req.method, tt.req.path, code, raw)
		}
	}
}

// TestAdminCrossOrigin: a change that a browser sends from another origin
// is refused before it is authorized or applied; reads and same-origin
// changes pass.
func TestAdminCrossOrigin(t *testing.T) {
	s := newStack(t, withAdminToken(adminToken))
	tests := []struct {
		name   string
		method string
		header map[string]string
		want   int
	}{
		{"other origin", "PUT", map[string]string{"Origin": "http://evil.example"}, 403},
		{"null origin", "PUT", map[string]string{"Origin": "null"}, 403},
		{"cross-site fetch", "PUT", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"same origin", "PUT", map[string]string{"Origin": "http://tes.test"}, 200},
		{"no origin (curl)", "PUT", nil, 200},
		{"read from another origin", "GET", map[string]string{"Origin": "http://evil.example"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.method == "PUT" {
				body = `{"status":"ACTIVE","productCode":1}`
			}
			code, raw, _ := s.send(t, nil, adminRequest{method: tt.method, path: "/admin/v1/issuers/DEMO/cards/CARD-1", body: body, header: tt.header})
			if code != tt.want {
				t.Errorf("HTTP %d %s, want %d", code, raw, tt.want)
			}
		})
	}
}

func TestAdminReport(t *testing.T) {
	api := openapitest.New(t)
	s := newStack(t, withAdminToken(adminToken))
	i64 := func(v int64) *int64 { return &v }
	err := s.store.Update(context.Background(), func(tx store.Tx) error {
		for _, c := range []store.Card{
			{IssuerID: issuerID, CardID: "C-A", Status: store.CardActive, LastKnownBalance: i64(1000)},
			{IssuerID: issuerID, CardID: "C-B", Status: store.CardActive, LastKnownBalance: i64(700), ParkedBalance: i64(700)},
		} {
			if err := tx.PutCard(c); err != nil {
				return err
			}
		}
		for _, a := range []store.Account{
			{IssuerID: issuerID, CardAccountID: "A-1", IDm: "0000000000000001", Balance: 300, CreatedAt: epoch},
			{IssuerID: issuerID, CardAccountID: "A-2", IDm: "0000000000000002", Balance: 50, CreatedAt: epoch, Pending: true},
		} {
			if err := tx.PutAccount(a); err != nil {
				return err
			}
		}
		for _, p := range []store.Purchase{
			{IssuerID: issuerID, PurchaseID: "AP-1", CardID: "C-A", Amount: 500, Kind: store.PurchaseTopUp, Status: store.PurchaseApplied, UpdatedAt: epoch.AddDate(0, 0, -1)},
			{IssuerID: issuerID, PurchaseID: "AP-2", CardID: "C-A", Amount: 200, Kind: store.PurchaseRefund, Status: store.PurchaseApplied, UpdatedAt: epoch.AddDate(0, 0, -1)},
			{IssuerID: issuerID, PurchaseID: "AP-3", CardID: "C-A", Amount: 100, Kind: store.PurchaseTopUp, Status: store.PurchaseApplied, UpdatedAt: epoch},
			{IssuerID: issuerID, PurchaseID: "UP-1", CardID: "C-A", Amount: 900, Kind: store.PurchaseTopUp, Status: store.PurchaseUncertain},
		} {
			if err := tx.PutPurchase(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	yesterday := epoch.AddDate(0, 0, -1).Format("2006-01-02")
	code, raw, _ := s.send(t, api, adminRequest{method: "GET", path: "/admin/v1/issuers/DEMO/report?at=" + yesterday})
	var r server.Report
	if err := json.Unmarshal(raw, &r); code != 200 || err != nil {
		t.Fatalf("report: HTTP %d %s", code, raw)
	}
	o := r.Outstanding
	// CARD-1 of the stack has no balance.
	if o.Cards != 3 || o.CardBalances != 1000 || o.ParkedBalances != 700 || o.AccountBalances != 300 ||
		o.PendingAccountBalances != 50 || o.CardsWithoutBalance != 1 || o.Total != 2000 {
		t.Errorf("outstanding %+v", o)
	}
	if len(r.Uncertain) != 1 || r.UncertainTopUp != 900 {
		t.Errorf("uncertain %+v %d", r.Uncertain, r.UncertainTopUp)
	}
	if len(r.AppliedPerDay) != 1 || r.AppliedPerDay[0] != (server.DayTotals{Date: yesterday, TopUps: 1, TopUpAmount: 500, Refunds: 1, RefundAmount: 200, Net: 300}) {
		t.Errorf("applied per day %+v", r.AppliedPerDay)
	}
	if r.AppliedAfterAt.TopUpAmount != 100 {
		t.Errorf("applied after at %+v", r.AppliedAfterAt)
	}
	for _, req := range []adminRequest{
		{method: "GET", path: "/admin/v1/issuers/DEMO/report?format=csv"},
		{method: "GET", path: "/admin/v1/issuers/DEMO/report", header: map[string]string{"Accept": "text/csv"}},
	} {
		code, raw, header := s.send(t, api, req)
		if code != 200 || !strings.HasPrefix(header.Get("Content-Type"), "text/csv") ||
			!bytes.Contains(raw, []byte("outstanding,DEMO,")) || !bytes.Contains(raw, []byte(",total,,,,2000")) {
			t.Errorf("CSV: HTTP %d %s\n%s", code, header.Get("Content-Type"), raw)
		}
	}
	for _, q := range []string{"at=tomorrow", "tz=Mars/Olympus", "format=xml", "when=now"} {
		if code, raw, _ := s.send(t, api, adminRequest{method: "GET", path: "/admin/v1/issuers/DEMO/report?" + q}); code != 400 {
			t.Errorf("%s: HTTP %d %s", q, code, raw)
		}
	}
}

func TestAdminBackupAndDocument(t *testing.T) {
	api := openapitest.New(t)
	s := newStack(t, withAdminToken(adminToken))
	code, raw, header := s.send(t, api, adminRequest{method: "GET", path: "/admin/v1/backup"})
	if code != 200 || header.Get("Content-Length") == "" {
		t.Fatalf("backup: HTTP %d, Content-Length %q", code, header.Get("Content-Length"))
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	copied, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		t.Fatalf("open the backup: %v", err)
	}
	defer copied.Close()
	if err := copied.View(context.Background(), func(tx store.Tx) error {
		_, err := tx.Card(issuerID, cardID)
		return err
	}); err != nil {
		t.Errorf("the backup lacks the seeded card: %v", err)
	}
	code, raw, _ = s.send(t, api, adminRequest{method: "GET", path: "/admin/v1/openapi.yaml"})
	if code != 200 || !bytes.Equal(raw, server.OpenAPI()) {
		t.Errorf("openapi.yaml: HTTP %d", code)
	}
	if code, _, _ := s.send(t, api, adminRequest{method: "GET", path: "/admin/v1/loglevel"}); code != 501 {
		t.Errorf("log level without a LevelVar: HTTP %d, want 501", code)
	}
}

// runtimeCatalog is an issuer whose scripts failed at run time.
type runtimeCatalog struct{}

func (runtimeCatalog) Statuses() []flow.IssuerStatus {
	return []flow.IssuerStatus{
		{IssuerID: "DEMO", Version: "h1", LoadedAt: epoch, RuntimeErrors: 2, LastRuntimeError: "read.lua:3: step read: boom",
			LastRuntimeErrorAt: epoch, LastRuntimeErrorOperation: "READ"},
		{IssuerID: "ZETA", Version: "h2", LoadedAt: epoch},
	}
}

func (runtimeCatalog) Reload(context.Context) error { return nil }

// TestRuntimeErrors: a step that fails at run time is counted per issuer
// and operation, and the catalog's count and last message show on the
// issuer's entry.
func TestRuntimeErrors(t *testing.T) {
	reg := prometheus.NewRegistry()
	obs, err := server.NewObserver(reg)
	if err != nil {
		t.Fatal(err)
	}
	s := newStack(t, withAdminToken(adminToken), withCatalog(runtimeCatalog{}), func(c *server.Config) { c.Metrics = reg })
	obs.StepDone("DEMO", "TOPUP", 3*time.Millisecond, nil)
	obs.StepDone("DEMO", "TOPUP", 2*time.Millisecond, errors.New("money.lua:12: attempt to index a nil value"))
	obs.StepDone("DEMO", "READ", time.Millisecond, errors.New("read.lua:3: boom"))
	code, raw, _ := s.send(t, openapitest.New(t), adminRequest{method: "GET", path: "/admin/v1/issuers"})
	var issuers []server.IssuerView
	if err := json.Unmarshal(raw, &issuers); code != 200 || err != nil {
		t.Fatalf("issuers: HTTP %d %s", code, raw)
	}
	for _, iss := range issuers {
		switch iss.IssuerID {
		case "DEMO":
			if iss.RuntimeErrors != 2 || iss.LastRuntimeError != "read.lua:3: step read: boom" || iss.LastRuntimeErrorOperation != "READ" {
				t.Errorf("DEMO's run-time errors: %+v", iss)
			}
		default:
			if iss.RuntimeErrors != 0 {
				t.Errorf("%s has run-time errors %+v", iss.IssuerID, iss)
			}
		}
	}
	for _, tt := range []struct {
		operation string
		errors    float64
	}{{"TOPUP", 1}, {"READ", 1}} {
		if got := testutil.ToFloat64(mustCollector(t, reg, "tes_script_errors_total", tt.operation)); got != tt.errors {
			t.Errorf("tes_script_errors_total %s = %v, want %v", tt.operation, got, tt.errors)
		}
	}
}

// mustCollector finds the counter of a metric family for issuer DEMO and
// the operation.
func mustCollector(t *testing.T, reg *prometheus.Registry, name, operation string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["issuer"] == "DEMO" && labels["operation"] == operation {
				c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
				c.Add(m.GetCounter().GetValue())
				return c
			}
		}
	}
	t.Fatalf("no %s{issuer=DEMO,operation=%s}", name, operation)
	return nil
}

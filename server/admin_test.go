package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
)

const adminToken = "s3cret-token"

// adminCall sends one request to the admin app in-process; auth is the
// Authorization header ("" for none).
func (s *stack) admin(t *testing.T, method, path, auth, payload string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://tes.test"+path, strings.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.server.Admin().Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return decodeAdmin(t, resp)
}

func decodeAdmin(t *testing.T, resp *http.Response) (int, map[string]any, http.Header) {
	t.Helper()
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q: %s", ct, raw)
	}
	var m map[string]any
	if raw[0] == '{' {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("not JSON: %s", raw)
		}
	} else {
		var l []any
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("not JSON: %s", raw)
		}
		m = map[string]any{"list": l}
	}
	return resp.StatusCode, m, resp.Header
}

func (s *stack) authed(t *testing.T, method, path, payload string) (int, map[string]any) {
	t.Helper()
	code, m, _ := s.admin(t, method, path, "Bearer "+adminToken, payload)
	return code, m
}

func TestAdminAuthWithToken(t *testing.T) {
	s := newStack(t, withAdminToken(adminToken))
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{"no Authorization", "/admin/v1/issuers", "", 401},
		{"wrong token", "/admin/v1/issuers", "Bearer nope", 401},
		{"token with a suffix", "/admin/v1/issuers", "Bearer " + adminToken + "x", 401},
		{"token prefix only", "/admin/v1/issuers", "Bearer " + adminToken[:4], 401},
		{"basic scheme", "/admin/v1/issuers", "Basic " + adminToken, 401},
		{"scheme only", "/admin/v1/issuers", "Bearer ", 401},
		{"metrics need the token", "/metrics", "", 401},
		{"bearer token", "/admin/v1/issuers", "Bearer " + adminToken, 200},
		{"scheme is case-insensitive", "/admin/v1/issuers", "bearer " + adminToken, 200},
		{"healthz is open", "/healthz", "", 200},
		{"readyz is open", "/readyz", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, "http://tes.test"+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := s.server.Admin().Test(req, -1)
			if err != nil {
				t.Fatal(err)
			}
			code, body, header := decodeAdmin(t, resp)
			if code != tt.want {
				t.Fatalf("HTTP %d, want %d: %v", code, tt.want, body)
			}
			if code == 401 {
				if body["error"] == "" || header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without error or challenge: %v %v", body, header)
				}
			}
		})
	}
}

func TestAdminAuthLoopbackOnly(t *testing.T) {
	s := newStack(t)
	// app.Test's connection comes from 0.0.0.0: not loopback.
	code, refusal, _ := s.admin(t, http.MethodGet, "/admin/v1/issuers", "", "")
	if code != 403 || refusal["error"] == nil {
		t.Fatalf("remote caller: HTTP %d %v", code, refusal)
	}
	code, _, _ = s.admin(t, http.MethodGet, "/admin/v1/issuers", "Bearer anything", "")
	if code != 403 {
		t.Fatalf("a token does not open the loopback-only API: HTTP %d", code)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://tes.test/metrics", nil)
	if resp, err := s.server.Admin().Test(req, -1); err != nil || resp.StatusCode != 403 {
		t.Fatalf("remote /metrics: %v %v", resp, err)
	}

	url := listen(t, s.server.Admin())
	if list := adminGetList(t, url, "/admin/v1/issuers"); len(list) != 0 {
		t.Fatalf("no catalog, issuers %v", list)
	}
	s.do(t, call{endpoint: "getCardCommands", noActor: true, body: body(cardBase, nil)})
	if text := adminText(t, url, "/metrics"); !strings.Contains(text, `tes_gateway_requests_total{endpoint="getCardCommands",issuer="",operation="",status_code="111"} 1`) {
		t.Fatalf("metrics from loopback: %s", text)
	}
}

func TestAdminCards(t *testing.T) {
	s := newStack(t, withAdminToken(adminToken))
	code, body := s.authed(t, http.MethodPut, "/admin/v1/issuers/DEMO/cards/CARD-9", `{"status":"ACTIVE","productCode":2,"deviceId":"DEV-9","expiry":"2030-12-31"}`)
	if code != 201 || body["status"] != "ACTIVE" || body["productCode"] != 2.0 || body["deviceId"] != "DEV-9" || body["expiry"] != "2030-12-31" {
		t.Fatalf("create: HTTP %d %v", code, body)
	}
	code, body = s.authed(t, http.MethodGet, "/admin/v1/issuers/DEMO/cards/CARD-9", "")
	if code != 200 || body["lastKnownBalance"] != nil || body["parkedBalance"] != nil {
		t.Fatalf("get: HTTP %d %v", code, body)
	}
	if _, ok := body["lastKnownBalance"]; !ok {
		t.Errorf("GET lacks lastKnownBalance: %v", body)
	}

	// Balances are the engine's: an update keeps them.
	balance, parked := int64(700), int64(300)
	if err := s.store.Update(context.Background(), func(tx store.Tx) error {
		c, err := tx.Card(issuerID, "CARD-9")
		if err != nil {
			return err
		}
		c.LastKnownBalance, c.ParkedBalance = &balance, &parked
		return tx.PutCard(c)
	}); err != nil {
		t.Fatal(err)
	}
	code, body = s.authed(t, http.MethodPut, "/admin/v1/issuers/DEMO/cards/CARD-9", `{"status":"BLACKLISTED","productCode":1}`)
	if code != 200 || body["status"] != "BLACKLISTED" || body["lastKnownBalance"] != 700.0 || body["parkedBalance"] != 300.0 || body["deviceId"] != "" {
		t.Fatalf("update: HTTP %d %v", code, body)
	}
	if err := s.store.Update(context.Background(), func(tx store.Tx) error {
		c, err := tx.Card(issuerID, "CARD-9")
		if err != nil {
			return err
		}
		c.PendingPark = &store.PendingPark{Balance: 700, Counter: 7, SessionID: "S-PARK"}
		return tx.PutCard(c)
	}); err != nil {
		t.Fatal(err)
	}
	code, body = s.authed(t, http.MethodGet, "/admin/v1/issuers/DEMO/cards/CARD-9", "")
	if pending, _ := body["pendingPark"].(map[string]any); code != 200 || pending["balance"] != 700.0 || pending["counter"] != 7.0 || pending["sessionId"] != "S-PARK" {
		t.Fatalf("card with a pending park: HTTP %d %v", code, body)
	}
	code, body = s.authed(t, http.MethodGet, "/admin/v1/issuers/DEMO/cards/NOPE", "")
	if code != 404 || body["error"] == nil {
		t.Fatalf("unknown card: HTTP %d %v", code, body)
	}

	bad := []struct{ name, path, body string }{
		{"status missing", "CARD-9", `{"productCode":1}`},
		{"status unknown", "CARD-9", `{"status":"FROZEN","productCode":1}`},
		{"status lower case", "CARD-9", `{"status":"active","productCode":1}`},
		{"productCode missing", "CARD-9", `{"status":"ACTIVE"}`},
		{"productCode negative", "CARD-9", `{"status":"ACTIVE","productCode":-1}`},
		{"productCode over a byte", "CARD-9", `{"status":"ACTIVE","productCode":256}`},
		{"productCode a fraction", "CARD-9", `{"status":"ACTIVE","productCode":1.5}`},
		{"productCode a string", "CARD-9", `{"status":"ACTIVE","productCode":"1"}`},
		{"expiry not a date", "CARD-9", `{"status":"ACTIVE","productCode":1,"expiry":"2030-13-01"}`},
		{"expiry not padded", "CARD-9", `{"status":"ACTIVE","productCode":1,"expiry":"2030-1-1"}`},
		{"expiry a timestamp", "CARD-9", `{"status":"ACTIVE","productCode":1,"expiry":"2030-12-31T00:00:00Z"}`},
		{"deviceId too long", "CARD-9", `{"status":"ACTIVE","productCode":1,"deviceId":"` + strings.Repeat("d", 49) + `"}`},
		{"deviceId with a control", "CARD-9", `{"status":"ACTIVE","productCode":1,"deviceId":"d\u0007"}`},
		{"unknown field", "CARD-9", `{"status":"ACTIVE","productCode":1,"balance":100}`},
		{"malformed JSON", "CARD-9", `{"status":`},
		{"two objects", "CARD-9", `{"status":"ACTIVE","productCode":1}{}`},
		{"array", "CARD-9", `[]`},
		{"cardId too long", strings.Repeat("c", 49), `{"status":"ACTIVE","productCode":1}`},
		{"cardId with an escaped control", "C%01", `{"status":"ACTIVE","productCode":1}`},
	}
	for _, tt := range bad {
		before := s.snapshot(t)
		code, body := s.authed(t, http.MethodPut, "/admin/v1/issuers/DEMO/cards/"+tt.path, tt.body)
		if code != 400 || body["error"] == nil || body["error"] == "" {
			t.Errorf("%s: HTTP %d %v", tt.name, code, body)
		}
		if s.snapshot(t) != before {
			t.Errorf("%s: the store changed", tt.name)
		}
	}
	code, _ = s.authed(t, http.MethodPut, "/admin/v1/issuers/ISSUER0123456789X/cards/CARD-9", `{"status":"ACTIVE","productCode":1}`)
	if code != 400 {
		t.Errorf("issuerId too long: HTTP %d", code)
	}
}

func TestAdminPurchases(t *testing.T) {
	s := newStack(t, withAdminToken(adminToken))
	code, body := s.authed(t, http.MethodPut, "/admin/v1/issuers/DEMO/purchases/P-9", `{"cardId":"CARD-1","amount":500,"kind":"TOPUP"}`)
	if code != 201 || body["status"] != "PENDING" || body["amount"] != 500.0 || body["kind"] != "TOPUP" {
		t.Fatalf("create: HTTP %d %v", code, body)
	}
	code, body = s.authed(t, http.MethodPut, "/admin/v1/issuers/DEMO/purchases/P-9", `{"cardId":"CARD-1","amount":300,"kind":"REFUND"}`)
	if code != 200 || body["status"] != "PENDING" || body["amount"] != 300.0 || body["kind"] != "REFUND" {
		t.Fatalf("update while pending: HTTP %d %v", code, body)
	}
	for _, status := range []store.PurchaseStatus{store.PurchaseApplied, store.PurchaseUncertain} {
		if err := s.store.Update(context.Background(), func(tx store.Tx) error {
			p, err := tx.Purchase(issuerID, "P-9")
			if err != nil {
				return err
			}
			p.Status = status
			return tx.PutPurchase(p)
		}); err != nil {
			t.Fatal(err)
		}
		before := s.snapshot(t)
		code, body = s.authed(t, http.MethodPut, "/admin/v1/issuers/DEMO/purchases/P-9", `{"cardId":"CARD-1","amount":300,"kind":"REFUND"}`)
		if code != 409 || !strings.Contains(body["error"].(string), string(status)) {
			t.Errorf("%s: HTTP %d %v", status, code, body)
		}
		code, body = s.authed(t, http.MethodGet, "/admin/v1/issuers/DEMO/purchases/P-9", "")
		if code != 200 || body["status"] != string(status) {
			t.Errorf("%s was reset: HTTP %d %v", status, code, body)
		}
		if s.snapshot(t) != before {
			t.Errorf("%s: the store changed", status)
		}
	}
	code, body = s.authed(t, http.MethodGet, "/admin/v1/issuers/DEMO/purchases/NOPE", "")
	if code != 404 || body["error"] == nil {
		t.Fatalf("unknown purchase: HTTP %d %v", code, body)
	}
	bad := []struct{ name, body string }{
		{"amount zero", `{"cardId":"CARD-1","amount":0,"kind":"TOPUP"}`},
		{"amount negative", `{"cardId":"CARD-1","amount":-5,"kind":"TOPUP"}`},
		{"amount a fraction", `{"cardId":"CARD-1","amount":1.5,"kind":"TOPUP"}`},
		{"amount a string", `{"cardId":"CARD-1","amount":"500","kind":"TOPUP"}`},
		{"amount missing", `{"cardId":"CARD-1","kind":"TOPUP"}`},
		{"kind unknown", `{"cardId":"CARD-1","amount":5,"kind":"GIFT"}`},
		{"kind missing", `{"cardId":"CARD-1","amount":5}`},
		{"cardId empty", `{"cardId":"","amount":5,"kind":"TOPUP"}`},
		{"cardId too long", `{"cardId":"` + strings.Repeat("c", 49) + `","amount":5,"kind":"TOPUP"}`},
		{"unknown field", `{"cardId":"CARD-1","amount":5,"kind":"TOPUP","status":"APPLIED"}`},
	}
	for _, tt := range bad {
		code, body := s.authed(t, http.MethodPut, "/admin/v1/issuers/DEMO/purchases/P-10", tt.body)
		if code != 400 || body["error"] == nil {
			t.Errorf("%s: HTTP %d %v", tt.name, code, body)
		}
	}
	code, _ = s.authed(t, http.MethodPut, "/admin/v1/issuers/DEMO/purchases/"+strings.Repeat("p", 65), `{"cardId":"CARD-1","amount":5,"kind":"TOPUP"}`)
	if code != 400 {
		t.Errorf("purchaseId of 65: HTTP %d", code)
	}
}

func TestAdminBlacklistAndAccounts(t *testing.T) {
	s := newStack(t, withAdminToken(adminToken))
	lower := strings.ToLower("0A0B0C0D0E0F1011")
	code, body := s.authed(t, http.MethodPut, "/admin/v1/issuers/DEMO/blacklist/"+lower, "")
	if code != 200 || body["idm"] != "0A0B0C0D0E0F1011" || body["blacklisted"] != true {
		t.Fatalf("PUT: HTTP %d %v", code, body)
	}
	var on bool
	_ = s.store.View(context.Background(), func(tx store.Tx) error {
		on, _ = tx.Blacklisted(issuerID, "0A0B0C0D0E0F1011")
		return nil
	})
	if !on {
		t.Fatal("the store does not have the upper-case IDm blacklisted")
	}
	if code, body = s.authed(t, http.MethodGet, "/admin/v1/issuers/DEMO/blacklist/0A0B0C0D0E0F1011", ""); code != 200 || body["blacklisted"] != true {
		t.Fatalf("GET: HTTP %d %v", code, body)
	}
	if code, body = s.authed(t, http.MethodDelete, "/admin/v1/issuers/DEMO/blacklist/0A0B0C0D0E0F1011", ""); code != 200 || body["blacklisted"] != false {
		t.Fatalf("DELETE: HTTP %d %v", code, body)
	}
	if code, body = s.authed(t, http.MethodGet, "/admin/v1/issuers/DEMO/blacklist/0A0B0C0D0E0F1011", ""); code != 200 || body["blacklisted"] != false {
		t.Fatalf("GET after DELETE: HTTP %d %v", code, body)
	}
	for _, idm := range []string{"0102", "01020304050607GG", "010203040506070809", "0102030405060708%00"} {
		if code, _ := s.authed(t, http.MethodPut, "/admin/v1/issuers/DEMO/blacklist/"+idm, ""); code != 400 {
			t.Errorf("idm %q: HTTP %d", idm, code)
		}
	}

	created := time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)
	if err := s.store.Update(context.Background(), func(tx store.Tx) error {
		return tx.PutAccount(store.Account{IssuerID: issuerID, CardAccountID: "ACC-1", IDm: physicalIDm, Balance: 4200, CreatedAt: created})
	}); err != nil {
		t.Fatal(err)
	}
	code, body = s.authed(t, http.MethodGet, "/admin/v1/issuers/DEMO/accounts/ACC-1", "")
	if code != 200 || body["cardAccountId"] != "ACC-1" || body["balance"] != 4200.0 || body["idm"] != physicalIDm ||
		body["createdAt"] != "2026-11-01T09:30:00Z" || body["status"] != "ACTIVE" {
		t.Fatalf("account: HTTP %d %v", code, body)
	}
	for _, tt := range []struct {
		account store.Account
		want    map[string]any
	}{
		{store.Account{CardAccountID: "ACC-PENDING", Balance: 3210, Pending: true, ExpectedCounter: 42},
			map[string]any{"status": "PENDING", "balance": 3210.0, "expectedCounter": 42.0}},
	} {
		a := tt.account
		a.IssuerID, a.IDm = issuerID, "0A0B0C0D0E0F1012"
		if err := s.store.Update(context.Background(), func(tx store.Tx) error { return tx.PutAccount(a) }); err != nil {
			t.Fatal(err)
		}
		code, body = s.authed(t, http.MethodGet, "/admin/v1/issuers/DEMO/accounts/"+a.CardAccountID, "")
		for field, want := range tt.want {
			if code != 200 || body[field] != want {
				t.Errorf("%s: HTTP %d, %s %v, want %v (%v)", a.CardAccountID, code, field, body[field], want, body)
			}
		}
	}
	if code, _ = s.authed(t, http.MethodGet, "/admin/v1/issuers/DEMO/accounts/ACC-2", ""); code != 404 {
		t.Fatalf("unknown account: HTTP %d", code)
	}
}

func TestAdminSessions(t *testing.T) {
	s := newStack(t, withAdminToken(adminToken))
	for _, dev := range []string{"DEV-A", "DEV-B"} {
		got := s.do(t, call{endpoint: "getCardCommands", body: body(cardBase, map[string]any{"deviceId": dev, "cardId": "CARD-" + dev})})
		if got.reply.code() != 0 {
			t.Fatalf("start: %s", got.raw)
		}
	}
	code, body := s.authed(t, http.MethodGet, "/admin/v1/sessions?issuerId=DEMO&deviceId=DEV-B", "")
	list := body["sessions"].([]any)
	if code != 200 || len(list) != 1 || list[0].(map[string]any)["deviceId"] != "DEV-B" || list[0].(map[string]any)["state"] != "OPEN" {
		t.Fatalf("by device: HTTP %d %v", code, body)
	}
	id := list[0].(map[string]any)["sessionId"].(string)
	code, body = s.authed(t, http.MethodGet, "/admin/v1/sessions/"+id, "")
	if code != 200 || body["sessionId"] != id || len(body["trace"].([]any)) != 1 {
		t.Fatalf("session: HTTP %d %v", code, body)
	}
	entry := body["trace"].([]any)[0].(map[string]any)
	if _, ok := entry["elapsedMs"].(float64); !ok || entry["elapsedNs"] != nil {
		t.Errorf("trace entry has no elapsedMs, or still elapsedNs: %v", entry)
	}
	if code, _ := s.authed(t, http.MethodGet, "/admin/v1/sessions/nope", ""); code != 404 {
		t.Errorf("unknown session: HTTP %d", code)
	}
	if code, body := s.authed(t, http.MethodGet, "/admin/v1/nowhere", ""); code != 404 || body["error"] == nil {
		t.Errorf("unknown route: HTTP %d %v", code, body)
	}
}

// TestAdminSessionSearch runs every filter of GET /admin/v1/sessions over
// sessions put in the store, and the refusals of bad queries.
func TestAdminSessionSearch(t *testing.T) {
	s := newStack(t, withAdminToken(adminToken))
	at := func(min int) time.Time { return epoch.Add(time.Duration(min) * time.Minute) }
	mk := func(id, device, card, idm, purchase, op string, code int, ended bool, created time.Time) store.Session {
		sess := store.Session{ID: id, IssuerID: issuerID, DeviceID: device, Endpoint: "getCardCommands", Operation: op,
			CardID: card, IDm: idm, PurchaseID: purchase, Version: "v1", Revision: 1, State: store.SessionOpen,
			CreatedAt: created, LastCallAt: created, ExpiresAt: created.Add(time.Minute), LastReply: store.Reply{StatusCode: code}}
		if ended {
			sess.State, sess.EndReason, sess.EndedAt, sess.PurgeAt = store.SessionEnded, store.EndCompleted, created, created.Add(time.Hour)
		}
		return sess
	}
	sessions := []store.Session{
		mk("S1", "D1", "C1", "0102030405060708", "P1", "TOPUP", 0, true, at(1)),
		mk("S2", "D2", "C2", "", "", "READ", 163, true, at(2)),
		mk("S3", "D1", "C1", "", "P2", "TOPUP", 163, true, at(3)),
		mk("S4", "D3", "C4", "", "", "READ", 0, false, at(4)),
	}
	err := s.store.Update(context.Background(), func(tx store.Tx) error {
		for _, sess := range sessions {
			if err := tx.PutSession(sess); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		query string
		want  []string // session ids, newest first
	}{
		{"issuerId=DEMO", []string{"S4", "S3", "S2", "S1"}},
		{"", []string{"S4", "S3", "S2", "S1"}},
		{"deviceId=D1", []string{"S3", "S1"}},
		{"cardId=C1", []string{"S3", "S1"}},
		{"idm=0102030405060708", []string{"S1"}},
		{"idm=0102030405060708&issuerId=DEMO", []string{"S1"}},
		{"purchaseId=P2", []string{"S3"}},
		{"operation=READ", []string{"S4", "S2"}},
		{"statusCode=163", []string{"S3", "S2"}},
		{"statusCode=163&cardId=C1", []string{"S3"}},
		{"state=OPEN", []string{"S4"}},
		{"state=ENDED&operation=TOPUP", []string{"S3", "S1"}},
		{"from=" + at(2).Format(time.RFC3339), []string{"S4", "S3", "S2"}},
		{"to=" + at(2).Format(time.RFC3339), []string{"S1"}},
		{"from=" + at(2).Format(time.RFC3339) + "&to=" + at(4).Format(time.RFC3339), []string{"S3", "S2"}},
		{"deviceId=&cardId=", []string{"S4", "S3", "S2", "S1"}}, // empty is absent
		{"issuerId=OTHER", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			code, body := s.authed(t, http.MethodGet, "/admin/v1/sessions?"+tt.query, "")
			if code != 200 {
				t.Fatalf("HTTP %d %v", code, body)
			}
			got := []string{}
			for _, x := range body["sessions"].([]any) {
				got = append(got, x.(map[string]any)["sessionId"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("summary fields", func(t *testing.T) {
		_, body := s.authed(t, http.MethodGet, "/admin/v1/sessions?purchaseId=P1", "")
		sum := body["sessions"].([]any)[0].(map[string]any)
		for field, want := range map[string]any{"sessionId": "S1", "issuerId": issuerID, "deviceId": "D1", "cardId": "C1",
			"idm": "0102030405060708", "operation": "TOPUP", "state": "ENDED", "statusCode": 0.0,
			"createdAt": at(1).Format(time.RFC3339), "endedAt": at(1).Format(time.RFC3339)} {
			if sum[field] != want {
				t.Errorf("%s = %v, want %v", field, sum[field], want)
			}
		}
	})
	t.Run("paging", func(t *testing.T) {
		var got []string
		q := "/admin/v1/sessions?limit=3"
		for pages := 0; pages < 5; pages++ {
			code, body := s.authed(t, http.MethodGet, q, "")
			if code != 200 {
				t.Fatalf("HTTP %d %v", code, body)
			}
			for _, x := range body["sessions"].([]any) {
				got = append(got, x.(map[string]any)["sessionId"].(string))
			}
			next, _ := body["nextCursor"].(string)
			if next == "" {
				break
			}
			q = "/admin/v1/sessions?limit=3&cursor=" + next
		}
		if strings.Join(got, ",") != "S4,S3,S2,S1" {
			t.Errorf("pages of 3 gave %v", got)
		}
	})
	for _, tt := range []struct{ query, names string }{
		{"bogus=1", "bogus"},
		{"issuerId=DEMO&issuerId=X", "issuerId"},
		{"issuerId=" + strings.Repeat("i", 17), "issuerId"},
		{"deviceId=" + strings.Repeat("d", 49), "deviceId"},
		{"idm=0102", "idm"},
		{"statusCode=abc", "statusCode"},
		{"statusCode=-1", "statusCode"},
		{"state=DONE", "state"},
		{"from=yesterday", "from"},
		{"to=2026-11-24", "to"},
		{"limit=0", "limit"},
		{"limit=x", "limit"},
		{"limit=1001", "limit"},
		{"cursor=%21%21", "cursor"},
	} {
		t.Run("refused "+tt.query, func(t *testing.T) {
			code, body := s.authed(t, http.MethodGet, "/admin/v1/sessions?"+tt.query, "")
			msg, _ := body["error"].(string)
			if code != 400 || !strings.Contains(msg, tt.names) {
				t.Errorf("HTTP %d %v, want 400 naming %s", code, body, tt.names)
			}
		})
	}
}

// fakeCatalog is a flow.Catalog whose reload the test controls.
type fakeCatalog struct {
	reloads atomic.Int32
	fail    error
}

func (c *fakeCatalog) Statuses() []flow.IssuerStatus {
	return []flow.IssuerStatus{
		{IssuerID: "ZETA", Version: "h2", LoadedAt: epoch, Error: "flows/topup.lua:12: unexpected symbol"},
		{IssuerID: "DEMO", Version: "h1", LoadedAt: epoch},
	}
}

func (c *fakeCatalog) Reload(context.Context) error {
	c.reloads.Add(1)
	return c.fail
}

func TestAdminIssuersAndReload(t *testing.T) {
	s := newStack(t, withAdminToken(adminToken))
	if code, body := s.authed(t, http.MethodPost, "/admin/v1/reload", ""); code != 501 || body["error"] == nil {
		t.Fatalf("reload without a catalog: HTTP %d %v", code, body)
	}

	cat := &fakeCatalog{}
	s = newStack(t, withAdminToken(adminToken), withCatalog(cat))
	code, body := s.authed(t, http.MethodGet, "/admin/v1/issuers", "")
	list := body["list"].([]any)
	if code != 200 || len(list) != 2 {
		t.Fatalf("issuers: HTTP %d %v", code, body)
	}
	demo, zeta := list[0].(map[string]any), list[1].(map[string]any)
	if demo["issuerId"] != "DEMO" || demo["version"] != "h1" || demo["loadedAt"] != "2026-11-24T02:00:00Z" || demo["error"] != nil {
		t.Errorf("DEMO: %v", demo)
	}
	if zeta["issuerId"] != "ZETA" || zeta["error"] != "flows/topup.lua:12: unexpected symbol" {
		t.Errorf("ZETA: %v", zeta)
	}
	if code, body = s.authed(t, http.MethodPost, "/admin/v1/reload", ""); code != 200 || len(body["list"].([]any)) != 2 || cat.reloads.Load() != 1 {
		t.Fatalf("reload: HTTP %d %v, %d reloads", code, body, cat.reloads.Load())
	}
	cat.fail = errors.New("issuers folder unreadable: /secret/path")
	code, body = s.authed(t, http.MethodPost, "/admin/v1/reload", "")
	if code != 500 || body["error"] != "internal error" {
		t.Fatalf("failed reload: HTTP %d %v", code, body)
	}
}

func TestAdminReadiness(t *testing.T) {
	s := newStack(t)
	url := listen(t, s.server.Admin())
	if got := adminGet(t, url, "/readyz"); got["status"] != "ready" {
		t.Fatalf("readyz: %v", got)
	}
	if err := s.store.Close(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	code, body, _ := decodeAdmin(t, resp)
	if code != 503 || body["error"] == nil {
		t.Fatalf("readyz on a closed store: HTTP %d %v", code, body)
	}
	if got := adminGet(t, url, "/healthz"); got["status"] != "ok" {
		t.Fatalf("healthz: %v", got)
	}
}

// pingingStore is a store with a database behind it: /readyz asks its
// Ping, which fails while down is set, though transactions would work.
type pingingStore struct {
	store.Store
	down *atomic.Bool
}

func (p pingingStore) Ping(ctx context.Context) error {
	if p.down.Load() {
		return errors.New("connection refused")
	}
	return ctx.Err()
}

func TestAdminReadinessPings(t *testing.T) {
	var down atomic.Bool
	s := newStack(t, func(c *server.Config) { c.Store = pingingStore{c.Store, &down} })
	url := listen(t, s.server.Admin())
	for _, tt := range []struct {
		name string
		down bool
		want int
	}{
		{"database up", false, 200},
		{"database down", true, 503},
		{"database back", false, 200},
	} {
		down.Store(tt.down)
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		if code, body, _ := decodeAdmin(t, resp); code != tt.want {
			t.Errorf("%s: readyz HTTP %d %v, want %d", tt.name, code, body, tt.want)
		}
	}
}

package tsh

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
)

// Admin talks to one server's admin API, to seed and inspect its ledger.
// Safe for concurrent use.
type Admin struct {
	base  string // scheme://host[:port] + AdminBasePath
	token string
	http  *http.Client
}

// NewAdmin returns a client of the admin API at baseURL (for instance
// "http://127.0.0.1:8081"). token, when not empty, is sent as a bearer
// token; without one the server accepts loopback callers only.
func NewAdmin(baseURL, token string, o ClientOptions) (*Admin, error) {
	base, err := parseBase(baseURL)
	if err != nil {
		return nil, err
	}
	return &Admin{base: base + server.AdminBasePath, token: token, http: newHTTPClient(o)}, nil
}

// CardSeed is a ledger card to provision.
type CardSeed struct {
	IssuerID    string
	CardID      string
	Status      store.CardStatus // empty: ACTIVE
	ProductCode int
	DeviceID    string // empty: any device
	Expiry      string // YYYY-MM-DD; empty: none
}

// PurchaseSeed is a purchase (top-up or refund order) to create, PENDING.
type PurchaseSeed struct {
	IssuerID   string
	PurchaseID string
	CardID     string
	Amount     int64
	Kind       store.PurchaseKind
}

// CloseIdleConnections closes the keep-alive connections no request uses.
func (a *Admin) CloseIdleConnections() { a.http.CloseIdleConnections() }

// PutCard provisions or updates a card.
func (a *Admin) PutCard(ctx context.Context, s CardSeed) (server.CardView, error) {
	status := s.Status
	if status == "" {
		status = store.CardActive
	}
	in := server.CardInput{Status: &status, ProductCode: &s.ProductCode, DeviceID: s.DeviceID, Expiry: s.Expiry}
	var view server.CardView
	err := a.do(ctx, http.MethodPut, a.path("issuers", s.IssuerID, "cards", s.CardID), in, &view)
	return view, err
}

// Card reads a ledger card.
func (a *Admin) Card(ctx context.Context, issuerID, cardID string) (server.CardView, error) {
	var view server.CardView
	err := a.do(ctx, http.MethodGet, a.path("issuers", issuerID, "cards", cardID), nil, &view)
	return view, err
}

// PutPurchase creates a purchase, or changes one that is still PENDING.
func (a *Admin) PutPurchase(ctx context.Context, s PurchaseSeed) (server.PurchaseView, error) {
	in := server.PurchaseInput{CardID: s.CardID, Amount: &s.Amount, Kind: &s.Kind}
	var view server.PurchaseView
	err := a.do(ctx, http.MethodPut, a.path("issuers", s.IssuerID, "purchases", s.PurchaseID), in, &view)
	return view, err
}

// Purchase reads a purchase.
func (a *Admin) Purchase(ctx context.Context, issuerID, purchaseID string) (server.PurchaseView, error) {
	var view server.PurchaseView
	err := a.do(ctx, http.MethodGet, a.path("issuers", issuerID, "purchases", purchaseID), nil, &view)
	return view, err
}

// PutBlacklist puts a physical card's IDm (16 hex digits) on the issuer's
// blacklist, or takes it off.
func (a *Admin) PutBlacklist(ctx context.Context, issuerID, idm string, on bool) error {
	method := http.MethodPut
	if !on {
		method = http.MethodDelete
	}
	var view server.BlacklistView
	return a.do(ctx, method, a.path("issuers", issuerID, "blacklist", idm), nil, &view)
}

// path joins escaped segments under the admin base path.
func (a *Admin) path(segments ...string) string {
	p := a.base
	for _, s := range segments {
		p += "/" + url.PathEscape(s)
	}
	return p
}

// do sends one admin request with an optional JSON body and decodes a 2xx
// answer into out; any other status is ErrAdmin with the server's message.
func (a *Admin) do(ctx context.Context, method, target string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode: %w", method, target, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrTransport, method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes))
	if err != nil {
		return fmt.Errorf("%w: %s %s: read: %w", ErrTransport, method, target, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: %s %s: HTTP %d: %s", ErrAdmin, method, target, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrBadReply, method, target, err)
	}
	return nil
}

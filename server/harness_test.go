package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/flow/flowtest"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
)

const (
	issuerID   = "DEMO"
	cardID     = "CARD-1"
	purchaseID = "P-1"
	deviceID   = "DEV-1"
	actorID    = "TSH-1"
	// longIssuerID is a second issuer whose id has the maximum length.
	longIssuerID = "ISSUER0123456789"
	physicalIDm  = "0102030405060708"
	base         = server.GatewayBasePath + "/"
)

var epoch = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// pollingCommand is Polling for system 80DE, request code 01, with LEN.
var pollingCommand = []byte{0x06, 0x00, 0x80, 0xDE, 0x01, 0x00}

// pollingResponse answers it: LEN, 01, IDm, PMm, system code.
const pollingResponse = "1401" + physicalIDm + "0000000000000000" + "80DE"

// stack is the real thing on a temporary store: flowtest flows, the
// engine, boltstore and the server, with a fake clock.
type stack struct {
	store   *boltstore.Store
	flows   *flowtest.Registry
	demo    *flowtest.Issuer
	clock   *clock.Fake
	server  *server.Server
	metrics *prometheus.Registry

	mu     sync.Mutex // guards inputs
	inputs []flow.Input
}

type stackOption func(*server.Config)

func withActors(actors ...string) stackOption {
	return func(c *server.Config) { c.Actors = actors }
}

func withAdminToken(token string) stackOption {
	return func(c *server.Config) { c.AdminToken = token }
}

func withEngine(h server.Handler) stackOption {
	return func(c *server.Config) { c.Engine = h }
}

func withCatalog(cat flow.Catalog) stackOption {
	return func(c *server.Config) { c.Catalog = cat }
}

func newStack(t testing.TB, opts ...stackOption) *stack {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "tes.db"), boltstore.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	s := &stack{store: st, clock: clock.NewFake(epoch), metrics: prometheus.NewRegistry()}
	s.demo = flowtest.NewIssuer(issuerID, "v1", s.twoSteps)
	s.flows = flowtest.NewRegistry(s.demo, flowtest.NewIssuer(longIssuerID, "v1", s.twoSteps))
	eng, err := engine.New(engine.Config{Store: st, Flows: s.flows, Clock: s.clock, Logger: discard()})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	cfg := server.Config{
		Engine: eng, Store: st, Flows: s.flows, Clock: s.clock, Logger: discard(), Metrics: s.metrics,
	}
	for _, opt := range opts {
		opt(&cfg)
	}
	s.server, err = server.New(cfg)
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	s.seed(t)
	return s
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// twoSteps is every operation of the test issuers: Polling, then done with
// an effect fitting the endpoint. It records what it was given.
func (s *stack) twoSteps(_ context.Context, in flow.Input) (flow.Result, error) {
	s.mu.Lock()
	s.inputs = append(s.inputs, in)
	s.mu.Unlock()
	if len(in.State) == 0 {
		return flow.Result{State: []byte{1}, Step: "poll", Commands: [][]byte{pollingCommand}}, nil
	}
	if len(in.Responses) != 1 || len(in.Responses[0]) == 0 {
		return flow.Result{Step: "done", Status: flow.StatusOperationFailed}, nil
	}
	balance := int64(1200)
	res := flow.Result{Step: "done", Status: flow.StatusOK, Balance: &balance}
	switch in.Endpoint {
	case flow.EndpointCard:
		res.Effects = []flow.Effect{{Kind: flow.RecordBalance, Balance: balance, Counter: 7}}
	case flow.EndpointPark:
		res.Effects = []flow.Effect{{Kind: flow.ParkCard, Balance: balance}}
	case flow.EndpointReaderMode:
		res.Effects = []flow.Effect{
			{Kind: flow.CountReaderModeAttempt},
			{Kind: flow.CreateAccount, IDm: in.Request.CardContents.IDm, Balance: balance},
		}
	}
	return res, nil
}

func (s *stack) lastInput(t testing.TB) flow.Input {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.inputs) == 0 {
		t.Fatal("the flow never ran")
	}
	return s.inputs[len(s.inputs)-1]
}

func (s *stack) seed(t testing.TB) {
	t.Helper()
	err := s.store.Update(context.Background(), func(tx store.Tx) error {
		for _, iss := range []string{issuerID, longIssuerID} {
			if err := tx.PutCard(store.Card{IssuerID: iss, CardID: cardID, Status: store.CardActive, ProductCode: 1}); err != nil {
				return err
			}
		}
		return tx.PutPurchase(store.Purchase{IssuerID: issuerID, PurchaseID: purchaseID, CardID: cardID,
			Amount: 500, Kind: store.PurchaseTopUp, Status: store.PurchasePending})
	})
	if err != nil {
		t.Fatalf("seed: %v", err)
	}
}

// snapshot is every record a gateway request could change, as JSON.
func (s *stack) snapshot(t testing.TB) string {
	t.Helper()
	var parts []any
	err := s.store.View(context.Background(), func(tx store.Tx) error {
		for _, iss := range []string{issuerID, longIssuerID} {
			sessions, _, err := tx.SearchSessions(store.SessionQuery{IssuerID: iss})
			if err != nil {
				return err
			}
			card, err := tx.Card(iss, cardID)
			if err != nil {
				return err
			}
			attempts, err := tx.ReaderModeAttempts(iss, deviceID, time.Time{})
			if err != nil {
				return err
			}
			bl, err := tx.Blacklisted(iss, physicalIDm)
			if err != nil {
				return err
			}
			_, accErr := tx.AccountByIDm(iss, physicalIDm)
			if accErr != nil && !errors.Is(accErr, store.ErrNotFound) {
				return accErr
			}
			parts = append(parts, sessions, card, attempts, bl, accErr == nil)
		}
		p, err := tx.Purchase(issuerID, purchaseID)
		parts = append(parts, p)
		return err
	})
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	b, err := json.Marshal(parts)
	if err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	return string(b)
}

// reply is the gateway's JSON as a test reads it.
type reply struct {
	ResponseHeader struct {
		ResponseID    string `json:"responseId"`
		SessionID     string `json:"sessionId"`
		StatusCode    *int   `json:"statusCode"`
		StatusMessage string `json:"statusMessage"`
		Timestamp     string `json:"timestamp"`
	} `json:"responseHeader"`
	Commands []struct {
		CommandID string `json:"commandId"`
		Command   string `json:"command"`
	} `json:"commands"`
	Balance       *int64 `json:"balance"`
	CardAccountID string `json:"cardAccountId"`
}

func (r reply) code() int {
	if r.ResponseHeader.StatusCode == nil {
		return -1
	}
	return *r.ResponseHeader.StatusCode
}

// call is one gateway request as a test makes it.
type call struct {
	endpoint string
	header   map[string]string // x-actor-id is actorID unless set here; "" sends it empty
	noActor  bool              // send no x-actor-id at all
	body     []byte
}

func (c call) request(url string) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url+base+c.endpoint, bytes.NewReader(c.body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if !c.noActor {
		req.Header.Set("x-actor-id", actorID)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	return req
}

// answer is what the gateway app said.
type answer struct {
	status int
	header http.Header
	raw    []byte
	reply  reply
}

// do runs c against the gateway app in-process.
func (s *stack) do(t testing.TB, c call) answer {
	t.Helper()
	resp, err := s.server.Gateway().Test(c.request("http://tes.test"), -1)
	if err != nil {
		t.Fatalf("app.Test: %v", err)
	}
	return readAnswer(t, resp)
}

func readAnswer(t testing.TB, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, body %q", ct, raw)
	}
	if err := json.Unmarshal(raw, &a.reply); err != nil {
		t.Fatalf("reply is not JSON: %v: %q", err, raw)
	}
	return a
}

// body builds a JSON object from base with keys set (nil value: removed).
func body(base map[string]any, set map[string]any) []byte {
	m := map[string]any{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}

// null is a JSON null inside body's set map (nil removes the key).
var null = json.RawMessage("null")

var (
	cardBase   = map[string]any{"issuerId": issuerID, "cardId": cardID, "deviceId": deviceID}
	readerBase = map[string]any{"issuerId": issuerID, "deviceId": deviceID, "cardContents": map[string]any{
		"cardServiceId": "Test Service", "systemCode": "80DE", "idm": physicalIDm, "pmm": "0000000000000000",
		"areaCodeList": []any{map[string]any{"areaCode": "1000", "keyVersion": "0001"}},
	}}
)

// doTCP runs c against the gateway app on a loopback listener. It writes
// the request on a raw connection while it reads the answer, because the
// server may answer an oversized body and close before reading it all,
// which net/http's client reports as a failed write.
func (s *stack) doTCP(t testing.TB, c call) answer {
	t.Helper()
	url := listen(t, s.server.Gateway())
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	req := c.request(url)
	go func() { _ = req.Write(conn) }()
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return readAnswer(t, resp)
}

// listen serves app on 127.0.0.1 until the test ends and returns its URL.
func listen(t testing.TB, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Listener(ln) }()
	t.Cleanup(func() {
		if err := app.ShutdownWithTimeout(5 * time.Second); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

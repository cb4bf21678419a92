package engine_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/engine"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/flow/flowtest"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/boltstore"
)

const (
	issuerID = "DEMO"
	deviceID = "DEVICE-1"
	cardID   = "CARD-0001-AAAA"
	actorID  = "tsh-1"
)

var epoch = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// harness is one engine over a fresh bbolt file, a fake clock and one Go
// issuer at version v1.
type harness struct {
	t      testing.TB
	engine *engine.Engine
	store  *boltstore.Store
	clock  *clock.Fake
	flows  *flowtest.Registry
	issuer *flowtest.Issuer
	logs   *syncBuffer
}

type harnessOption func(*engine.Config)

func newHarness(t testing.TB, run flowtest.StepFunc, opts ...harnessOption) *harness {
	t.Helper()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "tes.db"), boltstore.Options{})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	h := &harness{
		t:      t,
		store:  st,
		clock:  clock.NewFake(epoch),
		issuer: newIssuer("v1", run),
		logs:   &syncBuffer{},
	}
	h.flows = flowtest.NewRegistry(h.issuer)
	var ids atomic.Int64
	cfg := engine.Config{
		Store:  st,
		Flows:  h.flows,
		Clock:  h.clock,
		Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		NewID:  func() string { return fmt.Sprintf("id-%d", ids.Add(1)) },
	}
	for _, o := range opts {
		o(&cfg)
	}
	h.engine, err = engine.New(cfg)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return h
}

func (h *harness) handle(req engine.Request) engine.Reply {
	h.t.Helper()
	return h.engine.Handle(context.Background(), req)
}

// deviceSession is the device's newest session, its trace in Trace;
// found=false when none.
func (h *harness) deviceSession() (store.Session, bool) {
	h.t.Helper()
	var s store.Session
	err := h.store.View(context.Background(), func(tx store.Tx) error {
		var err error
		if s, err = tx.DeviceSession(issuerID, deviceID); err != nil {
			return err
		}
		s.Trace, err = tx.SessionTrace(s.ID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, false
	}
	if err != nil {
		h.t.Fatalf("read device session: %v", err)
	}
	return s, true
}

// mustSession reads session id with its trace (in Trace).
func (h *harness) mustSession(id string) store.Session {
	h.t.Helper()
	var s store.Session
	if err := h.store.View(context.Background(), func(tx store.Tx) error {
		var err error
		if s, err = tx.Session(id); err != nil {
			return err
		}
		s.Trace, err = tx.SessionTrace(id)
		return err
	}); err != nil {
		h.t.Fatalf("read session %s: %v", id, err)
	}
	return s
}

func (h *harness) sessionCount() int {
	h.t.Helper()
	var n int
	if err := h.store.View(context.Background(), func(tx store.Tx) error {
		list, _, err := tx.SearchSessions(store.SessionQuery{IssuerID: issuerID})
		n = len(list)
		return err
	}); err != nil {
		h.t.Fatalf("list sessions: %v", err)
	}
	return n
}

func (h *harness) put(fn func(tx store.Tx) error) {
	h.t.Helper()
	if err := h.store.Update(context.Background(), fn); err != nil {
		h.t.Fatalf("seed store: %v", err)
	}
}

func (h *harness) card(id string) store.Card {
	h.t.Helper()
	var c store.Card
	if err := h.store.View(context.Background(), func(tx store.Tx) error {
		var err error
		c, err = tx.Card(issuerID, id)
		return err
	}); err != nil {
		h.t.Fatalf("read card: %v", err)
	}
	return c
}

func (h *harness) purchase(id string) store.Purchase {
	h.t.Helper()
	var p store.Purchase
	if err := h.store.View(context.Background(), func(tx store.Tx) error {
		var err error
		p, err = tx.Purchase(issuerID, id)
		return err
	}); err != nil {
		h.t.Fatalf("read purchase: %v", err)
	}
	return p
}

// seedLedger stores the test card and purchases P-PENDING (500),
// P-APPLIED (300), P-OTHER (belongs to another card).
func (h *harness) seedLedger() {
	h.put(func(tx store.Tx) error {
		for _, c := range []store.Card{
			{IssuerID: issuerID, CardID: cardID, Status: store.CardActive, ProductCode: 1},
			{IssuerID: issuerID, CardID: "CARD-OTHER", Status: store.CardActive, ProductCode: 1},
		} {
			if err := tx.PutCard(c); err != nil {
				return err
			}
		}
		for _, p := range []store.Purchase{
			{IssuerID: issuerID, PurchaseID: "P-PENDING", CardID: cardID, Amount: 500, Kind: store.PurchaseTopUp, Status: store.PurchasePending},
			{IssuerID: issuerID, PurchaseID: "P-APPLIED", CardID: cardID, Amount: 300, Kind: store.PurchaseTopUp, Status: store.PurchaseApplied},
			{IssuerID: issuerID, PurchaseID: "P-OTHER", CardID: "CARD-OTHER", Amount: 100, Kind: store.PurchaseTopUp, Status: store.PurchasePending},
		} {
			if err := tx.PutPurchase(p); err != nil {
				return err
			}
		}
		return nil
	})
}

// newIssuer is a test issuer whose steps may take long on a loaded
// machine; tests of the step timeout set their own.
func newIssuer(version string, run flowtest.StepFunc) *flowtest.Issuer {
	iss := flowtest.NewIssuer(issuerID, version, run)
	iss.Config.StepTimeout = 10 * time.Second
	return iss
}

// startRequest asks for a READ of the test card on the test device.
func startRequest() engine.Request {
	return engine.Request{
		Endpoint: flow.EndpointCard,
		ActorID:  actorID,
		IssuerID: issuerID,
		CardID:   cardID,
		DeviceID: deviceID,
	}
}

// answer builds the request that answers every command of reply with a
// well-formed frame.
func answer(req engine.Request, reply engine.Reply) engine.Request {
	req.Responses = make([]engine.Response, len(reply.Commands))
	for i, c := range reply.Commands {
		req.Responses[i] = engine.Response{CommandID: c.ID, Frame: frame(0x07, byte(i))}
	}
	return req
}

// frame returns a FeliCa frame with a correct LEN byte.
func frame(payload ...byte) []byte {
	return append([]byte{byte(len(payload) + 1)}, payload...)
}

// scripted is a flow that answers the i-th step of an operation with
// steps[i]; the state carries i.
func scripted(steps ...flow.Result) flowtest.StepFunc {
	return func(_ context.Context, in flow.Input) (flow.Result, error) {
		i := 0
		if len(in.State) > 0 {
			i = int(in.State[0])
		}
		if i >= len(steps) {
			return flow.Result{}, fmt.Errorf("no step %d", i)
		}
		r := steps[i]
		r.State = []byte{byte(i + 1)}
		return r, nil
	}
}

// twoCommands, then done with a balance: the plain READ.
func readFlow() flowtest.StepFunc {
	balance := int64(1200)
	return scripted(
		flow.Result{Step: "poll", Commands: [][]byte{frame(0x00, 0x80, 0xDE), frame(0x06, 0x01)}},
		flow.Result{Step: "done", Status: flow.StatusOK, Balance: &balance},
	)
}

func wantStatus(t testing.TB, got engine.Reply, code int) {
	t.Helper()
	if got.StatusCode != code {
		t.Fatalf("status %d (%s), want %d", got.StatusCode, got.StatusMessage, code)
	}
	want, _ := flow.StatusMessage(code)
	if code != flow.StatusOK && got.StatusMessage != want {
		t.Fatalf("status message %q, want %q", got.StatusMessage, want)
	}
}

// syncBuffer is a log sink safe for the engine's goroutines.
type syncBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// mustEngine builds another engine over h's store and clock with flows.
func mustEngine(t testing.TB, h *harness, flows flow.Registry) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{
		Store:  h.store,
		Flows:  flows,
		Clock:  h.clock,
		Logger: slog.New(slog.NewTextHandler(h.logs, nil)),
	})
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return e
}

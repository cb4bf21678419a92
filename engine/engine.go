package engine

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
)

const (
	defaultRetention   = 7 * 24 * time.Hour
	defaultTTL         = 60 * time.Second
	defaultStepTimeout = 50 * time.Millisecond
	defaultStepMemory  = 256 << 20
	// serverReserve is what the server itself may hold in its heap beyond
	// its use when the engine starts (requests and replies in flight,
	// store buffers), on top of the steps' budget.
	serverReserve = 64 << 20
	// maxAttempts bounds how often one request re-reads its session after
	// losing a compare-and-swap before it gives up with 921.
	maxAttempts = 5
)

// Config is what an Engine needs. Store and Flows are required.
type Config struct {
	Store  store.Store
	Flows  flow.Registry
	Clock  clock.Clock  // default clock.System
	Logger *slog.Logger // default slog.Default()
	// Retention is how long ended sessions keep their trace before Sweep
	// purges them; default 7 days.
	Retention time.Duration
	// NewID makes session and account ids; default timeOrderedID.
	NewID func() string
	// Observer, when set, learns of every step (metrics).
	Observer Observer
	// MaxConcurrentSteps bounds the flow steps of one issuer running at
	// once; default twice GOMAXPROCS. Steps are CPU work: more at once
	// only makes each take longer. Each issuer has its own.
	MaxConcurrentSteps int
	// StepMemory is the heap all running steps may share beyond the
	// server's own use; default 256 MiB (CONTRACT.md §1.7). Past it the
	// longest-running step is stopped with 921.
	StepMemory uint64
}

// Engine applies the session rules and runs steps. Safe for concurrent use:
// calls for one device are serialized inside the engine, calls for different
// devices run in parallel.
type Engine struct {
	store     store.Store
	flows     flow.Registry
	clock     clock.Clock
	log       *slog.Logger
	retention time.Duration
	newID     func() string
	observer  Observer
	devices   deviceLocks
	slots     *stepSlots
	runners   *stepRunners
	memory    *memoryGuard
}

// New returns an Engine over cfg, with defaults filled in.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: no store", ErrConfig)
	}
	if cfg.Flows == nil {
		return nil, fmt.Errorf("%w: no flow registry", ErrConfig)
	}
	e := &Engine{
		store:     cfg.Store,
		flows:     cfg.Flows,
		clock:     cfg.Clock,
		log:       cfg.Logger,
		retention: cfg.Retention,
		newID:     cfg.NewID,
		observer:  cfg.Observer,
		devices:   deviceLocks{held: map[string]*deviceLock{}},
	}
	if e.clock == nil {
		e.clock = clock.System{}
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.retention <= 0 {
		e.retention = defaultRetention
	}
	if e.newID == nil {
		e.newID = func() string { return timeOrderedID(e.clock.Now()) }
	}
	steps := cfg.MaxConcurrentSteps
	if steps <= 0 {
		steps = 2 * runtime.GOMAXPROCS(0)
	}
	e.slots = newStepSlots(steps)
	// One busy issuer keeps all its slots running: as many idle runners
	// serve it without starting any, and are few (twice the cores by
	// default). Several busy issuers start the runners they need beyond.
	e.runners = newStepRunners(steps, runnerIdleTimeout)
	budget := cfg.StepMemory
	if budget == 0 {
		budget = defaultStepMemory
	}
	e.memory = newMemoryGuard(budget, serverReserve)
	return e, nil
}

// timeOrderedID is a new session or account id: 32 hex digits, the first
// 12 the milliseconds of now and the rest 80 random bits (unguessable, as
// a session id must be). Ids made close in time sort close, so the records
// of the sessions in flight, and their trace entries, share the store's last
// pages instead of dirtying one page each at every commit.
func timeOrderedID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails (it crashes the program instead)
	return hex.EncodeToString(b[:])
}

// call is one request on its way through the engine.
type call struct {
	req         Request
	issuer      flow.Issuer // the serving version, nil if unloaded; a continue runs the pinned one
	operation   string      // canonical name; empty if the issuer is unloaded
	fingerprint []byte
	start       time.Time
}

// Handle answers one Device Gateway request (CONTRACT.md §1.5). Every
// change it makes is committed before it returns. It never panics; store
// faults and unforeseen errors answer 921.
func (e *Engine) Handle(ctx context.Context, req Request) (reply Reply) {
	defer func() {
		if r := recover(); r != nil {
			e.log.ErrorContext(ctx, "engine: panic while handling a request",
				"panic", fmt.Sprint(r), "issuer", req.IssuerID, e.cardAttr(ctx, "cardId", req.CardID))
			reply = statusReply("", flow.StatusUnexpectedError)
		}
	}()
	c := &call{req: req, fingerprint: fingerprint(req), start: e.clock.Now()}
	issuer, loaded := e.flows.Current(req.IssuerID)
	switch {
	case loaded:
		operation, ok := issuer.Resolve(req.Endpoint, req.Operation, req.PurchaseID != "")
		if !ok {
			return statusReply("", flow.StatusBadFormat)
		}
		c.issuer, c.operation = issuer, operation
	case len(req.Responses) == 0:
		return statusReply("", flow.StatusUnknownIssuer)
	}
	// An issuer unloaded while its operations run still lets them finish:
	// a continue runs on the version its session is pinned to, and ending
	// a money-moving operation half-way would leave its purchase UNCERTAIN.
	// A continue for an issuer that never had a session here gets 118.
	reply, err := e.serve(ctx, c)
	if err != nil {
		e.log.ErrorContext(ctx, "engine: request failed", "error", err.Error(),
			"issuer", req.IssuerID, "device", req.DeviceID, e.cardAttr(ctx, "cardId", req.CardID))
		reply = statusReply("", flow.StatusUnexpectedError)
	}
	reply.Operation = c.operation
	return reply
}

// serve runs the session rules under the device's lock, starting again from
// a fresh read when the commit loses a compare-and-swap.
func (e *Engine) serve(ctx context.Context, c *call) (Reply, error) {
	unlock, err := e.devices.lock(ctx, c.req.IssuerID+"\x00"+c.req.DeviceID)
	if err != nil {
		return Reply{}, fmt.Errorf("waiting for the device's other request: %w", err)
	}
	defer unlock()
	for range maxAttempts {
		reply, err := e.attempt(ctx, c)
		if !errors.Is(err, store.ErrConflict) {
			return reply, err
		}
	}
	return Reply{}, ErrContention
}

func (e *Engine) attempt(ctx context.Context, c *call) (Reply, error) {
	now := e.clock.Now()
	cur, found, err := e.newestSession(ctx, c.req.IssuerID, c.req.DeviceID)
	if err != nil {
		return Reply{}, err
	}
	if len(c.req.Responses) == 0 {
		return e.startOperation(ctx, c, cur, found, now)
	}
	return e.continueOperation(ctx, c, cur, found, now)
}

func (e *Engine) newestSession(ctx context.Context, issuerID, deviceID string) (store.Session, bool, error) {
	var s store.Session
	err := e.store.View(ctx, func(tx store.Tx) error {
		var err error
		s, err = tx.DeviceSession(issuerID, deviceID)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Session{}, false, nil
	case err != nil:
		return store.Session{}, false, fmt.Errorf("reading the device's session: %w", err)
	}
	return s, true, nil
}

func statusReply(sessionID string, code int) Reply {
	msg, _ := flow.StatusMessage(code)
	return Reply{SessionID: sessionID, StatusCode: code, StatusMessage: msg}
}

func replyOf(sessionID string, r store.Reply) Reply {
	return Reply{
		SessionID:     sessionID,
		StatusCode:    r.StatusCode,
		StatusMessage: r.StatusMessage,
		Commands:      r.Commands,
		Balance:       r.Balance,
		CardAccountID: r.CardAccountID,
	}
}

func finalReply(code int) store.Reply {
	msg, _ := flow.StatusMessage(code)
	return store.Reply{StatusCode: code, StatusMessage: msg}
}

package scripts_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/issuers"
	"github.com/tes-project/tes/scripts"
)

// now is the tests' date: after the sample cards' 2024 expiry, before 2030.
var now = time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)

// ledger is an in-memory ledger that applies effects as the engine would.
type ledger struct {
	mu        sync.Mutex
	cards     map[string]flow.Card
	purchases map[string]flow.Purchase
	black     map[string]bool
	attempts  []time.Time
	accounts  map[string]flow.Account
	parked    map[string]int64
}

func newLedger() *ledger {
	return &ledger{
		cards:     map[string]flow.Card{},
		purchases: map[string]flow.Purchase{},
		black:     map[string]bool{},
		accounts:  map[string]flow.Account{},
		parked:    map[string]int64{},
	}
}

func (l *ledger) Card(_ context.Context, id string) (flow.Card, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.cards[id]
	if ok {
		c.Uncertain = nil
		for _, p := range l.purchases {
			if p.CardID == id && p.Status == "UNCERTAIN" {
				c.Uncertain = append(c.Uncertain, p)
			}
		}
	}
	return c, ok, nil
}

func (l *ledger) Purchase(_ context.Context, id string) (flow.Purchase, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.purchases[id]
	return p, ok, nil
}

func (l *ledger) Blacklisted(_ context.Context, idm string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.black[idm], nil
}

func (l *ledger) ReaderModeAttempts(_ context.Context, _ string, since time.Time) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, t := range l.attempts {
		if !t.Before(since) {
			n++
		}
	}
	return n, nil
}

func (l *ledger) AccountByIDm(_ context.Context, idm string) (flow.Account, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.accounts[idm]
	return a, ok, nil
}

func (l *ledger) apply(req flow.Request, effects []flow.Effect) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range effects {
		cardID := e.CardID
		if cardID == "" {
			cardID = req.CardID
		}
		switch e.Kind {
		case flow.WriteSent:
			p := l.purchases[e.PurchaseID]
			p.Status, p.ExpectedCounter = "UNCERTAIN", e.Counter
			l.purchases[e.PurchaseID] = p
		case flow.PurchaseApplied, flow.PurchasePending:
			p := l.purchases[e.PurchaseID]
			p.Status = map[flow.EffectKind]string{flow.PurchaseApplied: "APPLIED", flow.PurchasePending: "PENDING"}[e.Kind]
			l.purchases[e.PurchaseID] = p
		case flow.RecordBalance:
			c := l.cards[cardID]
			b := e.Balance
			c.LastKnownBalance = &b
			l.cards[cardID] = c
		case flow.ParkSent:
			c := l.cards[cardID]
			c.PendingPark = &flow.PendingPark{Balance: e.Balance, Counter: e.Counter}
			l.cards[cardID] = c
		case flow.ParkCard:
			l.parked[cardID] = e.Balance
			c := l.cards[cardID]
			c.PendingPark = nil
			l.cards[cardID] = c
		case flow.TransferSent:
			l.accounts[e.IDm] = flow.Account{CardAccountID: "pending-" + e.IDm, IDm: e.IDm, Balance: e.Balance, Pending: true, ExpectedCounter: e.Counter}
		case flow.CreateAccount:
			l.accounts[e.IDm] = flow.Account{CardAccountID: "acct-" + e.IDm, IDm: e.IDm, Balance: e.Balance}
		case flow.CountReaderModeAttempt:
			l.attempts = append(l.attempts, now)
		case flow.BlacklistIDm:
			l.black[e.IDm] = true
		}
	}
}

// outcome is how an operation ended.
type outcome struct {
	status  int
	message string
	balance *int64
	effects []flow.Effect
	steps   int
	// decisions are the steps' trace lines, in order.
	decisions []string
}

// run plays engine and TSH: it runs an operation against a virtual card
// until the flow ends, applying effects to the ledger after every step.
func run(t testing.TB, reg flow.Registry, l *ledger, c *card.Card, endpoint flow.Endpoint, operation string, req flow.Request) outcome {
	t.Helper()
	out, ended := play(t, reg, l, c, endpoint, operation, req, 20)
	if !ended {
		t.Fatal("operation did not end in 20 steps")
	}
	return out
}

// play runs at most steps steps of an operation. When the last one sends a
// batch, the card gets it and the answers go nowhere: the device failed
// after sending it, and the operation ended without a status (ended false).
func play(t testing.TB, reg flow.Registry, l *ledger, c *card.Card, endpoint flow.Endpoint, operation string, req flow.Request, steps int) (outcome, bool) {
	t.Helper()
	req.IssuerID = "DEMO"
	return playIssuer(t, reg, l, c, endpoint, operation, req, steps)
}

// playIssuer is play for the issuer req.IssuerID.
func playIssuer(t testing.TB, reg flow.Registry, l *ledger, c *card.Card, endpoint flow.Endpoint, operation string, req flow.Request, steps int) (outcome, bool) {
	t.Helper()
	ctx := context.Background()
	iss, ok := reg.Current(req.IssuerID)
	if !ok {
		t.Fatalf("%s not loaded", req.IssuerID)
	}
	op, ok := iss.Resolve(endpoint, operation, req.PurchaseID != "")
	if !ok {
		t.Fatalf("operation %q not offered on %s", operation, endpoint)
	}
	in := flow.Input{Endpoint: endpoint, Operation: op, Request: req, Ledger: l, Now: now}
	var out outcome
	for range steps {
		res, err := iss.Step(ctx, in)
		if err != nil {
			t.Fatalf("step %d: %v", out.steps, err)
		}
		out.steps++
		l.apply(req, res.Effects)
		out.effects = append(out.effects, res.Effects...)
		out.decisions = append(out.decisions, res.Decisions...)
		if len(res.Commands) == 0 {
			out.status, out.message, out.balance = res.Status, res.Message, res.Balance
			return out, true
		}
		answers := make([][]byte, len(res.Commands))
		for i, cmd := range res.Commands {
			a, err := c.Transceive(ctx, cmd)
			if err != nil && !errors.Is(err, card.ErrNoAnswer) {
				t.Fatalf("card: %v", err)
			}
			answers[i] = a
		}
		in.State, in.Responses = res.State, answers
	}
	return out, false
}

func openDemo(t testing.TB) *scripts.Registry {
	t.Helper()
	reg, err := scripts.Open(context.Background(), scripts.Config{Embedded: issuers.FS})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func demoCard(t testing.TB, idm string, edit func(*card.Layout)) *card.Card {
	t.Helper()
	cat, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	img, ok := cat.Image(idm)
	if !ok {
		t.Fatalf("no sample card %s", idm)
	}
	layout := cat.Layout
	if edit != nil {
		edit(&layout)
	}
	c, err := card.New(layout, img, card.Settings{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func blockOf(t testing.TB, c *card.Card, service string, i int) string {
	t.Helper()
	b, err := c.Block(service, i)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%X", b)
}

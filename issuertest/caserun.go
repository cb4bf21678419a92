package issuertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// caseRun is one case under way. Used by one goroutine.
type caseRun struct {
	job
	iss flow.Issuer
	dir string

	clock   *clock.Fake
	node    *node
	catalog *card.Catalog
	layout  card.Layout
	image   card.Image // the case's card before any operation
	crd     *card.Card // nil: no card in the field
	framing felica.Framing
	cardID  string

	failures []string
	detail   []string
}

func (cr *caseRun) fail(format string, args ...any) {
	cr.failures = append(cr.failures, fmt.Sprintf(format, args...))
}

func (cr *caseRun) run(ctx context.Context) {
	c := cr.c
	if c.Keys != "" {
		cr.fail("keys %q: a case does not name a key store (keys never live in an issuer's folder); keyed cards authenticate with the key store of tes test --keys, default the built-in DEMOAES test keys", c.Keys)
		return
	}
	now := DefaultNow
	if c.Now != "" {
		now, _ = time.Parse(time.RFC3339, c.Now) // checked by validate
	}
	cr.clock = clock.NewFake(now)
	if cr.iss.Settings().WithoutLEN {
		cr.framing = felica.WithoutLEN
	}
	if err := cr.buildCard(); err != nil {
		cr.fail("card: %v", err)
		return
	}
	n, err := startNode(cr.dir, cr.flows, cr.clock)
	if err != nil {
		cr.fail("start the server: %v", err)
		return
	}
	cr.node = n
	defer func() {
		if err := n.close(); err != nil {
			cr.fail("close the store: %v", err)
		}
	}()
	if err := cr.seed(ctx); err != nil {
		cr.fail("ledger: %v", err)
		return
	}
	for i := range c.Run {
		if !cr.runOne(ctx, i+1, c.Run[i]) {
			return // later operations would only add noise
		}
	}
	cr.checkAfter(ctx)
}

// buildCard makes the case's card image and the virtual card.
func (cr *caseRun) buildCard() error {
	spec := cr.c.Card
	cat, err := cr.images.catalog(spec.Image)
	if err != nil {
		return err
	}
	cr.catalog, cr.layout = cat, cat.Layout
	if spec.PMm != "" {
		cr.layout.PMm, _ = parsePMm(spec.PMm) // checked by validate
	}
	if spec.None {
		return nil
	}
	var img card.Image
	if spec.Sample != "" {
		var ok bool
		if img, ok = cat.Image(spec.Sample); !ok {
			return fmt.Errorf("no card %q in %s", spec.Sample, imageName(spec.Image))
		}
		img = copyImage(img)
	} else {
		img.IDm, _ = felica.ParseIDm(spec.IDm) // checked by validate
		img.Label = "inline"
		img.Blocks = map[string][][felica.BlockSize]byte{}
		for name, list := range spec.Blocks {
			blocks := make([][felica.BlockSize]byte, len(list))
			for i, h := range list {
				raw, _ := decodeHex(h) // checked by validate
				copy(blocks[i][:], raw)
			}
			img.Blocks[name] = blocks
		}
	}
	for i, e := range spec.Set {
		svc, ok := serviceNamed(cr.layout, e.Service)
		if !ok {
			return fmt.Errorf("set[%d]: no service %q in the layout", i, e.Service)
		}
		if e.Block >= svc.Blocks {
			return fmt.Errorf("set[%d]: service %q has %d blocks", i, e.Service, svc.Blocks)
		}
		blocks := img.Blocks[e.Service]
		for len(blocks) <= e.Block {
			blocks = append(blocks, [felica.BlockSize]byte{})
		}
		raw, _ := decodeHex(e.Hex)
		copy(blocks[e.Block][e.Offset:], raw)
		img.Blocks[e.Service] = blocks
	}
	for _, name := range spec.Drop {
		if _, ok := serviceNamed(cr.layout, name); !ok {
			return fmt.Errorf("drop: no service %q in the layout", name)
		}
		cr.layout.Services = slices.DeleteFunc(cr.layout.Services, func(s card.Service) bool { return s.Name == name })
		delete(img.Blocks, name)
	}
	for _, name := range spec.ReadOnly {
		if _, ok := serviceNamed(cr.layout, name); !ok {
			return fmt.Errorf("readOnly: no service %q in the layout", name)
		}
		for i := range cr.layout.Services {
			if cr.layout.Services[i].Name == name {
				cr.layout.Services[i].ReadWrite = 0
			}
		}
	}
	cr.image = img
	return cr.freshCard()
}

func (cr *caseRun) freshCard() error {
	crd, err := card.New(cr.layout, copyImage(cr.image), card.Settings{Framing: cr.framing})
	if err != nil {
		return err
	}
	cr.crd = crd
	return nil
}

func imageName(file string) string {
	if file == "" {
		return DefaultImageFile
	}
	return file
}

func serviceNamed(l card.Layout, name string) (card.Service, bool) {
	for _, s := range l.Services {
		if s.Name == name {
			return s, true
		}
	}
	return card.Service{}, false
}

// seed writes the case's ledger.
func (cr *caseRun) seed(ctx context.Context) error {
	l := cr.c.Ledger
	main := LedgerCard{}
	if l.Card != nil {
		main = *l.Card
	}
	if main.ID == "" {
		main.ID = DefaultCardID
	}
	cr.cardID = main.ID
	cards := append([]LedgerCard{main}, l.Cards...)
	recs := make([]store.Card, 0, len(cards))
	for _, lc := range cards {
		if lc.Absent {
			continue
		}
		rec := store.Card{IssuerID: cr.issuer, CardID: lc.ID, Status: store.CardStatus(lc.Status),
			DeviceID: lc.Device, Expiry: lc.Expiry, UpdatedAt: cr.clock.Now()}
		if rec.Status == "" {
			rec.Status = store.CardActive
		}
		switch {
		case lc.ProductCode != nil:
			rec.ProductCode = *lc.ProductCode
		case cr.crd != nil:
			code, ok := cr.catalog.ProductCode(cr.image)
			if !ok {
				return fmt.Errorf("card %s: no productCode given, and %s declares none (docs/cards.md)", lc.ID, imageName(cr.c.Card.Image))
			}
			rec.ProductCode = code
		}
		recs = append(recs, rec)
	}
	var purchases []store.Purchase
	for _, p := range l.Purchases {
		rec := store.Purchase{IssuerID: cr.issuer, PurchaseID: p.ID, CardID: p.Card, Amount: p.Amount,
			Kind: store.PurchaseKind(p.Kind), Status: store.PurchaseStatus(p.Status),
			ExpectedCounter: p.ExpectedCounter, UpdatedAt: cr.clock.Now()}
		if rec.CardID == "" {
			rec.CardID = cr.cardID
		}
		if rec.Status == "" {
			rec.Status = store.PurchasePending
		}
		if rec.Status == store.PurchaseUncertain {
			rec.SessionID = "tes-test-earlier-session"
			i := slices.IndexFunc(recs, func(c store.Card) bool { return c.CardID == rec.CardID })
			if i < 0 {
				return fmt.Errorf("purchase %s: UNCERTAIN on card %s, which is not in the ledger", p.ID, rec.CardID)
			}
			recs[i].Uncertain = append(recs[i].Uncertain, p.ID)
		}
		purchases = append(purchases, rec)
	}
	return cr.node.Store.Update(ctx, func(tx store.Tx) error {
		for _, c := range recs {
			if err := tx.PutCard(c); err != nil {
				return fmt.Errorf("card %s: %w", c.CardID, err)
			}
		}
		for _, p := range purchases {
			if err := tx.PutPurchase(p); err != nil {
				return fmt.Errorf("purchase %s: %w", p.PurchaseID, err)
			}
		}
		for _, idm := range l.Blacklist {
			id, _ := felica.ParseIDm(idm)
			if err := tx.SetBlacklisted(cr.issuer, id.String(), true); err != nil {
				return fmt.Errorf("blacklist %s: %w", idm, err)
			}
		}
		return nil
	})
}

// runOne plays operation n and checks its answer; false when it could not
// be played at all.
func (cr *caseRun) runOne(ctx context.Context, n int, r RunSpec) bool {
	label := fmt.Sprintf("run[%d] %s", n, opName(r))
	endpoint, err := cr.endpoint(r)
	if err != nil {
		cr.fail("%s: %v", label, err)
		return false
	}
	if r.Wait != "" {
		d, _ := time.ParseDuration(r.Wait)
		cr.clock.Advance(d)
	}
	if r.FreshCard && cr.crd != nil {
		if err := cr.freshCard(); err != nil {
			cr.fail("%s: fresh card: %v", label, err)
			return false
		}
	}
	op := tsh.Operation{
		Endpoint: endpoint, IssuerID: cr.issuer, Operation: r.Operation,
		DeviceID: or(r.Device, DefaultDeviceID), ActorID: DefaultActorID,
	}
	switch endpoint {
	case flow.EndpointReaderMode:
		op.CardContents = cr.contents(r.Contents)
	case flow.EndpointCard:
		op.CardID, op.PurchaseID = or(r.CardID, cr.cardID), r.Purchase
	default:
		op.CardID = or(r.CardID, cr.cardID)
	}
	faults := make([]tsh.Fault, 0, len(r.Faults))
	for _, text := range r.Faults {
		f, _ := tsh.ParseFault(text) // checked by validate
		faults = append(faults, f)
	}
	out, err := cr.node.client.Run(ctx, op, cr.crd, tsh.Options{
		Faults: faults, Framing: cr.framing, SkipDescribe: true,
		Pause: func(_ context.Context, d time.Duration) error {
			cr.clock.Advance(d)
			return nil
		},
	})
	message := cr.explain(ctx, label, out)
	if err != nil {
		cr.fail("%s: %v", label, err)
		return false
	}
	want := r.Expect
	if out.StatusCode != *want.Status {
		cr.fail("%s: status %d (%s), want %d", label, out.StatusCode, out.StatusMessage, *want.Status)
	}
	if b := want.Balance; b != nil {
		switch {
		case b.None && out.Balance != nil:
			cr.fail("%s: balance %d, want none", label, *out.Balance)
		case !b.None && out.Balance == nil:
			cr.fail("%s: no balance, want %d", label, b.Value)
		case !b.None && *out.Balance != b.Value:
			cr.fail("%s: balance %d, want %d", label, *out.Balance, b.Value)
		}
	}
	if want.Message != "" && !strings.Contains(message, want.Message) {
		cr.fail("%s: message %q, want it to contain %q", label, message, want.Message)
	}
	if want.Account != nil && *want.Account != (out.CardAccountID != "") {
		cr.fail("%s: cardAccountId %q, want one: %v", label, out.CardAccountID, *want.Account)
	}
	if want.Calls > 0 && len(out.RoundTrips) != want.Calls {
		cr.fail("%s: %d calls, want %d", label, len(out.RoundTrips), want.Calls)
	}
	return true
}

// explain keeps the decisions of the operation's session, shown when the
// case fails, and returns the flow's message for the outcome: the session's
// last trace entry's (the reply carries the status code's standard text),
// else the reply's.
func (cr *caseRun) explain(ctx context.Context, label string, out tsh.Outcome) string {
	message := out.StatusMessage
	if out.SessionID == "" {
		cr.detail = append(cr.detail, fmt.Sprintf("%s: status %d, no session", label, out.StatusCode))
		return message
	}
	var trace []store.TraceEntry
	err := cr.node.Store.View(ctx, func(tx store.Tx) error {
		var err error
		trace, err = tx.SessionTrace(out.SessionID)
		return err
	})
	if err != nil {
		cr.detail = append(cr.detail, fmt.Sprintf("%s: session %s: %v", label, out.SessionID, err))
		return message
	}
	if n := len(trace); n > 0 && trace[n-1].Message != "" {
		message = trace[n-1].Message
	}
	for i, e := range trace {
		line := fmt.Sprintf("%s call %d:", label, i+1)
		if e.DeviceCode != 0 {
			line += fmt.Sprintf(" device status %d;", e.DeviceCode)
		}
		if len(e.Decisions) > 0 {
			line += " " + strings.Join(e.Decisions, "; ")
		}
		if len(e.Commands) > 0 {
			line += fmt.Sprintf(" → %d command(s)", len(e.Commands))
		} else {
			line += fmt.Sprintf(" → status %d %s", e.StatusCode, e.Message)
		}
		cr.detail = append(cr.detail, line)
	}
	return message
}

// endpoint is r's endpoint: given, or the one whose operations include
// r.Operation.
func (cr *caseRun) endpoint(r RunSpec) (flow.Endpoint, error) {
	if r.Endpoint != "" {
		return flow.Endpoint(r.Endpoint), nil
	}
	var found []flow.Endpoint
	for _, ep := range []flow.Endpoint{flow.EndpointCard, flow.EndpointPark, flow.EndpointReaderMode} {
		if _, ok := cr.iss.Resolve(ep, r.Operation, r.Purchase != ""); ok {
			found = append(found, ep)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("no endpoint of %s offers operation %q", cr.issuer, r.Operation)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("operation %q is on several endpoints: name the endpoint", r.Operation)
}

// contents is reader mode's cardContents: the card's, changed by spec.
func (cr *caseRun) contents(spec *ContentsSpec) *server.CardContents {
	if spec != nil && spec.None {
		return nil
	}
	var idm felica.IDm
	if cr.crd != nil {
		idm = cr.image.IDm
	}
	cc := tsh.Contents(cr.layout, idm, "tes test")
	if spec == nil {
		return cc
	}
	if spec.SystemCode != nil {
		cc.SystemCode = strings.ToUpper(*spec.SystemCode)
	}
	if spec.IDm != nil {
		cc.IDm = strings.ToUpper(*spec.IDm)
	}
	if spec.Areas != nil {
		cc.AreaCodeList = []server.AreaKey{}
		for _, a := range *spec.Areas {
			cc.AreaCodeList = append(cc.AreaCodeList, server.AreaKey{AreaCode: a.AreaCode, KeyVersion: a.KeyVersion})
		}
	}
	return cc
}

// checkAfter checks the card and the ledger after the last operation.
func (cr *caseRun) checkAfter(ctx context.Context) {
	if a := cr.c.After.Card; a != nil {
		cr.checkCard(a)
	}
	if l := cr.c.After.Ledger; l != nil {
		if err := cr.node.Store.View(ctx, func(tx store.Tx) error { return cr.checkLedger(tx, l) }); err != nil {
			cr.fail("after: ledger: %v", err)
		}
	}
}

func (cr *caseRun) checkCard(a *CardAfter) {
	if cr.crd == nil {
		cr.fail("after.card: there is no card in the field")
		return
	}
	now := cr.crd.Snapshot()
	if a.Unchanged {
		for _, s := range cr.layout.Services {
			for i := range s.Blocks {
				if got, was := blockOf(now, s.Name, i), blockOf(cr.image, s.Name, i); got != was {
					cr.fail("after.card: %s block %d changed: %X, was %X", s.Name, i, got[:], was[:])
				}
			}
		}
		return
	}
	for _, name := range sortedKeys(a.Blocks) {
		if _, ok := serviceNamed(cr.layout, name); !ok {
			cr.fail("after.card.blocks: no service %q on the card", name)
			continue
		}
		for i, pattern := range a.Blocks[name] {
			got := fmt.Sprintf("%X", blockOf(now, name, i))
			if !matchHex(pattern, got) {
				cr.fail("after.card: %s block %d is %s, want %s", name, i, got, strings.ToUpper(pattern))
			}
		}
	}
}

func blockOf(img card.Image, service string, i int) [felica.BlockSize]byte {
	blocks := img.Blocks[service]
	if i < len(blocks) {
		return blocks[i]
	}
	return [felica.BlockSize]byte{}
}

// matchHex compares hex digits, "." in pattern matching any.
func matchHex(pattern, got string) bool {
	if len(pattern) != len(got) {
		return false
	}
	for i := range len(pattern) {
		p := pattern[i]
		if p != '.' && !strings.EqualFold(string(p), string(got[i])) {
			return false
		}
	}
	return true
}

func (cr *caseRun) checkLedger(tx store.Tx, l *LedgerAfter) error {
	if lc := l.Card; lc != nil {
		id := or(lc.ID, cr.cardID)
		c, err := tx.Card(cr.issuer, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			cr.fail("after.ledger.card: no card %s in the ledger", id)
		case err != nil:
			return err
		default:
			cr.checkLedgerCard(lc, c)
		}
	}
	for _, id := range sortedKeys(l.Purchases) {
		p, err := tx.Purchase(cr.issuer, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			cr.fail("after.ledger.purchases: no purchase %s", id)
		case err != nil:
			return err
		case string(p.Status) != l.Purchases[id]:
			cr.fail("after.ledger: purchase %s is %s, want %s", id, p.Status, l.Purchases[id])
		}
	}
	if a := l.Account; a != nil {
		if cr.crd == nil {
			cr.fail("after.ledger.account: there is no card in the field")
			return nil
		}
		acc, err := tx.AccountByIDm(cr.issuer, cr.image.IDm.String())
		switch {
		case errors.Is(err, store.ErrNotFound):
			if !a.Absent {
				cr.fail("after.ledger: no account for IDm %s", cr.image.IDm)
			}
		case err != nil:
			return err
		case a.Absent:
			cr.fail("after.ledger: an account %s exists for IDm %s, want none", acc.CardAccountID, cr.image.IDm)
		default:
			if a.Balance != nil && acc.Balance != *a.Balance {
				cr.fail("after.ledger: account balance %d, want %d", acc.Balance, *a.Balance)
			}
			if a.Pending != nil && acc.Pending != *a.Pending {
				cr.fail("after.ledger: account pending %v, want %v", acc.Pending, *a.Pending)
			}
		}
	}
	return nil
}

func (cr *caseRun) checkLedgerCard(want *LedgerCardAfter, c store.Card) {
	if want.Status != "" && string(c.Status) != want.Status {
		cr.fail("after.ledger: card %s is %s, want %s", c.CardID, c.Status, want.Status)
	}
	checkBalance := func(field string, got *int64, want *BalanceSpec) {
		switch {
		case want == nil:
		case want.None && got != nil:
			cr.fail("after.ledger: card %s %s %d, want none", c.CardID, field, *got)
		case !want.None && got == nil:
			cr.fail("after.ledger: card %s has no %s, want %d", c.CardID, field, want.Value)
		case !want.None && *got != want.Value:
			cr.fail("after.ledger: card %s %s %d, want %d", c.CardID, field, *got, want.Value)
		}
	}
	checkBalance("lastKnownBalance", c.LastKnownBalance, want.LastKnownBalance)
	checkBalance("parkedBalance", c.ParkedBalance, want.ParkedBalance)
	if want.Uncertain != nil && !slices.Equal(c.Uncertain, *want.Uncertain) && (len(c.Uncertain) > 0 || len(*want.Uncertain) > 0) {
		cr.fail("after.ledger: card %s has uncertain purchases %v, want %v", c.CardID, c.Uncertain, *want.Uncertain)
	}
	if want.ParkPending != nil && (c.PendingPark != nil) != *want.ParkPending {
		cr.fail("after.ledger: card %s parkPending %v, want %v", c.CardID, c.PendingPark != nil, *want.ParkPending)
	}
}

func opName(r RunSpec) string {
	if r.Operation != "" {
		return r.Operation
	}
	return r.Endpoint + " (default)"
}

func or(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

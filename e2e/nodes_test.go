package e2e_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/store/pgstore"
	"github.com/tes-project/tes/store/pgstore/pgtest"
	"github.com/tes-project/tes/tsh"
	"github.com/tes-project/tes/tsh/bench"
)

// twoNodes is the tes binary run twice on one PostgreSQL database, as two
// nodes behind a load balancer (CONTRACT.md §6).
type twoNodes struct {
	bin      string
	storeURL string
	issuers  string
	addrs    [2]tesAddrs
	procs    [2]*tesProcess
	// gateways are the nodes' Device Gateway URLs; admin is node 0's
	// admin client (either would do: they share the store).
	gateways [2]string
	admin    *tsh.Admin
	store    *pgstore.Store // the test's own view of the database
}

func newTwoNodes(t *testing.T, bin, issuers string) *twoNodes {
	t.Helper()
	n := &twoNodes{bin: bin, storeURL: pgtest.Database(t), issuers: issuers}
	free := freeAddrs(t, 2*len(n.addrs))
	for i := range n.addrs {
		n.addrs[i] = tesAddrs{gateway: free[2*i], admin: free[2*i+1], data: t.TempDir(), store: n.storeURL, issuers: issuers}
	}
	// Both at once: the migrations are applied once, the other waits.
	var wg sync.WaitGroup
	for i := range n.procs {
		wg.Go(func() { n.procs[i] = startTes(t, bin, n.addrs[i]) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for i := range n.gateways {
		n.gateways[i] = "http://" + n.addrs[i].gateway
	}
	var err error
	if n.admin, err = tsh.NewAdmin("http://"+n.addrs[0].admin, "", tsh.ClientOptions{}); err != nil {
		t.Fatal(err)
	}
	if n.store, err = pgstore.Open(context.Background(), n.storeURL, pgstore.Options{MaxConns: 2, NoMigrate: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.store.Close() })
	return n
}

// seed provisions the adult card and a 500-yen top-up of it.
func (n *twoNodes) seed(t *testing.T, cardID, purchaseID string) {
	t.Helper()
	ctx := context.Background()
	if _, err := n.admin.PutCard(ctx, tsh.CardSeed{IssuerID: issuerID, CardID: cardID, ProductCode: 1}); err != nil {
		t.Fatal(err)
	}
	if purchaseID == "" {
		return
	}
	seed := tsh.PurchaseSeed{IssuerID: issuerID, PurchaseID: purchaseID, CardID: cardID, Amount: 500, Kind: store.PurchaseTopUp}
	if _, err := n.admin.PutPurchase(ctx, seed); err != nil {
		t.Fatal(err)
	}
}

func (n *twoNodes) purchase(t *testing.T, id string) store.Purchase {
	t.Helper()
	var p store.Purchase
	if err := n.store.View(context.Background(), func(tx store.Tx) error {
		var err error
		p, err = tx.Purchase(issuerID, id)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// on is a stepper of op whose requests go to node i.
func (n *twoNodes) on(i int, op tsh.Operation) *stepper {
	return newStepper(n.gateways[i], op)
}

// shortTTLIssuers is a copy of the repository's issuers whose DEMO
// sessions expire after ttl.
func shortTTLIssuers(t *testing.T, ttl string) string {
	t.Helper()
	dir := t.TempDir()
	err := filepath.WalkDir(issuersDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(issuersDir, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if rel == filepath.Join("DEMO", "issuer.yaml") {
			data = []byte(strings.Replace(string(data), "ttl: 60s", "ttl: "+ttl, 1))
		}
		return os.WriteFile(filepath.Join(dir, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTwoNodes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tes binary twice on PostgreSQL")
	}
	pgtest.URL(t)
	bin := buildTes(t, t.TempDir())

	t.Run("TOPUP whose calls alternate between the nodes", func(t *testing.T) {
		n := newTwoNodes(t, bin, issuersDir)
		n.seed(t, cardID, purchaseID)
		crd := demoCard(t, adultIDm)
		st := n.on(0, topUp)
		reply := st.begin(t)
		for call := 1; len(reply.Commands) > 0; call++ {
			if call > 8 {
				t.Fatal("no end after 8 calls")
			}
			st.url = n.gateways[call%2]
			reply = st.must(t, st.answer(runOn(t, crd, reply.Commands), flow.StatusOK))
		}
		if h := reply.ResponseHeader; h.StatusCode != 0 || reply.Balance == nil || *reply.Balance != 1500 {
			t.Fatalf("TOPUP ended %+v, balance %v; want 0 and 1500", h, reply.Balance)
		}
		if got := stateOf(t, crd).Money; got != (money{1500, 8}) {
			t.Errorf("card %+v, want 1500 at counter 8", got)
		}
		if p := n.purchase(t, purchaseID); p.Status != store.PurchaseApplied {
			t.Errorf("purchase %s, want APPLIED", p.Status)
		}
	})

	t.Run("a start on one node and its duplicate on the other", func(t *testing.T) {
		n := newTwoNodes(t, bin, issuersDir)
		n.seed(t, cardID, purchaseID)
		first := n.on(0, topUp).begin(t)
		again := n.on(1, topUp).begin(t)
		if err := sameReply(first, again); err != nil {
			t.Errorf("the duplicate start on the other node is not the same reply: %v", err)
		}
		other := n.on(1, read).begin(t)
		if h := other.ResponseHeader; h.StatusCode != flow.StatusOperationOngoing {
			t.Errorf("a READ while the TOPUP is open: %+v, want 321", h)
		}
		// The open TOPUP is untouched and ends on either node.
		crd := demoCard(t, adultIDm)
		st := n.on(1, topUp)
		reply := first
		for call := 1; len(reply.Commands) > 0 && call <= 8; call++ {
			st.url = n.gateways[call%2]
			reply = st.must(t, st.answer(runOn(t, crd, reply.Commands), flow.StatusOK))
		}
		if reply.ResponseHeader.StatusCode != 0 || reply.ResponseHeader.SessionID != first.ResponseHeader.SessionID {
			t.Errorf("the TOPUP ended %+v, want 0 in session %s", reply.ResponseHeader, first.ResponseHeader.SessionID)
		}
	})

	t.Run("two devices on one card, one per node, at the same moment", func(t *testing.T) {
		n := newTwoNodes(t, bin, issuersDir)
		n.seed(t, cardID, "")
		const rounds = 5
		for round := range rounds {
			ops := [2]tsh.Operation{read, read}
			ops[0].DeviceID, ops[1].DeviceID = "DEVICE-A", "DEVICE-B"
			var replies [2]server.Reply
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range ops {
				st := n.on(i, ops[i])
				wg.Go(func() {
					<-start
					replies[i] = st.must(t, st.start)
				})
			}
			close(start)
			wg.Wait()
			var codes []int
			winner := -1
			for i, r := range replies {
				codes = append(codes, r.ResponseHeader.StatusCode)
				if r.ResponseHeader.StatusCode == 0 && len(r.Commands) > 0 {
					winner = i
				}
			}
			if !((codes[0] == 0 && codes[1] == flow.StatusOperationOngoing) || (codes[1] == 0 && codes[0] == flow.StatusOperationOngoing)) {
				t.Fatalf("round %d: status codes %v, want one 0 and one 321", round, codes)
			}
			// The winner finishes, so the next round starts free.
			crd := demoCard(t, adultIDm)
			st := n.on(winner, ops[winner])
			reply := replies[winner]
			for call := 0; len(reply.Commands) > 0 && call < 8; call++ {
				reply = st.must(t, st.answer(runOn(t, crd, reply.Commands), flow.StatusOK))
			}
			if reply.ResponseHeader.StatusCode != 0 {
				t.Fatalf("round %d: the winner's READ ended %+v", round, reply.ResponseHeader)
			}
		}
	})

	t.Run("SIGKILL of a node between the write batch and its answers", func(t *testing.T) {
		n := newTwoNodes(t, bin, issuersDir)
		n.seed(t, cardID, purchaseID)
		crd := demoCard(t, adultIDm)
		st := n.on(0, topUp)
		write := st.toWrite(t, crd)
		answer := st.answer(runOn(t, crd, write.Commands), flow.StatusOK)
		n.procs[0].kill(t)
		if state := n.procs[0].cmd.ProcessState; state == nil || state.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("node 0 did not die of SIGKILL: %v", state)
		}
		if p := n.purchase(t, purchaseID); p.Status != store.PurchaseUncertain {
			t.Errorf("purchase after the kill: %s, want UNCERTAIN", p.Status)
		}
		st.url = n.gateways[1]
		last := st.must(t, answer)
		if h := last.ResponseHeader; h.StatusCode != 0 || h.SessionID != write.ResponseHeader.SessionID || last.Balance == nil || *last.Balance != 1500 {
			t.Fatalf("the TOPUP on the other node ended %+v balance %v; want 0 in the same session, 1500", h, last.Balance)
		}
		if p := n.purchase(t, purchaseID); p.Status != store.PurchaseApplied {
			t.Errorf("purchase at the end: %s, want APPLIED", p.Status)
		}
		if again := st.must(t, answer); sameReply(last, again) != nil {
			t.Errorf("replay on node 1: %v", sameReply(last, again))
		}
	})

	t.Run("the TTL passes while the calls move to the other node", func(t *testing.T) {
		const ttl = 2 * time.Second
		n := newTwoNodes(t, bin, shortTTLIssuers(t, ttl.String()))
		n.seed(t, cardID, purchaseID)
		crd := demoCard(t, adultIDm)
		st := n.on(0, topUp)
		first := st.begin(t)
		answer := st.answer(runOn(t, crd, first.Commands), flow.StatusOK)
		time.Sleep(ttl + time.Second) // the TTL passes; how much more does not matter
		st.url = n.gateways[1]
		if h := st.must(t, answer).ResponseHeader; h.StatusCode != flow.StatusTTLExpired {
			t.Fatalf("a call after the TTL on the other node: %+v, want 322", h)
		}
		if p := n.purchase(t, purchaseID); p.Status != store.PurchasePending {
			t.Errorf("purchase after the expiry: %s, want PENDING (no write was sent)", p.Status)
		}
		// A new TOPUP of the same purchase runs, on either node.
		fresh := demoCard(t, adultIDm)
		reply := n.on(1, topUp).begin(t)
		for call := 1; len(reply.Commands) > 0 && call <= 8; call++ {
			st.url = n.gateways[call%2]
			reply = st.must(t, st.answer(runOn(t, fresh, reply.Commands), flow.StatusOK))
		}
		if reply.ResponseHeader.StatusCode != 0 || reply.Balance == nil || *reply.Balance != 1500 {
			t.Errorf("the new TOPUP ended %+v balance %v", reply.ResponseHeader, reply.Balance)
		}
	})

	t.Run("16 devices spread round-robin over both nodes", func(t *testing.T) {
		n := newTwoNodes(t, bin, issuersDir)
		client, err := tsh.NewClientSpread(n.gateways[:], tsh.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer client.CloseIdleConnections()
		cat, err := card.Demo()
		if err != nil {
			t.Fatal(err)
		}
		phone, _ := cat.Image(adultIDm)
		physical, _ := cat.Image(physicalIDm)
		mix, err := bench.ParseMix("TOPUP=4,READ,REFUND")
		if err != nil {
			t.Fatal(err)
		}
		rep, err := bench.Run(context.Background(), bench.Config{
			Client: client, Admin: n.admin, IssuerID: issuerID, Devices: 16, Mix: mix, Count: 96, Amount: 7,
			Layout: cat.Layout, Phone: phone, Physical: physical, RunID: "RR",
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Errors) > 0 || rep.Operations != 96 {
			t.Errorf("%d operations, errors %v; want 96 and none", rep.Operations, rep.Errors)
			for i, p := range n.procs {
				p.kill(t) // its log is written until it ends
				t.Logf("node %d's log:\n%s", i, p.stderr)
			}
		}
		n.checkBalances(t, 16, 1000) // the adult sample card's balance
	})
}

// checkBalances checks every card of a bench run "RR" against its
// purchases: the ledger's last known balance is the sample's plus the
// APPLIED top-ups less the APPLIED refunds, and nothing is UNCERTAIN.
func (n *twoNodes) checkBalances(t *testing.T, devices int, start int64) {
	t.Helper()
	err := n.store.View(context.Background(), func(tx store.Tx) error {
		applied, err := tx.Purchases(issuerID, store.PurchaseApplied, 0)
		if err != nil {
			return err
		}
		uncertain, err := tx.Purchases(issuerID, store.PurchaseUncertain, 0)
		if err != nil {
			return err
		}
		if len(uncertain) > 0 {
			t.Errorf("%d purchases UNCERTAIN after the run", len(uncertain))
		}
		want := map[string]int64{}
		for _, p := range applied {
			switch p.Kind {
			case store.PurchaseTopUp:
				want[p.CardID] += p.Amount
			case store.PurchaseRefund:
				want[p.CardID] -= p.Amount
			}
		}
		for i := range devices {
			id := "RR-C" + strconv.Itoa(i)
			c, err := tx.Card(issuerID, id)
			if err != nil {
				return err
			}
			if c.LastKnownBalance == nil || *c.LastKnownBalance != start+want[id] {
				t.Errorf("card %s: last known balance %v, want %d + %d applied", id, c.LastKnownBalance, start, want[id])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

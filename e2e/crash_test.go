package e2e_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/server/openapitest"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// readyWait bounds the wait for a started tes to answer /readyz.
const readyWait = 15 * time.Second

// buildTes builds cmd/tes into dir.
func buildTes(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "tes")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/tes").CombinedOutput(); err != nil {
		t.Fatalf("go build ../cmd/tes: %v\n%s", err, out)
	}
	return bin
}

// tesProcess is a running `tes serve`.
type tesProcess struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{} // closed when the process has exited
}

// tesAddrs are the addresses a tes keeps across restarts.
type tesAddrs struct {
	gateway, admin, data string
	// store, when set, is a --store URL (data is then unused); issuers,
	// when set, replaces the repository's issuers folder.
	store, issuers string
}

// freeAddrs returns n loopback addresses that nothing listened on a moment
// ago, all different: their listeners are held until all n are known, or
// the kernel could hand a port just closed to the next listener, and two
// servers of a test would be given one address (the second then fails to
// bind while the first answers its readiness probe).
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		addrs[i] = ln.Addr().String()
	}
	return addrs
}

// startTes runs `tes serve` on addrs with the repository's issuers (and
// extra flags, which win) and waits until it is ready. The process is
// killed when the test ends.
func startTes(t *testing.T, bin string, addrs tesAddrs, extra ...string) *tesProcess {
	t.Helper()
	p := &tesProcess{stderr: &bytes.Buffer{}, done: make(chan struct{})}
	issuers := issuersDir
	if addrs.issuers != "" {
		issuers = addrs.issuers
	}
	args := []string{"serve", "--addr", addrs.gateway, "--admin-addr", addrs.admin,
		"--data", addrs.data, "--issuers", issuers, "--log-level", "warn"}
	if addrs.store != "" {
		args = append(args, "--store", addrs.store)
	}
	args = append(args, extra...)
	p.cmd = exec.Command(bin, args...)
	// The TES_ variables of the environment would change the flags' meaning.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TES_") {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start tes: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill(t) })

	deadline := time.Now().Add(readyWait)
	for {
		resp, err := http.Get("http://" + addrs.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("tes exited before it was ready: %v\n%s", p.cmd.ProcessState, p.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.kill(t) // stderr is written until the process ends
			t.Fatalf("tes not ready after %s\n%s", readyWait, p.stderr)
		}
	}
}

// kill sends SIGKILL, unless the process has ended, and waits for its end.
func (p *tesProcess) kill(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("kill tes: %v", err)
	}
	<-p.done
}

// crashStack is the tes binary on fixed addresses, with clients that live
// across its restarts.
type crashStack struct {
	*stack
	bin   string
	addrs tesAddrs
	proc  *tesProcess
}

func newCrashStack(t *testing.T, bin string) *crashStack {
	t.Helper()
	free := freeAddrs(t, 2)
	c := &crashStack{stack: &stack{}, bin: bin, addrs: tesAddrs{gateway: free[0], admin: free[1], data: t.TempDir()}}
	c.proc = startTes(t, bin, c.addrs)
	c.connect(t, proxy(t, openapitest.New(t), "http://"+c.addrs.gateway), "http://"+c.addrs.admin)
	return c
}

// crashAndRestart kills tes with SIGKILL and starts it again on the same
// data directory and addresses.
func (c *crashStack) crashAndRestart(t *testing.T) {
	t.Helper()
	c.proc.kill(t)
	if state := c.proc.cmd.ProcessState; state == nil || state.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("tes did not die of SIGKILL: %v", state)
	}
	c.proc = startTes(t, c.bin, c.addrs)
	// A fresh admin client: the old one's connections died with the server.
	c.connect(t, c.gatewayURL, c.adminURL)
}

// crashRow is a kill at one point of a TOPUP's write batch.
type crashRow struct {
	name string
	// answeredBeforeKill: the write's responses were sent and answered
	// before the kill; otherwise the kill falls between the batch leaving
	// and its responses arriving.
	answeredBeforeKill bool
}

func TestCrashDuringTopUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tes binary")
	}
	rows := []crashRow{
		{name: "killed between the write batch and its responses"},
		{name: "killed after the write's reply left", answeredBeforeKill: true},
	}
	bin := buildTes(t, t.TempDir())
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) { row.play(t, bin) })
	}
}

func (row crashRow) play(t *testing.T, bin string) {
	c := newCrashStack(t, bin)
	c.seedCard(t, tsh.CardSeed{CardID: cardID, ProductCode: 1})
	c.seedPurchase(t, purchaseID, cardID, store.PurchaseTopUp, 500)
	crd := demoCard(t, adultIDm)

	st := newStepper(c.gatewayURL, topUp)
	write := st.toWrite(t, crd)
	sessionID := write.ResponseHeader.SessionID
	answer := st.answer(runOn(t, crd, write.Commands), flow.StatusOK)
	applied := stateOf(t, crd)
	if applied.Money != (money{1500, 8}) {
		t.Fatalf("the card did not apply the write: %+v", applied)
	}

	var before server.Reply
	if row.answeredBeforeKill {
		before = st.must(t, answer)
	}
	c.crashAndRestart(t)
	if !row.answeredBeforeKill {
		// The write left and its answer never came: the purchase is
		// UNCERTAIN, durably, until the session goes on.
		if got := c.purchaseStatus(t, purchaseID); got != store.PurchaseUncertain {
			t.Errorf("purchase after the crash: %s, want UNCERTAIN", got)
		}
	}

	last := st.must(t, answer)
	h := last.ResponseHeader
	if h.StatusCode != 0 || h.SessionID != sessionID || len(last.Commands) != 0 || last.Balance == nil || *last.Balance != 1500 {
		t.Errorf("the TOPUP after the restart ended %+v (balance %v), want status 0, session %s, balance 1500", h, last.Balance, sessionID)
	}
	if row.answeredBeforeKill {
		if err := sameReply(before, last); err != nil {
			t.Errorf("replay after the restart: %v", err)
		}
	} else if again := st.must(t, answer); sameReply(last, again) != nil {
		t.Errorf("replay: %v", sameReply(last, again))
	}

	if got := stateOf(t, crd); got != applied {
		t.Errorf("the card changed after the write: %+v, want %+v", got, applied)
	}
	if got := c.purchaseStatus(t, purchaseID); got != store.PurchaseApplied {
		t.Errorf("purchase at the end: %s, want APPLIED", got)
	}
	ledger := c.ledgerCard(t, cardID)
	if ledger.LastKnownBalance == nil || *ledger.LastKnownBalance != 1500 || len(ledger.UncertainPurchases) != 0 {
		t.Errorf("ledger card at the end: %+v", ledger)
	}
	if retry := c.run(t, topUp, crd); retry.StatusCode != flow.StatusOperationFailed {
		t.Errorf("TOPUP retried after the crash: %s, want 911", describe(retry))
	}
	if got := stateOf(t, crd); got != applied {
		t.Errorf("the retry changed the card: %+v", got)
	}
}

// sameReply checks a replay: a new responseId, all else the same but the
// timestamp.
func sameReply(first, again server.Reply) error {
	if first.ResponseHeader.ResponseID == again.ResponseHeader.ResponseID {
		return fmt.Errorf("both have responseId %q", first.ResponseHeader.ResponseID)
	}
	a, b := first, again
	a.ResponseHeader.ResponseID, a.ResponseHeader.Timestamp = "", ""
	b.ResponseHeader.ResponseID, b.ResponseHeader.Timestamp = "", ""
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		return fmt.Errorf("first %s, then %s", ja, jb)
	}
	return nil
}

package e2e_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// hasCommand reports whether a reply's batch holds a command of code (two
// hex digits, after the LEN byte).
func hasCommand(reply server.Reply, code string) bool {
	for _, c := range reply.Commands {
		if len(c.Command) >= 4 && strings.EqualFold(c.Command[2:4], code) {
			return true
		}
	}
	return false
}

// TestCrashBetweenAuthAndRead: tes is killed (SIGKILL) after it sent the
// Authentication2 v2 command and the card answered it; the restarted tes
// opens the session's sealed state (its seal key is kept in the data
// directory), checks the answer and goes on with Read v2 and Write v2 on
// the same authenticated session: the TOPUP ends once, with 1500.
func TestCrashBetweenAuthAndRead(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the tes binary")
	}
	bin := buildTes(t, t.TempDir())
	t.Run("seal key kept", func(t *testing.T) { crashBetweenAuthAndRead(t, bin, false) })
	t.Run("seal key lost", func(t *testing.T) { crashBetweenAuthAndRead(t, bin, true) })
}

// crashBetweenAuthAndRead plays the crash; with loseSealKey the seal key
// file is deleted before the restart, which draws another: the sealed
// state no longer opens, and the operation ends 921 with nothing written.
func crashBetweenAuthAndRead(t *testing.T, bin string, loseSealKey bool) {
	c := newCrashStack(t, bin)
	c.aesSeed(t, tsh.CardSeed{ProductCode: 1}, store.PurchaseTopUp, 500)
	crd := aesCard(t, aesAdultIDm)
	st := newStepper(c.gatewayURL, aesTopUp)
	reply := st.begin(t)
	sessionID := reply.ResponseHeader.SessionID
	for range 5 {
		if hasCommand(reply, "42") {
			break
		}
		reply = st.must(t, st.answer(runOn(t, crd, reply.Commands), flow.StatusOK))
	}
	if !hasCommand(reply, "42") {
		t.Fatalf("no Authentication2 v2 command: %+v", reply)
	}
	answer := st.answer(runOn(t, crd, reply.Commands), flow.StatusOK)

	if loseSealKey {
		c.proc.kill(t)
		if err := os.Remove(filepath.Join(c.addrs.data, node.SealKeyFile)); err != nil {
			t.Fatal(err)
		}
		c.proc = startTes(t, c.bin, c.addrs)
		c.connect(t, c.gatewayURL, c.adminURL)
		reply = st.must(t, answer)
		if reply.ResponseHeader.StatusCode != flow.StatusUnexpectedError {
			t.Errorf("with another seal key: %+v, want 921", reply.ResponseHeader)
		}
		if got := stateOf(t, crd).Money; got != (money{1000, 7}) {
			t.Errorf("card %+v, want it unchanged", got)
		}
		if got := c.aesPurchase(t); got != store.PurchasePending {
			t.Errorf("purchase %s, want PENDING", got)
		}
		return
	}
	c.crashAndRestart(t)

	reply = st.must(t, answer)
	if !hasCommand(reply, "44") || reply.ResponseHeader.SessionID != sessionID {
		t.Fatalf("after the restart: %+v, want the Read v2 of session %s", reply, sessionID)
	}
	for range 5 {
		if len(reply.Commands) == 0 {
			break
		}
		reply = st.must(t, st.answer(runOn(t, crd, reply.Commands), flow.StatusOK))
	}
	h := reply.ResponseHeader
	if h.StatusCode != 0 || reply.Balance == nil || *reply.Balance != 1500 {
		t.Fatalf("the TOPUP ended %+v (balance %v), want 0 and 1500", h, reply.Balance)
	}
	if got := stateOf(t, crd).Money; got != (money{1500, 8}) {
		t.Errorf("card %+v, want 1500 at counter 8", got)
	}
	if got := c.aesPurchase(t); got != store.PurchaseApplied {
		t.Errorf("purchase %s, want APPLIED", got)
	}
}

package e2e_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/tsh"
)

// hostileDir is the hostile issuer of the scripts package's tests: every
// operation's one step misbehaves its own way.
const hostileDir = "../scripts/testdata/hostile/EVIL"

// TestHostileIssuerHurtsOnlyItself runs every hostile operation at once
// beside DEMO READs, through the real server: each hostile one ends 921
// (stopped by the engine's CPU limit or memory budget, or failing in its
// builtin), every DEMO READ succeeds, and the admin API counts the
// hostile issuer's run-time errors (CONTRACT.md §1.7).
func TestHostileIssuerHurtsOnlyItself(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(filepath.Join(root, "DEMO"), os.DirFS(filepath.Join(issuersDir, "DEMO"))); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(root, "EVIL"), os.DirFS(hostileDir)); err != nil {
		t.Fatal(err)
	}
	// 200 ms of CPU each, not the 5 s its own tests use under a deadline.
	manifest := filepath.Join(root, "EVIL", "issuer.yaml")
	raw, err := os.ReadFile(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(manifest, []byte(strings.Replace(string(raw), "stepTimeout: 5s", "stepTimeout: 200ms", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var operations []string
	for line := range strings.Lines(string(raw)) {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "- name: "); ok {
			operations = append(operations, name)
		}
	}
	if len(operations) < 10 {
		t.Fatalf("found %d hostile operations in %s", len(operations), manifest)
	}

	s := newStackOf(t, root)
	const readers = 2
	for i := range readers {
		s.seedCard(t, tsh.CardSeed{CardID: fmt.Sprintf("GOOD-%d", i), ProductCode: 1})
	}

	hostile := make([]int, len(operations))
	stop := make(chan struct{})
	var goodRuns, goodFails int
	var mu sync.Mutex
	var evil, good sync.WaitGroup
	for i, op := range operations {
		evil.Go(func() {
			st := newStepper(s.gatewayURL, tsh.Operation{IssuerID: "EVIL", CardID: "EVIL-" + op, DeviceID: "EVIL-" + op, Operation: op})
			hostile[i] = st.begin(t).ResponseHeader.StatusCode
		})
	}
	for i := range readers {
		good.Go(func() {
			crd := demoCard(t, adultIDm, func(img *card.Image) { img.IDm[7] = byte(i) })
			for {
				select {
				case <-stop:
					return
				default:
				}
				out := s.run(t, tsh.Operation{CardID: fmt.Sprintf("GOOD-%d", i), DeviceID: fmt.Sprintf("GOOD-%d", i), Operation: "READ"}, crd)
				mu.Lock()
				goodRuns++
				if out.StatusCode != flow.StatusOK {
					goodFails++
					t.Errorf("DEMO READ beside the hostile issuer: %s", describe(out))
				}
				mu.Unlock()
			}
		})
	}
	evil.Wait()
	close(stop)
	good.Wait()
	for i, code := range hostile {
		if code != flow.StatusUnexpectedError {
			t.Errorf("hostile %s ended %d, want 921", operations[i], code)
		}
	}
	if goodRuns == 0 || goodFails > 0 {
		t.Errorf("DEMO READs beside the hostile issuer: %d runs, %d failed", goodRuns, goodFails)
	}

	resp, err := http.Get(s.adminURL + server.AdminBasePath + "/issuers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var issuers []struct {
		IssuerID         string `json:"issuerId"`
		RuntimeErrors    int    `json:"runtimeErrors"`
		LastRuntimeError string `json:"lastRuntimeError"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&issuers); err != nil {
		t.Fatal(err)
	}
	for _, iss := range issuers {
		switch iss.IssuerID {
		case "EVIL":
			if iss.RuntimeErrors != len(operations) || iss.LastRuntimeError == "" {
				t.Errorf("EVIL shows %d run-time errors, last %q; want %d and a message", iss.RuntimeErrors, iss.LastRuntimeError, len(operations))
			}
		case "DEMO":
			if iss.RuntimeErrors != 0 {
				t.Errorf("DEMO shows %d run-time errors: %s", iss.RuntimeErrors, iss.LastRuntimeError)
			}
		}
	}
}

package e2e_test

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"testing"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/server"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// TestMetricsPerIssuer runs DEMO operations (a top-up, a top-up the staff
// card refuses, a top-up a device failure leaves UNCERTAIN, a READ left
// open) and reads the per-issuer series from /metrics.
func TestMetricsPerIssuer(t *testing.T) {
	s := newStack(t)
	s.seedCard(t, tsh.CardSeed{CardID: cardID, ProductCode: 1})
	s.seedCard(t, tsh.CardSeed{CardID: "CARD-STAFF", ProductCode: 10})
	s.seedCard(t, tsh.CardSeed{CardID: "CARD-OPEN", ProductCode: 1})
	s.seedPurchase(t, purchaseID, cardID, store.PurchaseTopUp, 500)
	s.seedPurchase(t, "P-STAFF", "CARD-STAFF", store.PurchaseTopUp, 500)
	s.seedPurchase(t, "P-LOST", cardID, store.PurchaseTopUp, 700)

	if out := s.run(t, topUp, demoCard(t, adultIDm)); out.StatusCode != flow.StatusOK {
		t.Fatalf("top-up: %s", describe(out))
	}
	staff := with(topUp, func(op *tsh.Operation) { op.CardID, op.PurchaseID, op.DeviceID = "CARD-STAFF", "P-STAFF", "DEV-STAFF" })
	if out := s.run(t, staff, demoCard(t, staffIDm)); out.StatusCode != flow.StatusNotEligible {
		t.Fatalf("staff top-up: %s", describe(out))
	}
	lost := with(topUp, func(op *tsh.Operation) { op.PurchaseID = "P-LOST" })
	if out := s.run(t, lost, demoCard(t, adultIDm), tsh.Fault{Kind: tsh.DeviceError, RoundTrip: writeAnswer, StatusCode: flow.StatusDeviceError}); out.StatusCode != flow.StatusDeviceError {
		t.Fatalf("lost top-up: %s", describe(out))
	}
	// A READ started and never continued: its session stays open.
	st := newStepper(s.gatewayURL, withDefaults(tsh.Operation{Operation: "READ", CardID: "CARD-OPEN", DeviceID: "DEV-OPEN"}))
	if reply := st.begin(t); reply.ResponseHeader.StatusCode != flow.StatusOK || len(reply.Commands) == 0 {
		t.Fatalf("start READ: %+v", reply)
	}

	resp, err := http.Get(s.adminURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	for _, want := range []string{
		`tes_gateway_requests_total\{endpoint="getCardCommands",issuer="DEMO",operation="TOPUP",status_code="0"\} [1-9]`,
		`tes_gateway_requests_total\{endpoint="getCardCommands",issuer="DEMO",operation="TOPUP",status_code="163"\} 1\b`,
		`tes_gateway_requests_total\{endpoint="getCardCommands",issuer="DEMO",operation="TOPUP",status_code="231"\} 1\b`,
		`tes_step_duration_seconds_count\{issuer="DEMO",operation="TOPUP"\} [1-9]`,
		`tes_step_duration_seconds_bucket\{issuer="DEMO",operation="READ",le="\+Inf"\} 1\b`,
		`tes_open_sessions\{issuer="DEMO",operation="READ"\} 1\b`,
		`tes_uncertain_purchases\{issuer="DEMO"\} 1\b`,
		`tes_uncertain_purchases_yen\{issuer="DEMO"\} 700\b`,
		`tes_issuer_reloads_total\{issuer="DEMO",result="loaded"\} 1\b`,
	} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if regexp.MustCompile(`tes_script_errors_total\{issuer="DEMO"`).MatchString(text) {
		t.Errorf("a script error counted where none happened")
	}
	var issuers []server.IssuerView
	resp, err = http.Get(s.adminURL + "/admin/v1/issuers")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&issuers); err != nil || len(issuers) == 0 || issuers[0].RuntimeErrors != 0 {
		t.Errorf("issuers: %v %+v", err, issuers)
	}
}

package console_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds the whole journey; a loaded machine is slow, and
// the first start of Chromium takes seconds.
const browserTimeout = 3 * time.Minute

// findChromium returns the browser, or skips the test when it is absent,
// except in CI (CI=true), where its absence fails the test.
func findChromium(t *testing.T) string {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, lookErr := exec.LookPath("chromium"); lookErr == nil {
			path = p
		} else {
			if os.Getenv("CI") == "true" {
				t.Fatalf("chromium is not installed (%s): the console's browser test must run in CI", chromiumPath)
			}
			t.Skipf("chromium is not installed (%s); apt-get install -y chromium to run the console's browser test", chromiumPath)
		}
	}
	return path
}

// TestConsoleInBrowser plays a support engineer's morning: log in, find a
// failed top-up by its card, read its trace, resolve a purchase a device
// failure left UNCERTAIN, and find the resolution in the audit log. The
// server is the real one (tsh/local, the DEMO issuer's scripts) over HTTP;
// the browser is headless Chromium. Screenshots go to the test's temporary
// directory.
func TestConsoleInBrowser(t *testing.T) {
	chromium := findChromium(t)
	const adminToken = "browser-test-token"
	fake := clock.NewFake(epoch)
	srv, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), IssuersDir: "../../issuers", Clock: fake, AdminToken: adminToken})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	playOperations(t, srv, adminToken)

	shots := t.TempDir()
	ctx := newBrowser(t, chromium)
	shot := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			var png []byte
			if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), png, 0o600)
		})
	}
	var home, trace, purchase, audit string
	err = chromedp.Run(ctx,
		// The console asks for the token once.
		chromedp.Navigate(srv.AdminURL+"/"),
		chromedp.WaitVisible(`#token`, chromedp.ByID),
		chromedp.SendKeys(`#token`, adminToken, chromedp.ByID),
		chromedp.Click(`#login-button`, chromedp.ByID),
		chromedp.WaitVisible(`#issuer-DEMO`, chromedp.ByID),
		chromedp.Text(`main`, &home, chromedp.ByQuery),
		shot("1-home"),
		// The failed top-up, found by its card through the search form.
		chromedp.Navigate(srv.AdminURL+"/sessions"),
		chromedp.WaitVisible(`#cardId`, chromedp.ByID),
		chromedp.SendKeys(`#cardId`, "CARD-STAFF", chromedp.ByID),
		chromedp.Click(`#search-button`, chromedp.ByID),
		chromedp.WaitVisible(`a.session-link`, chromedp.ByQuery),
		shot("2-search"),
		chromedp.Click(`a.session-link`, chromedp.ByQuery),
		chromedp.WaitVisible(`section.call`, chromedp.ByQuery),
		chromedp.Text(`main`, &trace, chromedp.ByQuery),
		shot("3-trace"),
		// The UNCERTAIN purchase, resolved with a reason.
		chromedp.Navigate(srv.AdminURL+"/purchases/DEMO/P-LOST"),
		chromedp.WaitVisible(`#resolve-form`, chromedp.ByID),
		chromedp.Click(`#outcome-pending`, chromedp.ByID),
		chromedp.SendKeys(`#reason`, "device failed before the write; the card shows counter 7", chromedp.ByID),
		shot("4-resolve"),
		chromedp.Click(`#resolve-button`, chromedp.ByID),
		chromedp.WaitVisible(`#notice`, chromedp.ByID),
		chromedp.Text(`main`, &purchase, chromedp.ByQuery),
		chromedp.Navigate(srv.AdminURL+"/audit"),
		chromedp.WaitVisible(`#audit`, chromedp.ByID),
		chromedp.Text(`#audit`, &audit, chromedp.ByID),
		shot("5-audit"),
	)
	if err != nil {
		t.Fatalf("browser journey: %v (screenshots in %s)", err, shots)
	}
	for _, check := range []struct {
		page, text, want string
	}{
		{"home", home, "P-LOST"},
		{"home", home, "163 Card product not eligible"},
		{"trace", trace, "163 Card product not eligible"},
		{"trace", trace, "Polling"},
		{"trace", trace, "→ fail 163"},
		{"trace", trace, "CARD-STAFF"},
		{"purchase", purchase, "Resolved: the purchase is now PENDING"},
		{"purchase", purchase, "device failed before the write"},
		{"audit", audit, "purchase.resolve"},
		{"audit", audit, "device failed before the write; the card shows counter 7"},
		{"audit", audit, "console token@127.0.0.1"},
	} {
		if !strings.Contains(check.text, check.want) {
			t.Errorf("the %s page does not show %q:\n%s", check.page, check.want, check.text)
		}
	}
	if strings.Contains(home+trace+purchase+audit, adminToken) {
		t.Error("a page shows the admin token")
	}
	t.Logf("screenshots in %s", shots)
	if dir := os.Getenv("TES_SCREENSHOTS"); dir != "" {
		copyDir(t, shots, dir)
	}
}

// newBrowser starts headless Chromium with a fresh profile and returns a
// tab's context; the browser stops when the test ends.
func newBrowser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	}
	timeout, cancelTimeout := context.WithTimeout(context.Background(), browserTimeout)
	alloc, cancelAlloc := chromedp.NewExecAllocator(timeout, opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
		cancelTimeout()
	})
	return ctx
}

// playOperations runs DEMO operations through the gateway: a top-up the
// staff card refuses (163), and a top-up whose device fails before the
// write reaches the card (231), which leaves purchase P-LOST UNCERTAIN.
func playOperations(t *testing.T, srv *node.Node, adminToken string) {
	t.Helper()
	ctx := context.Background()
	admin, err := tsh.NewAdmin(srv.AdminURL, adminToken, tsh.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	client, err := tsh.NewClient(srv.GatewayURL, tsh.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	for _, c := range []tsh.CardSeed{{CardID: "CARD-ADULT", ProductCode: 1}, {CardID: "CARD-STAFF", ProductCode: 10}} {
		c.IssuerID = issuerID
		if _, err := admin.PutCard(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []tsh.PurchaseSeed{{PurchaseID: "P-STAFF", CardID: "CARD-STAFF"}, {PurchaseID: "P-LOST", CardID: "CARD-ADULT"}} {
		p.IssuerID, p.Amount, p.Kind = issuerID, 500, store.PurchaseTopUp
		if _, err := admin.PutPurchase(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	runs := []struct {
		cardID, purchaseID, deviceID, idm string
		faults                            []tsh.Fault
		want                              int
	}{
		{"CARD-STAFF", "P-STAFF", "DEV-1", "012E4C7A11223345", nil, flow.StatusNotEligible},
		{"CARD-ADULT", "P-LOST", "DEV-2", "012E4C7A11223344",
			[]tsh.Fault{{Kind: tsh.DeviceError, RoundTrip: 4, StatusCode: flow.StatusDeviceError}}, flow.StatusDeviceError},
	}
	cat, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		img, ok := cat.Image(r.idm)
		if !ok {
			t.Fatalf("no DEMO card %s", r.idm)
		}
		crd, err := card.New(cat.Layout, img, card.Settings{})
		if err != nil {
			t.Fatal(err)
		}
		op := tsh.Operation{Endpoint: flow.EndpointCard, IssuerID: issuerID, Operation: "TOPUP", CardID: r.cardID,
			PurchaseID: r.purchaseID, DeviceID: r.deviceID, ActorID: "TSH-BROWSER"}
		out, err := client.Run(ctx, op, crd, tsh.Options{Faults: r.faults})
		if err != nil {
			t.Fatalf("run %s: %v", r.purchaseID, err)
		}
		if out.StatusCode != r.want {
			t.Fatalf("%s ended %d %s, want %d", r.purchaseID, out.StatusCode, out.StatusMessage, r.want)
		}
	}
	p, err := admin.Purchase(ctx, issuerID, "P-LOST")
	if err != nil {
		t.Fatal(err)
	}
	if p.Status != store.PurchaseUncertain {
		t.Fatalf("P-LOST is %s after the device failure, want UNCERTAIN", p.Status)
	}
}

// copyDir copies the screenshots to dir (TES_SCREENSHOTS), to look at them
// after the test.
func copyDir(t *testing.T, from, dir string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/issuertest"
	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// Default cards of tes sim: the DEMO sample phone card with 1000 yen, and
// the physical card with 3210 yen for reader mode; for DEMOAES, its sample
// card with 1000 yen, and for tes bench (whose copies get other IDms, and so
// the key store's default individualisation code) the one whose code is
// that default.
const (
	simPhoneCard      = "012E4C7A11223344"
	simPhysicalCard   = "0101120012345678"
	simAESPhoneCard   = "012E4C7A11224401"
	benchAESPhoneCard = "012E4C7A11224406"
)

// aesIssuer is the issuer whose cards are the demo-aes catalogue by default.
const aesIssuer = "DEMOAES"

// defaultImage is --card-image when it was left empty: the built-in
// catalogue of the issuer's cards.
func defaultImage(image, issuer string) string {
	switch {
	case image != "":
		return image
	case issuer == aesIssuer:
		return "demo-aes"
	}
	return "demo"
}

// simFaults collects repeated --fault flags.
type simFaults []tsh.Fault

func (f *simFaults) String() string {
	parts := make([]string, len(*f))
	for i, fault := range *f {
		parts[i] = fault.String()
	}
	return strings.Join(parts, ",")
}

func (f *simFaults) Set(text string) error {
	fault, err := tsh.ParseFault(text)
	if err != nil {
		return err
	}
	*f = append(*f, fault)
	return nil
}

// simConfig is tes sim's command line.
type simConfig struct {
	url, adminURL, adminToken string
	endpoint, operation       string
	issuer, cardID, device    string
	purchase, actor           string
	amount                    int64
	cardImage, card           string
	serviceID                 string
	withoutLEN                bool
	seed, asJSON              bool
	inProcess                 bool
	issuersDir                string
	expect                    int
	timeout                   time.Duration
	faults                    simFaults
}

func simFlags(cfg *simConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("tes sim", flag.ContinueOnError)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "base URL of the server's Device Gateway API")
	fs.StringVar(&cfg.adminURL, "admin-url", "http://127.0.0.1:8081", "base URL of the server's admin API (for --seed)")
	fs.StringVar(&cfg.adminToken, "admin-token", os.Getenv("TES_ADMIN_TOKEN"), "bearer token for the admin API (default $TES_ADMIN_TOKEN)")
	fs.StringVar(&cfg.endpoint, "endpoint", string(flow.EndpointCard), "getCardCommands, getParkCardCommands or getReaderModeCommands")
	fs.StringVar(&cfg.operation, "operation", "", "operation, e.g. TOPUP, READ, REFUND, PARK, READER_MODE (default: the endpoint's default)")
	fs.StringVar(&cfg.issuer, "issuer", "DEMO", "issuerId")
	fs.StringVar(&cfg.cardID, "card-id", "SIM-CARD-1", "cardId in the ledger (not sent in reader mode)")
	fs.StringVar(&cfg.device, "device", "SIM-DEVICE-1", "deviceId")
	fs.StringVar(&cfg.purchase, "purchase", "", "purchaseId (default with --seed for TOPUP and REFUND: a fresh one)")
	fs.StringVar(&cfg.actor, "actor", "tes-sim", "x-actor-id header")
	fs.Int64Var(&cfg.amount, "amount", 500, "amount of the purchase that --seed creates, yen")
	fs.StringVar(&cfg.cardImage, "card-image", "", `card image file (docs/cards.md), or "demo" or "demo-aes" for the built-in ones (default: with --in-process the issuer's own cards.json when it has one, else "demo-aes" for --issuer DEMOAES, else "demo")`)
	fs.StringVar(&cfg.card, "card", "", "the card of the image file to play, by IDm or label (default: with a built-in image "+simPhoneCard+", "+simAESPhoneCard+" for DEMOAES, or "+simPhysicalCard+" in reader mode; else the file's first card)")
	fs.BoolVar(&cfg.inProcess, "in-process", false, "run the server in this process on a temporary store, with the issuers under --issuers: no server, no admin API needed (--url and --admin-url are ignored)")
	fs.StringVar(&cfg.issuersDir, "issuers", "./issuers", "with --in-process: folder of issuer folders")
	fs.StringVar(&cfg.serviceID, "service-id", "tes sim", "cardContents.cardServiceId in reader mode")
	fs.BoolVar(&cfg.withoutLEN, "without-len", false, "frames travel without their LEN byte (issuers configured for iOS)")
	fs.BoolVar(&cfg.seed, "seed", false, "first PUT the card (ACTIVE, its product, the device) and for TOPUP/REFUND the purchase through the admin API")
	fs.BoolVar(&cfg.asJSON, "json", false, "print the outcome as JSON instead of text")
	fs.IntVar(&cfg.expect, "expect", 0, "status code that makes the exit status 0")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "timeout of each HTTP request")
	fs.Var(&cfg.faults, "fault", "inject a fault, repeatable: lose-after-write, fail-before-write, device-error:CODE@N, duplicate@N, pause:DURATION@N (N counts round trips from 1)")
	return fs
}

const simAbout = `Plays the TSH for one operation against a running tes server (or, with
--in-process, one built in this process on a temporary store), with a virtual
card: sends the request, runs each command on the card, sends the answers back,
and prints every round trip decoded. Exits 0 when the final status code equals
--expect, 1 otherwise, 2 on bad usage.`

// runSim is tes sim.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg simConfig
	if code, ok := parseSubcommand(simFlags(&cfg), simAbout, args, stdout, stderr); !ok {
		return code
	}
	endpoint := flow.Endpoint(cfg.endpoint)
	switch endpoint {
	case flow.EndpointCard, flow.EndpointPark, flow.EndpointReaderMode:
	default:
		fmt.Fprintf(stderr, "tes sim: unknown --endpoint %q\n", cfg.endpoint)
		return exitUsage
	}
	if own := filepath.Join(cfg.issuersDir, cfg.issuer, issuertest.DefaultImageFile); cfg.cardImage == "" && cfg.inProcess && fileExists(own) {
		cfg.cardImage = own
	}
	cfg.cardImage = defaultImage(cfg.cardImage, cfg.issuer)
	catalog, err := loadCatalog(cfg.cardImage)
	if err != nil {
		fmt.Fprintf(stderr, "tes sim: %v\n", err)
		return exitUsage
	}
	key := cfg.card
	switch {
	case key != "":
	case cfg.cardImage == "demo" || cfg.cardImage == "demo-aes":
		key = simPhoneCard
		switch {
		case endpoint == flow.EndpointReaderMode:
			key = simPhysicalCard
		case cfg.cardImage == "demo-aes":
			key = simAESPhoneCard
		}
	case len(catalog.Cards) > 0:
		key = catalog.Cards[0].IDm.String()
	default:
		fmt.Fprintf(stderr, "tes sim: %s holds no card\n", cfg.cardImage)
		return exitUsage
	}
	img, ok := catalog.Image(key)
	if !ok {
		fmt.Fprintf(stderr, "tes sim: no card %q in %s\n", key, cfg.cardImage)
		return exitUsage
	}
	framing := felica.WithLEN
	if cfg.withoutLEN {
		framing = felica.WithoutLEN
	}
	vcard, err := card.New(catalog.Layout, img, card.Settings{Framing: framing})
	if err != nil {
		fmt.Fprintf(stderr, "tes sim: %v\n", err)
		return exitUsage
	}
	op := simOperation(cfg, endpoint, catalog.Layout, img)
	pause := (func(context.Context, time.Duration) error)(nil)
	if cfg.inProcess {
		dataDir, err := os.MkdirTemp("", "tes-sim-*")
		if err != nil {
			fmt.Fprintf(stderr, "tes sim: %v\n", err)
			return exitFail
		}
		defer os.RemoveAll(dataDir)
		// A fake clock that only pauses move: pause:70s@2 takes no time.
		clk := clock.NewFake(time.Now())
		srv, err := node.Start(ctx, node.Config{DataDir: dataDir, IssuersDir: cfg.issuersDir, Clock: clk})
		if err != nil {
			fmt.Fprintf(stderr, "tes sim: start in process: %v\n", err)
			return exitFail
		}
		defer srv.Close()
		cfg.url, cfg.adminURL = srv.GatewayURL, srv.AdminURL
		pause = func(_ context.Context, d time.Duration) error {
			clk.Advance(d)
			return nil
		}
	}
	if cfg.seed {
		if err := simSeed(ctx, cfg, &op, catalog, img); err != nil {
			fmt.Fprintf(stderr, "tes sim: seed: %v\n", err)
			return exitFail
		}
	}
	client, err := tsh.NewClient(cfg.url, tsh.ClientOptions{Timeout: cfg.timeout})
	if err != nil {
		fmt.Fprintf(stderr, "tes sim: %v\n", err)
		return exitUsage
	}
	defer client.CloseIdleConnections()
	out, runErr := client.Run(ctx, op, vcard, tsh.Options{Faults: cfg.faults, Framing: framing, Pause: pause})
	if err := simPrint(stdout, out, cfg.asJSON); err != nil {
		fmt.Fprintf(stderr, "tes sim: print: %v\n", err)
		return exitFail
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "tes sim: %v\n", runErr)
		return exitFail
	}
	if out.StatusCode != cfg.expect {
		fmt.Fprintf(stderr, "tes sim: status %d, expected %d\n", out.StatusCode, cfg.expect)
		return exitFail
	}
	return exitOK
}

// loadCatalog reads --card-image.
func loadCatalog(source string) (*card.Catalog, error) {
	switch source {
	case "demo":
		return card.Demo()
	case "demo-aes":
		return card.DemoAES()
	}
	return card.LoadFile(source)
}

// simOperation is the operation the command line asks for.
func simOperation(cfg simConfig, endpoint flow.Endpoint, layout card.Layout, img card.Image) tsh.Operation {
	op := tsh.Operation{
		Endpoint: endpoint, IssuerID: cfg.issuer, Operation: cfg.operation,
		DeviceID: cfg.device, ActorID: cfg.actor,
	}
	switch endpoint {
	case flow.EndpointReaderMode:
		op.CardContents = tsh.Contents(layout, img.IDm, cfg.serviceID)
	case flow.EndpointCard:
		op.CardID, op.PurchaseID = cfg.cardID, cfg.purchase
	default:
		op.CardID = cfg.cardID
	}
	return op
}

// simSeed provisions the card and, for a money operation, its purchase,
// inventing a purchaseId when none was given.
func simSeed(ctx context.Context, cfg simConfig, op *tsh.Operation, catalog *card.Catalog, img card.Image) error {
	if op.Endpoint == flow.EndpointReaderMode {
		return nil
	}
	admin, err := tsh.NewAdmin(cfg.adminURL, cfg.adminToken, tsh.ClientOptions{Timeout: cfg.timeout})
	if err != nil {
		return err
	}
	// The image file says where its cards keep their product code; the
	// built-in DEMO file predates that declaration.
	product, ok := catalog.ProductCode(img)
	if !ok {
		product, _ = tsh.DemoProductCode(img)
	}
	if _, err := admin.PutCard(ctx, tsh.CardSeed{IssuerID: op.IssuerID, CardID: op.CardID, ProductCode: product, DeviceID: op.DeviceID}); err != nil {
		return err
	}
	kind := store.PurchaseKind(op.Operation)
	if kind == "" && op.PurchaseID != "" {
		kind = store.PurchaseTopUp // the server's default with a purchase
	}
	if op.Endpoint != flow.EndpointCard || (kind != store.PurchaseTopUp && kind != store.PurchaseRefund) {
		return nil
	}
	if op.PurchaseID == "" {
		op.PurchaseID = fmt.Sprintf("SIM-%d", time.Now().UnixNano())
	}
	_, err = admin.PutPurchase(ctx, tsh.PurchaseSeed{IssuerID: op.IssuerID, PurchaseID: op.PurchaseID, CardID: op.CardID, Amount: cfg.amount, Kind: kind})
	return err
}

func fileExists(name string) bool {
	info, err := os.Stat(name)
	return err == nil && !info.IsDir()
}

func simPrint(w io.Writer, out tsh.Outcome, asJSON bool) error {
	if !asJSON {
		return out.WriteText(w)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

package bench_test

import (
	"context"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/tsh"
	"github.com/tes-project/tes/tsh/bench"
)

// demoConfig is a small run against an in-process server with the
// embedded DEMO issuer.
func demoConfig(t *testing.T) bench.Config {
	t.Helper()
	srv, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), IssuersDir: t.TempDir() + "/none"})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	client, err := tsh.NewClient(srv.GatewayURL, tsh.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := tsh.NewAdmin(srv.AdminURL, "", tsh.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := card.Demo()
	if err != nil {
		t.Fatal(err)
	}
	phone, _ := cat.Image("012E4C7A11223344")
	physical, _ := cat.Image("0101120012345678")
	mix, err := bench.ParseMix("TOPUP=2,READ,REFUND,PARK,READER_MODE")
	if err != nil {
		t.Fatal(err)
	}
	return bench.Config{
		Client: client, Admin: admin, IssuerID: "DEMO", Devices: 4, Mix: mix, Count: 40, Amount: 1,
		Layout: cat.Layout, Phone: phone, Physical: physical,
	}
}

func TestRunAndBaseline(t *testing.T) {
	cfg := demoConfig(t)
	real, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if real.Operations != 40 || len(real.Errors) != 0 {
		t.Fatalf("%d operations, errors %v; want 40 without errors", real.Operations, real.Errors)
	}
	if real.Requests < 2*real.Operations || real.Latency.Count != real.Requests || real.OpsPerSecond <= 0 || real.RequestsPerSecond <= real.OpsPerSecond {
		t.Errorf("report %+v does not add up", real)
	}
	for _, op := range []string{"TOPUP", "READ", "REFUND", "PARK", "READER_MODE"} {
		if _, ok := real.Captured[op]; !ok {
			t.Errorf("no %s captured", op)
		}
	}

	bare, err := bench.StartBare(real.Captured)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = bare.Close() })
	if cfg.Client, err = tsh.NewClient(bare.URL, tsh.ClientOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg.Admin = nil
	base, err := bench.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Run against the bare server: %v", err)
	}
	if base.Operations != 40 || len(base.Errors) != 0 {
		t.Fatalf("bare: %d operations, errors %v; want 40 without errors", base.Operations, base.Errors)
	}
	// The same devices and mix: the bare server must lead them through the
	// same round trips as the real one did.
	if base.Requests != real.Requests {
		t.Errorf("bare server took %d requests, the real one %d", base.Requests, real.Requests)
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	cfg := demoConfig(t)
	for name, change := range map[string]func(*bench.Config){
		"no devices":        func(c *bench.Config) { c.Devices = 0 },
		"too many devices":  func(c *bench.Config) { c.Devices = bench.MaxDevices + 1 },
		"no limit":          func(c *bench.Config) { c.Count, c.Duration = 0, 0 },
		"too long":          func(c *bench.Config) { c.Duration = bench.MaxDuration + 1 },
		"no mix":            func(c *bench.Config) { c.Mix = nil },
		"no amount":         func(c *bench.Config) { c.Amount = 0 },
		"no client":         func(c *bench.Config) { c.Client = nil },
		"too many requests": func(c *bench.Config) { c.Count = bench.MaxCount + 1 },
	} {
		c := cfg
		change(&c)
		if _, err := bench.Run(context.Background(), c); err == nil {
			t.Errorf("%s: Run accepted it", name)
		}
	}
}

func TestStartBareNeedsCaptures(t *testing.T) {
	if _, err := bench.StartBare(nil); err == nil {
		t.Error("StartBare(nil) started")
	}
}

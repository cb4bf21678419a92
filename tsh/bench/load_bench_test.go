package bench_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/tsh"
	"github.com/tes-project/tes/tsh/bench"
)

// BenchmarkTopUpInProcess runs what `tes bench --in-process` runs, DEMO
// TOPUPs against the real server (fiber, engine, Lua, bbolt) in this
// process, so that a profile (-cpuprofile, -memprofile) covers the server
// under load. b.N counts operations, shared by the devices.
func BenchmarkTopUpInProcess(b *testing.B) {
	for _, devices := range []int{1, 64} {
		b.Run(fmt.Sprintf("devices=%d", devices), func(b *testing.B) {
			srv, err := node.Start(context.Background(), node.Config{
				DataDir: b.TempDir(), IssuersDir: b.TempDir() + "/none",
				Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
			})
			if err != nil {
				b.Fatalf("start server: %v", err)
			}
			b.Cleanup(func() { _ = srv.Close() })
			opts := tsh.ClientOptions{MaxConnsPerHost: devices}
			client, err := tsh.NewClient(srv.GatewayURL, opts)
			if err != nil {
				b.Fatal(err)
			}
			admin, err := tsh.NewAdmin(srv.AdminURL, "", opts)
			if err != nil {
				b.Fatal(err)
			}
			cat, err := card.Demo()
			if err != nil {
				b.Fatal(err)
			}
			phone, _ := cat.Image("012E4C7A11223344")
			physical, _ := cat.Image("0101120012345678")
			mix, err := bench.ParseMix("TOPUP")
			if err != nil {
				b.Fatal(err)
			}
			cfg := bench.Config{
				Client: client, Admin: admin, IssuerID: "DEMO", Devices: devices, Mix: mix,
				Count: max(b.N, devices), Amount: 1, Layout: cat.Layout, Phone: phone, Physical: physical,
			}
			b.ResetTimer()
			r, err := bench.Run(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if len(r.Errors) > 0 {
				b.Fatalf("errors: %v", r.Errors)
			}
			b.ReportMetric(r.RequestsPerSecond, "roundtrips/s")
			b.ReportMetric(float64(r.Latency.P50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(r.Latency.P99.Microseconds())/1000, "p99-ms")
		})
	}
}

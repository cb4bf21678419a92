package bench_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

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
			data := b.TempDir()
			srv, err := node.Start(context.Background(), node.Config{
				DataDir: data, IssuersDir: b.TempDir() + "/none",
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
			// Else the listeners' drain waits for the keep-alive connections.
			client.CloseIdleConnections()
			admin.CloseIdleConnections()
			if err := srv.Close(); err != nil {
				b.Fatal(err)
			}
			reportSessionBytes(b, filepath.Join(data, node.StoreFile))
		})
	}
}

// reportSessionBytes reports what the ended sessions of the run take in
// the store file at path, per session: their records, their trace entries
// and their entries in the other session buckets (indexes, claims,
// pointers), keys and values, without bbolt's page overhead.
func reportSessionBytes(b *testing.B, path string) {
	b.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var sessions, record, trace, index int
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bucket *bolt.Bucket) error {
			if !strings.HasPrefix(string(name), "sessions") {
				return nil
			}
			return bucket.ForEach(func(k, v []byte) error {
				switch n := len(k) + len(v); string(name) {
				case "sessions":
					sessions++
					record += n
				case "sessions.trace":
					trace += n
				default:
					index += n
				}
				return nil
			})
		})
	})
	if err != nil || sessions == 0 {
		b.Fatalf("%d sessions in %s: %v", sessions, path, err)
	}
	b.ReportMetric(float64(record)/float64(sessions), "record-B/session")
	b.ReportMetric(float64(trace)/float64(sessions), "trace-B/session")
	b.ReportMetric(float64(index)/float64(sessions), "index-B/session")
}

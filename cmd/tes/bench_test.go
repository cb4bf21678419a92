package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestBenchUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"help", []string{"--help"}, exitOK},
		{"unknown flag", []string{"--bogus"}, exitUsage},
		{"unknown operation", []string{"--operation", "FLY"}, exitUsage},
		{"bad mix", []string{"--mix", "TOPUP=x"}, exitUsage},
		{"remote server", []string{"--url", "http://192.168.1.10:8080"}, exitUsage},
		{"remote server in a list", []string{"--url", "http://127.0.0.1:8080,http://192.168.1.10:8080"}, exitUsage},
		{"bad server pid", []string{"--server-pid", "12,x"}, exitUsage},
		{"remote admin", []string{"--admin-url", "http://example.com:8081"}, exitUsage},
		{"no devices", []string{"--devices", "0"}, exitUsage},
		{"no limit", []string{"--duration", "0"}, exitUsage},
		{"too long", []string{"--duration", "2h"}, exitUsage},
		{"unknown card", []string{"--card", "nobody"}, exitUsage},
		{"stray argument", []string{"64"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runBench(context.Background(), tt.args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, &stderr)
			}
			if tt.code != exitOK {
				return
			}
			for _, opt := range []string{"url", "admin-url", "admin-token", "in-process", "issuers", "data", "group-commit", "devices", "operation", "mix", "duration", "count", "amount", "issuer", "card-image", "card", "physical-card", "baseline", "server-pid", "postgres-pid", "timeout", "json"} {
				if !strings.Contains(stdout.String(), "  -"+opt) {
					t.Errorf("--help does not list --%s:\n%s", opt, &stdout)
				}
			}
		})
	}
}

func TestBenchInProcess(t *testing.T) {
	args := []string{"--in-process", "--issuers", t.TempDir() + "/none", "--data", t.TempDir(), "--devices", "2", "--count", "8", "--mix", "TOPUP,READ", "--baseline"}
	var stdout, stderr bytes.Buffer
	if code := runBench(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	for _, want := range []string{
		`^tes bench: 2 devices, mix TOPUP=1,READ=1, 8 operations, against http://127\.0\.0\.1:\d+ \(in this process\)$`,
		`^tes: [0-9.]+ operations/s, [0-9.]+ round trips/s \(8 operations, \d+ requests in `,
		`^  round-trip latency: p50 [0-9.]+ ms, p95 [0-9.]+ ms, p99 [0-9.]+ ms, max [0-9.]+ ms$`,
		`^  errors: none$`,
		`^  memory of this process \(server and load generator\): RSS [0-9.]+ MiB \(peak [0-9.]+ MiB\), Go heap in use `,
		`^bare fiber: [0-9.]+ operations/s, `,
		`^  CPU during the run: this process [0-9.]+ s; per round trip \d+ µs `,
		`^  CPU during the run: this process \(load generator and bare server\) [0-9.]+ s; per round trip \d+ µs$`,
		`^ratio: tes runs [0-9.]+% of the bare server's operations/s`,
	} {
		if !regexp.MustCompile(`(?m)` + want).MatchString(stdout.String()) {
			t.Errorf("no line matches %s in:\n%s", want, &stdout)
		}
	}
}

func TestBenchJSON(t *testing.T) {
	args := []string{"--in-process", "--issuers", t.TempDir() + "/none", "--devices", "2", "--count", "4", "--operation", "READER_MODE", "--json"}
	var stdout, stderr bytes.Buffer
	if code := runBench(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	var res benchResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, &stdout)
	}
	if res.Server.Operations != 4 || len(res.Server.Errors) != 0 || res.Server.Latency.Count != res.Server.Requests || res.Memory == nil || res.Memory.RSS == 0 || res.Baseline != nil {
		t.Errorf("result %+v", res)
	}
}

// TestBenchDEMOAES: the authenticated issuer runs under load on copies of
// its sample card, with the built-in test keys.
func TestBenchDEMOAES(t *testing.T) {
	args := []string{"--in-process", "--issuers", t.TempDir() + "/none", "--issuer", "DEMOAES", "--devices", "2", "--count", "8", "--mix", "TOPUP,READ,REFUND"}
	var stdout, stderr bytes.Buffer
	if code := runBench(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	for _, want := range []string{`^tes: [0-9.]+ operations/s, [0-9.]+ round trips/s \(8 operations, `, `^  errors: none$`} {
		if !regexp.MustCompile(`(?m)` + want).MatchString(stdout.String()) {
			t.Errorf("no line matches %s in:\n%s", want, &stdout)
		}
	}
}

func TestCPUUsedSplitsServerAndLoadGenerator(t *testing.T) {
	before := cpuSample{servers: 1 * time.Second, self: 2 * time.Second}
	after := cpuSample{servers: 5 * time.Second, self: 4 * time.Second}
	for _, tc := range []struct {
		name          string
		cfg           benchConfig
		perRoundTrip  time.Duration
		loadRoundTrip time.Duration
	}{
		{"separate server", benchConfig{serverPIDs: "42"}, 4 * time.Millisecond, 2 * time.Millisecond},
		{"in process", benchConfig{inProcess: true}, 2 * time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cpuUsed(tc.cfg, before, after, 1000)
			if c == nil {
				t.Fatal("no CPU figures")
			}
			if c.PerRoundTrip != tc.perRoundTrip || c.LoadPerRoundTrip != tc.loadRoundTrip {
				t.Errorf("per round trip %s, load generator %s; want %s and %s", c.PerRoundTrip, c.LoadPerRoundTrip, tc.perRoundTrip, tc.loadRoundTrip)
			}
		})
	}
}

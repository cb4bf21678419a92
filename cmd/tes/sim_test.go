package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/tsh"
)

// startDEMO runs a server with the embedded DEMO issuer and returns the
// flags that point tes sim and tes bench at it.
func startDEMO(t *testing.T) []string {
	t.Helper()
	srv, err := node.Start(context.Background(), node.Config{DataDir: t.TempDir(), IssuersDir: t.TempDir() + "/none"})
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return []string{"--url", srv.GatewayURL, "--admin-url", srv.AdminURL}
}

func TestSim(t *testing.T) {
	server := startDEMO(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string // regular expressions, each matching some line
	}{
		{
			name: "top-up", args: []string{"--seed", "--operation", "TOPUP", "--purchase", "P-TOPUP", "--amount", "500"},
			wantOut: []string{
				`^round trip 1: start, operation TOPUP, issuer DEMO, card SIM-CARD-1, purchase P-TOPUP, device SIM-DEVICE-1  \(HTTP 200, `,
				`command Polling system=80DE`,
				`answer  Polling response IDm=012E4C7A11223344`,
				`command Write Without Encryption IDm=012E4C7A11223344 services=\[1009 .*090D`,
				`answer  Write Without Encryption response .*status=00 00 ok`,
				`^  server: status 0 OK, session [0-9a-f]+, balance 1500, end$`,
				`^result: status 0 OK, balance 1500, \d+ round trips$`,
			},
		},
		{
			name: "staff card may not top up", args: []string{"--seed", "--operation", "TOPUP", "--card", "012E4C7A11223345", "--card-id", "STAFF", "--device", "D-STAFF", "--expect", "163"},
			wantOut: []string{`^result: status 163 `},
		},
		{
			name: "read", args: []string{"--seed", "--operation", "READ", "--card-id", "READER", "--device", "D-READ"},
			wantOut: []string{`^result: status 0 OK, balance 1000`},
		},
		{
			name: "reader mode", args: []string{"--endpoint", "getReaderModeCommands", "--device", "D-RM"},
			wantOut: []string{`start, issuer DEMO, device D-RM, physical card 0101120012345678`, `^result: status 0 OK, balance 3210, cardAccountId \S+`},
		},
		{
			name: "lost write answer is settled", args: []string{"--seed", "--operation", "TOPUP", "--card-id", "LOST", "--device", "D-LOST", "--fault", "lose-after-write"},
			wantOut: []string{`answer  none \(card: no answer`, `^result: status 0 OK, balance 1500`},
		},
		{
			name: "device error", args: []string{"--seed", "--operation", "TOPUP", "--card-id", "DEV", "--device", "D-DEV", "--fault", "device-error:231@2", "--expect", "231"},
			wantOut: []string{`^round trip 2: 1 response, device status 231 \(device failure`, `^result: status 231 `},
		},
		{
			name: "DEMOAES top-up", args: []string{"--issuer", "DEMOAES", "--seed", "--operation", "TOPUP", "--card-id", "AES-1", "--device", "D-AES-1"},
			wantOut: []string{
				`command Request Service v2 IDm=012E4C7A11224401 nodes=\[1008 .*090C`,
				`answer  Request Service v2 response .*aes-key-versions=\[0001 0001\]`,
				`command Authentication1 v2 IDm=012E4C7A11224401`,
				`command Authentication2 v2 IDm=012E4C7A11224401`,
				`command Write v2 transaction=`,
				`^result: status 0 OK, balance 1500, 7 round trips$`,
			},
		},
		{
			name: "DEMOAES lost write answer is settled", args: []string{"--issuer", "DEMOAES", "--seed", "--operation", "TOPUP", "--card-id", "AES-2", "--device", "D-AES-2", "--fault", "lose-after-write"},
			wantOut: []string{`answer  none \(card: no answer`, `^result: status 0 OK, balance 1500`},
		},
		{
			name: "DEMOAES key version the store lacks", args: []string{"--issuer", "DEMOAES", "--seed", "--operation", "READ", "--card", "012E4C7A11224405", "--card-id", "AES-3", "--device", "D-AES-3", "--expect", "177"},
			wantOut: []string{`^result: status 177 `},
		},
		{
			name: "DEMOAES card does not authenticate", args: []string{"--issuer", "DEMOAES", "--seed", "--operation", "TOPUP", "--card", "012E4C7A11224404", "--card-id", "AES-4", "--device", "D-AES-4", "--expect", "911"},
			wantOut: []string{`^result: status 911 `},
		},
		{
			name: "unexpected status", args: []string{"--operation", "READ", "--card-id", "NOBODY", "--device", "D-NOBODY"},
			wantCode: exitFail, wantOut: []string{`^result: status 119 `},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runSim(context.Background(), append(append([]string{}, server...), tt.args...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, &stdout, &stderr)
			}
			for _, want := range tt.wantOut {
				if !regexp.MustCompile(`(?m)` + want).MatchString(stdout.String()) {
					t.Errorf("no line matches %s in:\n%s", want, &stdout)
				}
			}
		})
	}
}

func TestSimJSON(t *testing.T) {
	server := startDEMO(t)
	var stdout, stderr bytes.Buffer
	args := append(server, "--seed", "--operation", "TOPUP", "--json", "--fault", "duplicate@2")
	if code := runSim(context.Background(), args, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	var out tsh.Outcome
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("output is not an Outcome: %v\n%s", err, &stdout)
	}
	if out.StatusCode != 0 || out.Balance == nil || *out.Balance != 1500 || len(out.RoundTrips) < 3 {
		t.Errorf("outcome %+v", out)
	}
	if out.RoundTrips[1].Duplicate == nil || out.RoundTrips[0].Commands[0].CommandText == "" {
		t.Errorf("round trips lack the duplicate or the decoded commands: %s", &stdout)
	}
}

func TestSimUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
	}{
		{"help", []string{"--help"}, exitOK},
		{"unknown flag", []string{"--bogus"}, exitUsage},
		{"bad fault", []string{"--fault", "explode"}, exitUsage},
		{"bad endpoint", []string{"--endpoint", "getNothing"}, exitUsage},
		{"unknown card", []string{"--card", "FFFFFFFFFFFFFFFF"}, exitUsage},
		{"missing catalogue", []string{"--card-image", "/nonexistent.json"}, exitUsage},
		{"stray argument", []string{"TOPUP"}, exitUsage},
		{"bad url", []string{"--url", "localhost:8080"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := runSim(context.Background(), tt.args, &stdout, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, &stderr)
			}
			if tt.code == exitOK {
				for _, opt := range []string{"url", "admin-url", "admin-token", "endpoint", "operation", "issuer", "card-id", "device", "purchase", "actor", "amount", "card-image", "card", "service-id", "without-len", "seed", "json", "expect", "timeout", "fault"} {
					if !strings.Contains(stdout.String(), "  -"+opt) {
						t.Errorf("--help does not list --%s:\n%s", opt, &stdout)
					}
				}
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTestCommand(t *testing.T) {
	broken := t.TempDir()
	if err := os.CopyFS(filepath.Join(broken, "DEMO"), os.DirFS("../../issuers/DEMO")); err != nil {
		t.Fatal(err)
	}
	money := filepath.Join(broken, "DEMO", "money.lua")
	data, err := os.ReadFile(money)
	if err != nil {
		t.Fatal(err)
	}
	patched := strings.Replace(string(data), `purchase.amount > vars.balance", fail = 162 }`, `purchase.amount > vars.balance", fail = 163 }`, 1)
	if err := os.WriteFile(money, []byte(patched), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string // lines or parts the output must hold
	}{
		{"shipped issuers pass", []string{"--issuers", "../../issuers"}, exitOK,
			[]string{"ok   DEMO/tests/topup.yaml:4: TOPUP 500 on the adult card", "ok   DEMOAES/tests/topup.yaml:5: TOPUP 500 on the keyed adult card",
				"ok: ", " 0 failed, 0 skipped, 0 problems; 2 issuers in "}},
		{"keyed cards with the built-in test keys", []string{"DEMOAES", "--issuers", "../../issuers", "--run", "^TOPUP 500 on the keyed adult card$"}, exitOK,
			[]string{"ok: 1 passed, 0 failed"}},
		{"a key store that does not exist", []string{"DEMOAES", "--issuers", "../../issuers", "--keys", "/nonexistent-tes-keys"}, exitFail, nil},
		{"--run and an issuer argument", []string{"DEMO", "--issuers", "../../issuers", "--run", "^REFUND 300$"}, exitOK,
			[]string{"ok   DEMO/tests/refund.yaml:2: REFUND 300", "ok: 1 passed, 0 failed"}},
		{"a changed status code fails its case", []string{"--issuers", broken, "--run", "REFUND"}, exitFail,
			[]string{"FAIL DEMO/tests/refund.yaml:27: REFUND above the balance is 162", "run[1] REFUND: status 163 (Card product not eligible), want 162", "FAIL: "}},
		{"unknown issuer", []string{"--issuers", "../../issuers", "NOPE"}, exitFail, []string{`ERROR ../../issuers: no issuer folder "NOPE"`}},
		{"bad --run", []string{"--run", "("}, exitUsage, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantRun(t, runTest, tt.args, tt.code, tt.want) })
	}
}

func TestTestCommandJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runTest(context.Background(), []string{"--issuers", "../../issuers", "--json", "--run", "^READ$"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var rep struct {
		Passed  int `json:"passed"`
		Results []struct {
			Name string `json:"name"`
			Pass bool   `json:"pass"`
		} `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 1 || len(rep.Results) != 1 || rep.Results[0].Name != "READ" || !rep.Results[0].Pass {
		t.Errorf("report %+v", rep)
	}
}

func TestSimInProcess(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"TOPUP on the image's first card", []string{"--seed", "--operation", "TOPUP"}, exitOK, "result: status 0 OK, balance 1500, 4 round trips"},
		{"the staff card's product code comes from the image", []string{"--seed", "--operation", "TOPUP", "--card", "012E4C7A11223345", "--expect", "163"}, exitOK, "result: status 163"},
		{"a pause passes the TTL without waiting", []string{"--seed", "--operation", "READ", "--fault", "pause:70s@2", "--expect", "322"}, exitOK, "result: status 322"},
		{"reader mode", []string{"--endpoint", "getReaderModeCommands", "--card", "0101120012345678"}, exitOK, "result: status 0 OK, balance 3210"},
		{"an unknown card", []string{"--card", "NOPE"}, exitUsage, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"--in-process", "--issuers", "../../issuers"}, tt.args...)
			code := runSim(context.Background(), args, &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.want) {
				t.Errorf("exit %d, want %d; output lacks %q?\n%s\n%s", code, tt.code, tt.want, stdout.String(), stderr.String())
			}
		})
	}
}

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckCommand(t *testing.T) {
	empty := t.TempDir()
	badTest := t.TempDir()
	if err := os.CopyFS(filepath.Join(badTest, "DEMO"), os.DirFS("../../issuers/DEMO")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(badTest, "DEMO", "tests", "bad.yaml"), []byte("name: x\nrun: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		code int
		want string
	}{
		{"shipped issuers", "../../issuers", exitOK, "ok: 2 issuers, 8 operations, 6 flows, 139 tests, 0 warnings in ../../issuers\n"},
		{"empty folder", empty, exitFail, empty + ": no issuer folder here (each issuer is a folder holding issuer.yaml)\n"},
		{"a test that does not parse", badTest, exitFail, "DEMO/tests/bad.yaml:1: x: card: sample (a card of the image file), idm and blocks, or none: true\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runCheck([]string{"--issuers", tt.dir}, &stdout, &stderr)
			if code != tt.code || stdout.String() != tt.want {
				t.Errorf("exit %d, output %q; want %d, %q (stderr %q)", code, stdout.String(), tt.code, tt.want, stderr.String())
			}
			if strings.Contains(stdout.String(), "ok:") && tt.code != exitOK {
				t.Error("a summary line after problems")
			}
		})
	}
}

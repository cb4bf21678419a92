package tsh_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/tes-project/tes/tsh"
)

func TestWriteText(t *testing.T) {
	s := newStack(t)
	f, err := tsh.ParseFault("lose-after-write")
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.client.Run(context.Background(), topUpOp, sampleCard(t), tsh.Options{Faults: []tsh.Fault{f}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := out.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	wants := []string{
		`^round trip 1: start, operation TOPUP, issuer DEMO, card C1, purchase P1, device D1  \(HTTP 200, [0-9.]+ ms\)$`,
		`^  server: status 0 OK, session [0-9a-f]+, 1 command$`,
		`^  \S+ command Polling\b.*80DE`,
		`^  \s+ answer  Polling response\b.*012E4C7A11223344`,
		`^round trip 2: 1 response, device status 0  \(HTTP 200, [0-9.]+ ms\)$`,
		`^  server: status 0 OK, session [0-9a-f]+, 1 command$`,
		`^  \S+ command Read Without Encryption\b.*100B`,
		`^  \s+ answer  Read Without Encryption response\b.*E8030000`,
		`^round trip 3: `,
		`^  server: `,
		`^  \S+ command Write Without Encryption\b.*1009.*DC050000`,
		`^  \s+ answer  none \(card: no answer.*\)$`,
		`^round trip 4: 1 response, device status 0  `,
		`^  server: status 911 Operation failed, session [0-9a-f]+, end$`,
		`^result: status 911 Operation failed, 4 round trips$`,
	}
	if len(lines) != len(wants) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(wants), text)
	}
	for i, want := range wants {
		if !regexp.MustCompile(want).MatchString(lines[i]) {
			t.Errorf("line %d:\n got %q\nwant %s", i+1, lines[i], want)
		}
	}
}

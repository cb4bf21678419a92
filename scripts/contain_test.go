package scripts_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tes-project/tes/scripts"
)

// TestIssuerFoldersAreContained builds, beside a good DEMO, one issuer
// folder per way out of the issuers root or past its limits: each is a
// load error of that issuer only, found without walking the file system,
// logged once, and the watcher does not crawl it either.
func TestIssuerFoldersAreContained(t *testing.T) {
	root := copyDemo(t, "2s", "", map[string]string{
		".shared/extra.lua": "return {}\n",
	})
	link := func(target, at string) {
		t.Helper()
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(root, at)), 0o755))
		must(t, os.Symlink(target, filepath.Join(root, at)))
	}
	write := func(at, data string) {
		t.Helper()
		must(t, writeFile(filepath.Join(root, at), data))
	}
	manifest := func(id string) { write(id+"/issuer.yaml", "id: "+id+"\nsystemCode: \"80DE\"\noperations: []\n") }

	tests := []struct {
		issuer string
		build  func()
		want   string // in the issuer's status error
	}{
		{"SLASH", func() { manifest("SLASH"); link("/", "SLASH/escape") }, "outside the issuers root"},
		{"WHOLE", func() { link("/", "WHOLE") }, "outside the issuers root"},
		{"UPUP", func() { manifest("UPUP"); link("../..", "UPUP/up") }, "outside the issuers root"},
		{"SELF", func() { manifest("SELF"); link(".", "SELF/self") }, "symlink loop"},
		{"PARENT", func() { manifest("PARENT"); link("..", "PARENT/up") }, "symlink loop"},
		{"CHAIN", func() { manifest("CHAIN"); link("b", "CHAIN/a"); link("a", "CHAIN/b") }, "does not resolve"},
		{"MANY", func() {
			manifest("MANY")
			for i := range 300 {
				write(fmt.Sprintf("MANY/f%03d.lua", i), "")
			}
		}, "more than 256 files"},
		{"DEEP", func() { manifest("DEEP"); write("DEEP/"+strings.Repeat("d/", 10)+"x.lua", "") }, "nest deeper than 8"},
		{"BIG", func() { manifest("BIG"); write("BIG/big.lua", strings.Repeat("-", 1<<20+1)) }, "larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		tt.build()
	}
	// A link that stays inside the root is followed.
	link("../.shared", "DEMO/shared")

	logs := &lockedBuffer{}
	seen := &reloads{}
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root, Logger: newTextLogger(logs), OnReload: seen.record})
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		if s, ok := status(reg, "DEMO"); !ok || s.Error != "" || s.Version == "" {
			t.Errorf("%s: DEMO %+v, want it serving", when, s)
		}
		for _, tt := range tests {
			s, ok := status(reg, tt.issuer)
			if !ok || !strings.Contains(s.Error, tt.want) || s.Version != "" {
				t.Errorf("%s: %s status %+v, want an error with %q", when, tt.issuer, s, tt.want)
			}
		}
	}
	check("open")

	startWatch(t, reg)
	waitFor(t, "the watches to be set", func() bool { return seen.count("DEMO "+scripts.ReloadUnchanged) > 0 })
	check("watch")
	for _, tt := range tests {
		if n := logs.count("issuer=" + tt.issuer + " "); n != 1 {
			t.Errorf("%s: %d log lines, want 1", tt.issuer, n)
		}
	}
	if n := logs.count("\n"); n > 3*len(tests) {
		t.Errorf("%d log lines in all:\n%s", n, logs.String())
	}

	if ps := scripts.Check(root); len(ps) != len(tests) {
		t.Errorf("Check: %d problems, want %d: %v", len(ps), len(tests), ps)
	}
}

func newTextLogger(w *lockedBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

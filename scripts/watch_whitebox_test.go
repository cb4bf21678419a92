package scripts

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

func TestDebouncerCoalescesBurstsPerIssuer(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type event struct {
		ms   int
		name string
	}
	tests := []struct {
		name     string
		events   []event
		wantNext int      // ms of the first due time
		before   []string // due one ms before wantNext
		atNext   []string // due at wantNext
	}{
		{"one event", []event{{0, "DEMO"}}, 100, nil, []string{"DEMO"}},
		{"a burst waits for quiet", []event{{0, "DEMO"}, {50, "DEMO"}, {90, "DEMO"}}, 190, nil, []string{"DEMO"}},
		{"endless writes are cut at maxWait", []event{{0, "DEMO"}, {90, "DEMO"}, {180, "DEMO"}, {270, "DEMO"}, {360, "DEMO"}}, 400, nil, []string{"DEMO"}},
		{"issuers are timed apart", []event{{0, "ACME"}, {60, "DEMO"}}, 100, nil, []string{"ACME"}},
		{"same due time, sorted, everything first", []event{{0, "DEMO"}, {0, everyIssuer}, {0, "ACME"}}, 100, nil, []string{everyIssuer, "ACME", "DEMO"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDebouncer(100 * time.Millisecond)
			if _, ok := d.next(); ok {
				t.Fatal("an empty debouncer has something due")
			}
			for _, e := range tt.events {
				d.add(e.name, at(e.ms))
			}
			next, ok := d.next()
			if !ok || !next.Equal(at(tt.wantNext)) {
				t.Fatalf("next = %v %v, want +%dms", next.Sub(t0), ok, tt.wantNext)
			}
			if got := d.due(at(tt.wantNext - 1)); !slices.Equal(got, tt.before) {
				t.Errorf("due before: %q, want %q", got, tt.before)
			}
			if got := d.due(at(tt.wantNext)); !slices.Equal(got, tt.atNext) {
				t.Errorf("due at next: %q, want %q", got, tt.atNext)
			}
			if got := d.due(at(tt.wantNext)); len(got) != 0 {
				t.Errorf("taken twice: %q", got)
			}
		})
	}
}

func TestIssuerOfAnEvent(t *testing.T) {
	r := &Registry{root: filepath.FromSlash("/srv/issuers")}
	tests := []struct {
		path string
		op   fsnotify.Op
		want string
		ok   bool
	}{
		{"/srv/issuers/DEMO/read.lua", fsnotify.Write, "DEMO", true},
		{"/srv/issuers/DEMO/lib/common.lua", fsnotify.Create, "DEMO", true},
		{"/srv/issuers/DEMO/..data", fsnotify.Create, "DEMO", true},
		{"/srv/issuers/DEMO/.read.lua.swp", fsnotify.Write, "DEMO", true},
		{"/srv/issuers/ACME", fsnotify.Remove, "ACME", true},
		{"/srv/issuers/..data", fsnotify.Create, everyIssuer, true},
		{"/srv/issuers/DEMO/read.lua", fsnotify.Chmod, "", false},
		{"/srv/issuers", fsnotify.Remove, "", false},
		{"/srv/other/DEMO/read.lua", fsnotify.Write, "", false},
	}
	for _, tt := range tests {
		name, ok := r.issuerOf(fsnotify.Event{Name: filepath.FromSlash(tt.path), Op: tt.op})
		if name != tt.want || ok != tt.ok {
			t.Errorf("%s %s: %q %v, want %q %v", tt.op, tt.path, name, ok, tt.want, tt.ok)
		}
	}
}

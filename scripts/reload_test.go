package scripts_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tes-project/tes/clock"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/scripts"
)

// markedRead is DEMO's READ with a marker step before each batch and before
// the end, so that every call's trace shows it ran on this version.
const markedRead = `-- READ, marked: the same read, with steps named mark* on every call.
return {
  start = "markStart",
  steps = common.steps(
    { markStart = { next = { { go = "ledger" } } } },
    common.ledger("poll"),
    common.poll("markPolled"),
    { markPolled = { next = { { go = "read" } } } },
    common.read_card("checks", true),
    common.card_checks("markRead"),
    { markRead = { next = { { go = "report" } } } },
    {
      report = {
        run = function(ctx)
          effect.record_balance{ balance = ctx.vars.balance, counter = ctx.vars.counter }
        end,
        next = { { done = 0, balance = "vars.balance" } },
      },
    }
  ),
}
`

// patience bounds every wait for a file watcher's event.
const patience = 15 * time.Second

// waitFor polls cond until it holds or patience runs out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// startWatch runs reg.Watch until the test ends.
func startWatch(t testing.TB, reg *scripts.Registry) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- reg.Watch(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
}

// status is the registry's status of one issuer; found=false when absent.
func status(reg *scripts.Registry, issuerID string) (flow.IssuerStatus, bool) {
	for _, s := range reg.Statuses() {
		if s.IssuerID == issuerID {
			return s, true
		}
	}
	return flow.IssuerStatus{}, false
}

// diskVersion is the version a fresh registry loads from root for the
// issuer, "" when it has none.
func diskVersion(t testing.TB, root, issuerID string) string {
	t.Helper()
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := status(reg, issuerID); ok && s.Error != "" {
		t.Fatalf("%s does not load from disk: %s", issuerID, s.Error)
	}
	if iss, ok := reg.Current(issuerID); ok {
		return iss.Version()
	}
	return ""
}

// converge waits until reg serves what is on disk for the issuer, without
// error.
func converge(t testing.TB, reg *scripts.Registry, root, issuerID string) string {
	t.Helper()
	want := diskVersion(t, root, issuerID)
	waitFor(t, issuerID+" to serve "+want, func() bool {
		s, _ := status(reg, issuerID)
		return s.Version == want && s.Error == ""
	})
	return want
}

// replaceFile saves as most editors do: a temporary file renamed over the
// original.
func replaceFile(path, data string) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(data), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// lockedBuffer collects logs from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// reloads records what Config.OnReload is told.
type reloads struct {
	mu   sync.Mutex
	seen []string // "issuer result"
}

func (r *reloads) record(issuerID, result string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, issuerID+" "+result)
}

func (r *reloads) count(issuerResult string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.seen {
		if s == issuerResult {
			n++
		}
	}
	return n
}

type watched struct {
	reg   *scripts.Registry
	root  string
	clock *clock.Fake
	logs  *lockedBuffer
	seen  *reloads
}

func openWatched(t testing.TB, root string) *watched {
	t.Helper()
	w := &watched{root: root, clock: clock.NewFake(now), logs: &lockedBuffer{}, seen: &reloads{}}
	reg, err := scripts.Open(context.Background(), scripts.Config{
		Dir:      root,
		Clock:    w.clock,
		Logger:   slog.New(slog.NewTextHandler(w.logs, nil)),
		Debounce: 20 * time.Millisecond,
		OnReload: w.seen.record,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.reg = reg
	startWatch(t, reg)
	// Watch reloads once its watches are set: from then on, only events
	// can bring a change in.
	waitFor(t, "the watches to be set", func() bool { return w.seen.count("DEMO "+scripts.ReloadUnchanged) > 0 })
	return w
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// kubernetesLayout rearranges dir as a ConfigMap volume: the files live in
// a timestamped folder that ..data links to, and each entry links through
// ..data.
func kubernetesLayout(t testing.TB, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	must(t, err)
	must(t, os.Mkdir(filepath.Join(dir, "..2026_01"), 0o755))
	for _, e := range entries {
		must(t, os.Rename(filepath.Join(dir, e.Name()), filepath.Join(dir, "..2026_01", e.Name())))
		must(t, os.Symlink(filepath.Join("..data", e.Name()), filepath.Join(dir, e.Name())))
	}
	must(t, os.Symlink("..2026_01", filepath.Join(dir, "..data")))
}

// kubernetesSwap does what the kubelet does on a ConfigMap update: copy
// the files to a new timestamped folder, edit, point ..data at it
// atomically, remove the old folder.
func kubernetesSwap(t testing.TB, dir string, edit func(newDir string)) {
	t.Helper()
	old, err := os.Readlink(filepath.Join(dir, "..data"))
	must(t, err)
	next := old + "_next"
	must(t, os.CopyFS(filepath.Join(dir, next), os.DirFS(filepath.Join(dir, old))))
	edit(filepath.Join(dir, next))
	must(t, os.Symlink(next, filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	must(t, os.RemoveAll(filepath.Join(dir, old)))
}

func appendTo(t testing.TB, path, more string) {
	t.Helper()
	data, err := os.ReadFile(path)
	must(t, err)
	must(t, os.WriteFile(path, append(data, more...), 0o644))
}

func TestWatchFollowsEveryWayFilesChange(t *testing.T) {
	type change func(t *testing.T, root string)
	demo := func(root string, p ...string) string { return filepath.Join(append([]string{root, "DEMO"}, p...)...) }
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string)
		issuer  string
		changes []change // the watcher must converge after each
	}{
		{name: "write in place", issuer: "DEMO", changes: []change{
			func(t *testing.T, root string) {
				must(t, os.WriteFile(demo(root, "read.lua"), []byte(markedRead), 0o644))
			},
		}},
		{name: "temporary file renamed over", issuer: "DEMO", changes: []change{
			func(t *testing.T, root string) { must(t, replaceFile(demo(root, "read.lua"), markedRead)) },
		}},
		{name: "vim: original renamed to a backup, new file written", issuer: "DEMO", changes: []change{
			func(t *testing.T, root string) {
				must(t, os.Rename(demo(root, "read.lua"), demo(root, "read.lua~")))
				must(t, os.WriteFile(demo(root, "read.lua"), []byte(markedRead), 0o644))
				must(t, os.Remove(demo(root, "read.lua~")))
			},
		}},
		{name: "delete then create", issuer: "DEMO", changes: []change{
			func(t *testing.T, root string) {
				must(t, os.Remove(demo(root, "read.lua")))
				must(t, os.WriteFile(demo(root, "read.lua"), []byte(markedRead), 0o644))
			},
		}},
		{name: "library in a subfolder edited", issuer: "DEMO", changes: []change{
			func(t *testing.T, root string) { appendTo(t, demo(root, "lib", "common.lua"), "\n-- edited\n") },
		}},
		{name: "new file, in a new subfolder, then edited there", issuer: "DEMO", changes: []change{
			func(t *testing.T, root string) {
				must(t, writeFile(demo(root, "notes", "quirks.lua"), "-- none yet\n"))
			},
			func(t *testing.T, root string) { appendTo(t, demo(root, "notes", "quirks.lua"), "-- still none\n") },
		}},
		{name: "kubernetes ..data swap in the issuer folder", issuer: "DEMO",
			setup: func(t *testing.T, root string) { kubernetesLayout(t, demo(root)) },
			changes: []change{
				func(t *testing.T, root string) {
					kubernetesSwap(t, demo(root), func(dir string) {
						must(t, os.WriteFile(filepath.Join(dir, "read.lua"), []byte(markedRead), 0o644))
					})
				},
				func(t *testing.T, root string) {
					kubernetesSwap(t, demo(root), func(dir string) { appendTo(t, filepath.Join(dir, "lib", "common.lua"), "-- again\n") })
				},
			}},
		{name: "kubernetes ..data swap of the whole root", issuer: "DEMO",
			setup: func(t *testing.T, root string) { kubernetesLayout(t, root) },
			changes: []change{
				func(t *testing.T, root string) {
					kubernetesSwap(t, root, func(dir string) {
						must(t, os.WriteFile(filepath.Join(dir, "DEMO", "read.lua"), []byte(markedRead), 0o644))
					})
				},
			}},
		{name: "new issuer folder", issuer: "ACME", changes: []change{
			func(t *testing.T, root string) {
				must(t, os.CopyFS(filepath.Join(root, "ACME"), os.DirFS(demo(root))))
				manifest := filepath.Join(root, "ACME", "issuer.yaml")
				data, err := os.ReadFile(manifest)
				must(t, err)
				must(t, os.WriteFile(manifest, bytes.Replace(data, []byte("id: DEMO"), []byte("id: ACME"), 1), 0o644))
			},
			func(t *testing.T, root string) {
				appendTo(t, filepath.Join(root, "ACME", "read.lua"), "-- ACME's own\n")
			},
		}},
		{name: "issuer folder removed", issuer: "DEMO", changes: []change{
			func(t *testing.T, root string) { must(t, os.RemoveAll(demo(root))) },
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := copyDemo(t, "50ms", "", nil)
			if tt.setup != nil {
				tt.setup(t, root)
			}
			w := openWatched(t, root)
			before := converge(t, w.reg, root, "DEMO")
			for i, change := range tt.changes {
				previous, _ := status(w.reg, tt.issuer)
				change(t, root)
				got := converge(t, w.reg, root, tt.issuer)
				if got == previous.Version {
					t.Fatalf("change %d: version %q did not change", i, got)
				}
			}
			if _, err := w.reg.Pinned(context.Background(), "DEMO", before); err != nil {
				t.Errorf("the first version is no longer served to pinned sessions: %v", err)
			}
		})
	}
}

// readWorks runs a READ on the serving version of DEMO and checks it ends 0.
func readWorks(t testing.TB, reg flow.Registry) {
	t.Helper()
	l := newLedger()
	l.cards["card-1"] = activeCard("card-1")
	out := run(t, reg, l, demoCard(t, adult, nil), flow.EndpointCard, "READ", flow.Request{CardID: "card-1", DeviceID: "dev-1"})
	if out.status != 0 {
		t.Fatalf("READ on the serving version: status %d (%s)", out.status, out.message)
	}
}

func TestWatchRefusesABrokenSaveAndLoadsItsFix(t *testing.T) {
	original, err := os.ReadFile(filepath.Join("..", "issuers", "DEMO", "read.lua"))
	must(t, err)
	tests := []struct {
		name   string
		broken string
		where  string // the error starts with it
		says   string
	}{
		{"lua syntax error", "return {\n  start = \n", "DEMO/read.lua:2: ", "syntax error"},
		{"guard does not compile", strings.Replace(string(original), `{ done = 0, balance = "vars.balance" }`,
			`{ when = "vars.balance >", done = 0, balance = "vars.balance" }`, 1), "DEMO/read.lua:14: ", "guard"},
		{"missing step", strings.Replace(string(original), `common.card_checks("report")`, `common.card_checks("reprot")`, 1),
			"DEMO/read.lua:8: ", `unknown step "reprot"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.broken == string(original) {
				t.Fatal("the breaking edit did not apply to read.lua")
			}
			root := copyDemo(t, "50ms", "", nil)
			readFlow := filepath.Join(root, "DEMO", "read.lua")
			w := openWatched(t, root)
			before, _ := status(w.reg, "DEMO")

			w.clock.Advance(time.Minute)
			must(t, replaceFile(readFlow, tt.broken))
			waitFor(t, "the broken save to be refused", func() bool { s, _ := status(w.reg, "DEMO"); return s.Error != "" })
			s, _ := status(w.reg, "DEMO")
			if !strings.HasPrefix(s.Error, tt.where) || !strings.Contains(s.Error, tt.says) {
				t.Errorf("error %q, want %s…%s…", s.Error, tt.where, tt.says)
			}
			if s.Version != before.Version || !s.LoadedAt.Equal(before.LoadedAt) {
				t.Errorf("after a broken save: version %s loaded at %v, want %s at %v", s.Version, s.LoadedAt, before.Version, before.LoadedAt)
			}
			readWorks(t, w.reg)

			// The same broken content touched again, and an editor's swap file:
			// nothing is rebuilt and nothing logged again.
			unchanged := w.seen.count("DEMO " + scripts.ReloadUnchanged)
			must(t, os.WriteFile(readFlow, []byte(tt.broken), 0o644))
			must(t, os.WriteFile(filepath.Join(root, "DEMO", ".read.lua.swp"), []byte("swap"), 0o644))
			waitFor(t, "the touch to be seen", func() bool { return w.seen.count("DEMO "+scripts.ReloadUnchanged) > unchanged })
			if n := w.logs.count("issuer reload refused"); n != 1 {
				t.Errorf("the refusal was logged %d times, want once:\n%s", n, w.logs.buf.String())
			}
			if n := w.seen.count("DEMO " + scripts.ReloadFailed); n != 1 {
				t.Errorf("OnReload was told %d failures, want 1", n)
			}
			err := w.reg.ReloadIssuer(context.Background(), "DEMO")
			if !errors.Is(err, scripts.ErrLoad) || !strings.HasPrefix(err.Error(), tt.where) {
				t.Errorf("manual reload of the broken folder: %v, want ErrLoad at %s", err, tt.where)
			}

			w.clock.Advance(time.Minute)
			must(t, replaceFile(readFlow, markedRead))
			fixed := converge(t, w.reg, root, "DEMO")
			s, _ = status(w.reg, "DEMO")
			if fixed == before.Version || !s.LoadedAt.Equal(now.Add(2*time.Minute)) {
				t.Errorf("after the fix: version %s loaded at %v", s.Version, s.LoadedAt)
			}
			// The log line and OnReload follow the swap, in that order.
			waitFor(t, "the load to be reported", func() bool { return w.seen.count("DEMO "+scripts.ReloadLoaded) == 2 })
			if n := w.logs.count("issuer loaded"); n != 2 {
				t.Errorf("%d loads logged, want 2 (start-up, fix)", n)
			}
			readWorks(t, w.reg)
		})
	}
}

func TestManualReloadWithoutEvents(t *testing.T) {
	root := copyDemo(t, "50ms", "", nil)
	seen := &reloads{}
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root, OnReload: seen.record})
	must(t, err)
	before, _ := reg.Current("DEMO")
	must(t, os.WriteFile(filepath.Join(root, "DEMO", "read.lua"), []byte(markedRead), 0o644))
	must(t, os.CopyFS(filepath.Join(root, "ACME"), os.DirFS(filepath.Join(root, "DEMO"))))
	must(t, os.WriteFile(filepath.Join(root, "ACME", "issuer.yaml"), []byte("id: ACME\n"), 0o644))

	if err := reg.Reload(context.Background()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if cur, _ := reg.Current("DEMO"); cur.Version() == before.Version() || cur.Version() != diskVersion(t, root, "DEMO") {
		t.Error("Reload did not swap in the changed folder")
	}
	if s, ok := status(reg, "ACME"); !ok || s.Version != "" || !strings.HasPrefix(s.Error, "ACME/issuer.yaml") {
		t.Errorf("a new broken folder: %+v, want listed with its manifest's problem", s)
	}
	if _, ok := reg.Current("ACME"); ok {
		t.Error("a folder that never loaded serves")
	}
	for want, times := range map[string]int{"DEMO loaded": 2, "ACME failed": 1} {
		if n := seen.count(want); n != times {
			t.Errorf("OnReload told %q %d times, want %d: %v", want, n, times, seen.seen)
		}
	}
	for _, name := range []string{"NOPE", "..", ".", "../DEMO", "DEMO/lib", ""} {
		if err := reg.ReloadIssuer(context.Background(), name); !errors.Is(err, scripts.ErrNoIssuer) {
			t.Errorf("ReloadIssuer(%q): %v, want ErrNoIssuer", name, err)
		}
	}
}

func TestRemovedIssuerFinishesRunningOperationsOnly(t *testing.T) {
	root := copyDemo(t, "50ms", "", nil)
	seen := &reloads{}
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root, OnReload: seen.record})
	must(t, err)
	before, _ := reg.Current("DEMO")
	must(t, os.RemoveAll(filepath.Join(root, "DEMO")))
	must(t, reg.Reload(context.Background()))

	if _, ok := reg.Current("DEMO"); ok {
		t.Error("a removed issuer still starts operations")
	}
	if _, ok := status(reg, "DEMO"); ok {
		t.Error("a removed issuer is still listed")
	}
	if seen.count("DEMO "+scripts.ReloadRemoved) != 1 {
		t.Errorf("OnReload: %v, want one removal", seen.seen)
	}
	pinned, err := reg.Pinned(context.Background(), "DEMO", before.Version())
	if err != nil || pinned != before {
		t.Fatalf("Pinned after removal: %v", err)
	}
	// A session that started before the removal runs its next step.
	res, err := pinned.Step(context.Background(), flow.Input{Endpoint: flow.EndpointCard, Operation: "READ",
		Request: flow.Request{IssuerID: "DEMO", CardID: "card-1", DeviceID: "dev-1"}, Ledger: ledgerWith("card-1"), Now: now})
	if err != nil || len(res.Commands) != 1 {
		t.Fatalf("step on the removed issuer's version: %v %+v", err, res)
	}
	if err := reg.ReloadIssuer(context.Background(), "DEMO"); !errors.Is(err, scripts.ErrNoIssuer) {
		t.Errorf("reloading a removed issuer: %v, want ErrNoIssuer", err)
	}
}

func ledgerWith(cardID string) *ledger {
	l := newLedger()
	l.cards[cardID] = activeCard(cardID)
	return l
}

func TestKeptVersionsAreBoundedAndRebuiltFromTheStore(t *testing.T) {
	for _, withStore := range []bool{false, true} {
		t.Run(map[bool]string{false: "without store", true: "with store"}[withStore], func(t *testing.T) {
			root := copyDemo(t, "50ms", "", nil)
			cfg := scripts.Config{Dir: root}
			if withStore {
				cfg.Store = openBolt(t, filepath.Join(t.TempDir(), "tes.db"))
			}
			reg, err := scripts.Open(context.Background(), cfg)
			must(t, err)
			var versions []string
			for i := range 20 {
				cur, _ := reg.Current("DEMO")
				versions = append(versions, cur.Version())
				appendTo(t, filepath.Join(root, "DEMO", "read.lua"), "-- save "+string(rune('a'+i))+"\n")
				must(t, reg.ReloadIssuer(context.Background(), "DEMO"))
			}
			// 20 versions replaced: the 16 most recent stay in memory. Asked
			// newest first, so that a rebuilt one evicts none still to check.
			for i := len(versions) - 1; i >= 0; i-- {
				_, err := reg.Pinned(context.Background(), "DEMO", versions[i])
				switch dropped := i < len(versions)-16; {
				case !dropped && err != nil:
					t.Errorf("version %d: %v, want kept", i, err)
				case dropped && withStore && err != nil:
					t.Errorf("version %d: %v, want rebuilt from the store", i, err)
				case dropped && !withStore && !errors.Is(err, flow.ErrVersionGone):
					t.Errorf("version %d: %v, want ErrVersionGone", i, err)
				}
			}
		})
	}
}

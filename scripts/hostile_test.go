package scripts_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/issuers"
	"github.com/tes-project/tes/scripts"
)

// copyDemo writes the embedded DEMO issuer under a temp root, with extra
// files and manifest lines, and returns the root.
func copyDemo(t testing.TB, demoStepTimeout, manifestExtra string, extra map[string]string) string {
	t.Helper()
	root := demoRoot(t, func(manifest string) string {
		return strings.Replace(manifest, "stepTimeout: 50ms", "stepTimeout: "+demoStepTimeout, 1) + manifestExtra
	})
	for name, src := range extra {
		if err := writeFile(filepath.Join(root, name), src); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// demoRoot writes the embedded DEMO issuer under a temp root, its manifest
// passed through edit, and returns the root.
func demoRoot(t testing.TB, edit func(manifest string) string) string {
	t.Helper()
	root := t.TempDir()
	err := fs.WalkDir(issuers.FS, "DEMO", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(issuers.FS, p)
		if err != nil {
			return err
		}
		if path.Base(p) == scripts.ManifestFile {
			data = []byte(edit(string(data)))
		}
		return writeFile(filepath.Join(root, p), string(data))
	})
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func writeFile(path, data string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(data), 0o644)
}

func hostileFlow(body string) string {
	return "return {\n  start = \"bad\",\n  steps = {\n    bad = {\n      run = function(ctx)\n" + body + "\n      end,\n      next = { { done = 0 } },\n    },\n  },\n}\n"
}

func TestHostileScriptsEndTheirOperationOnly(t *testing.T) {
	cases := map[string]struct {
		body string
		want string // in the error
	}{
		"LOOP":      {"while true do end", "context deadline exceeded"},
		"CONCAT":    {"local s = 'x' while true do s = s .. s end", "EVIL/concat.lua:6"},
		"RECURSE":   {"local function f(n) return f(n + 1) + 1 end f(1)", "stack overflow"},
		"OS":        {"os.exit(1)", "EVIL/os.lua:6"},
		"IO":        {"io.open('/etc/passwd')", "EVIL/io.lua:6"},
		"REQUIRE":   {"require('os')", "EVIL/require.lua:6"},
		"LOAD":      {"load('return 1')()", "EVIL/load.lua:6"},
		"DEBUG":     {"debug.sethook()", "EVIL/debug.lua:6"},
		"REP":       {"local s = string.rep('x', 1e9)", "EVIL/rep.lua:6"},
		"ERROR":     {"error('boom')", "EVIL/error.lua:6: step bad: boom"},
		"METATABLE": {"setmetatable({}, {})", "EVIL/metatable.lua:6"},
	}
	// The hostile flows run under a deadline of their own; the good DEMO
	// flows under none, as the scripts package sets no limit of its own.
	var manifest strings.Builder
	manifest.WriteString("id: EVIL\nsystemCode: \"80DE\"\noperations:\n")
	files := map[string]string{}
	for op, c := range cases {
		file := strings.ToLower(op) + ".lua"
		manifest.WriteString("  - name: " + op + "\n    endpoint: getCardCommands\n    flow: " + file + "\n")
		files["EVIL/"+file] = hostileFlow(c.body)
	}
	files["EVIL/issuer.yaml"] = manifest.String()
	root := copyDemo(t, "2s", "", files)
	reg, err := scripts.Open(context.Background(), scripts.Config{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	if st := reg.Statuses(); len(st) != 2 || st[0].Error != "" || st[1].Error != "" {
		t.Fatalf("statuses %+v", st)
	}

	stop := make(chan struct{})
	var good sync.WaitGroup
	var goodRuns, goodFails int
	var mu sync.Mutex
	for range 2 {
		good.Add(1)
		go func() {
			defer good.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				l := newLedger()
				l.cards["card-1"] = activeCard("card-1")
				out := run(t, reg, l, demoCard(t, adult, nil), flow.EndpointCard, "READ", flow.Request{CardID: "card-1", DeviceID: "dev-1"})
				mu.Lock()
				goodRuns++
				if out.status != 0 {
					goodFails++
				}
				mu.Unlock()
			}
		}()
	}

	iss, _ := reg.Current("EVIL")
	var hostile sync.WaitGroup
	for op, c := range cases {
		hostile.Add(1)
		go func() {
			defer hostile.Done()
			// The engine stops a step by its context; here a deadline does.
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := iss.Step(ctx, flow.Input{Endpoint: flow.EndpointCard, Operation: op, Ledger: newLedger(), Now: now})
			if !errors.Is(err, scripts.ErrScript) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: error %v, want ErrScript mentioning %q", op, err, c.want)
			}
		}()
	}
	hostile.Wait()
	close(stop)
	good.Wait()
	if goodRuns == 0 || goodFails != 0 {
		t.Errorf("good operations during the hostile ones: %d runs, %d failed", goodRuns, goodFails)
	}
}

package scripts

import (
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tes-project/tes/issuers"
)

// FuzzCompileIssuer feeds arbitrary manifests and flow files to the one
// load path behind Open, Reload, Pinned and Check: it must never panic, and
// every problem must name a file of the issuer.
func FuzzCompileIssuer(f *testing.F) {
	demo := map[string][]byte{}
	err := fs.WalkDir(issuers.FS, "DEMO", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(issuers.FS, path)
		demo[strings.TrimPrefix(path, "DEMO/")] = data
		return err
	})
	if err != nil {
		f.Fatalf("read the embedded DEMO issuer: %v", err)
	}
	f.Add(demo[ManifestFile], demo["read.lua"])
	f.Add([]byte("id: DEMO\noperations:\n  - name: READ\n    endpoint: getCardCommands\n    flow: read.lua\n"), []byte("return {}"))
	f.Add([]byte("id: [\n"), []byte("return { start = 'x', steps = { x = { next = { { when = 'vars.', done = 0 } } } } }"))
	f.Add([]byte("{}"), []byte("local"))

	logger := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, manifest, readFlow []byte) {
		files := make(map[string][]byte, len(demo))
		for name, data := range demo {
			files[name] = data
		}
		files[ManifestFile] = manifest
		files["read.lua"] = readFlow
		var (
			c        *compiled
			problems []Problem
			done     = make(chan struct{})
		)
		go func() {
			defer close(done)
			c, problems = compileIssuer("DEMO", files, logger)
		}()
		select {
		case <-done:
		case <-time.After(10 * loadTimeout):
			t.Fatalf("compiling the issuer did not end in %s", 10*loadTimeout)
		}
		if (c == nil) == (len(problems) == 0) {
			t.Fatalf("compiled %v with %d problems: want exactly one of them", c != nil, len(problems))
		}
		for _, p := range problems {
			if !strings.HasPrefix(p.File, "DEMO/") || p.Line < 0 || p.Message == "" {
				t.Fatalf("problem %+v does not name a file and line of the issuer", p)
			}
		}
	})
}

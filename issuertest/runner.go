package issuertest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	tesnode "github.com/tes-project/tes/node"
	"github.com/tes-project/tes/scripts"
)

// TestsDir is the folder of an issuer's tests, inside its folder.
const TestsDir = "tests"

// Config says which tests to run.
type Config struct {
	// Dir is the issuers root (required).
	Dir string
	// Issuers limits the run to these issuers; empty: every issuer folder.
	Issuers []string
	// Run, when set, runs only the cases whose name it matches.
	Run *regexp.Regexp
	// Parallel is how many cases run at once; 0: GOMAXPROCS.
	Parallel int
	// TempDir holds the cases' stores; empty: the system's.
	TempDir string
	// KeyDir is the key store of keyed cards (tes test --keys): one
	// <issuerId>.json per issuer, as tes serve reads it (node.SoftwareSAM).
	// Empty: the built-in DEMOAES TEST KEYS, which serve DEMOAES only.
	KeyDir string
}

// Result is one case's outcome.
type Result struct {
	Issuer string `json:"issuer"`
	// File is the test file, from the issuers root; Line the case's first.
	File string `json:"file"`
	Line int    `json:"line"`
	Name string `json:"name"`
	Pass bool   `json:"pass"`
	// Failures say what did not hold, one per line; Detail the decisions
	// of the sessions that ran, when the case failed.
	Failures []string      `json:"failures,omitempty"`
	Detail   []string      `json:"detail,omitempty"`
	Elapsed  time.Duration `json:"elapsedNs"`
}

// Report is a whole run.
type Report struct {
	// Issuers counts the issuers whose tests were looked for.
	Issuers int `json:"issuers"`
	// Problems are files or issuers that could not be run at all
	// ("file: message"); each fails the run.
	Problems []string `json:"problems,omitempty"`
	Results  []Result `json:"results"`
	Passed   int      `json:"passed"`
	Failed   int      `json:"failed"`
	// Skipped counts cases --run left out.
	Skipped int           `json:"skipped"`
	Elapsed time.Duration `json:"elapsedNs"`
}

// OK tells whether the run passed: no problem, no failed case.
func (r Report) OK() bool { return len(r.Problems) == 0 && r.Failed == 0 }

// ErrNoIssuers: the issuers root holds no issuer to test.
var ErrNoIssuers = errors.New("issuertest: no issuer to test")

// job is one case to run on one issuer.
type job struct {
	issuer string
	flows  *scripts.Registry
	images *imageCache
	c      Case
}

// Run loads the issuers under cfg.Dir and runs their tests, cfg.Parallel at
// a time, each on a store of its own. onResult, when set, is told of each
// result as it comes (from one goroutine at a time). Run fails only when
// the root cannot be read; everything else is in the Report.
func Run(ctx context.Context, cfg Config, onResult func(Result)) (Report, error) {
	started := time.Now()
	var rep Report
	names, err := issuerFolders(cfg.Dir)
	if err != nil {
		return rep, err
	}
	if len(cfg.Issuers) > 0 {
		for _, want := range cfg.Issuers {
			if !contains(names, want) {
				rep.Problems = append(rep.Problems, fmt.Sprintf("%s: no issuer folder %q", cfg.Dir, want))
			}
		}
		names = cfg.Issuers
	}
	if len(names) == 0 && len(rep.Problems) == 0 {
		return rep, fmt.Errorf("%w under %s", ErrNoIssuers, cfg.Dir)
	}
	reg, err := openFlows(ctx, cfg)
	if err != nil {
		return rep, fmt.Errorf("issuertest: load issuers: %w", err)
	}
	statuses := map[string]flow.IssuerStatus{}
	for _, s := range reg.Statuses() {
		statuses[s.IssuerID] = s
	}
	var jobs []job
	for _, name := range names {
		st, ok := statuses[name]
		if !ok {
			continue // reported above
		}
		rep.Issuers++
		if st.Error != "" {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: does not load: %s", name, st.Error))
			continue
		}
		cases, problems := LoadCases(cfg.Dir, name)
		rep.Problems = append(rep.Problems, problems...)
		images := &imageCache{root: filepath.Join(cfg.Dir, name), files: map[string]*imageEntry{}}
		for _, c := range cases {
			if cfg.Run != nil && !cfg.Run.MatchString(c.Name) {
				rep.Skipped++
				continue
			}
			jobs = append(jobs, job{issuer: name, flows: reg, images: images, c: c})
		}
	}
	rep.Results = runJobs(ctx, cfg, jobs, onResult)
	for _, r := range rep.Results {
		if r.Pass {
			rep.Passed++
		} else {
			rep.Failed++
		}
	}
	rep.Elapsed = time.Since(started)
	return rep, nil
}

// openFlows loads the issuers under cfg.Dir as the server does, with a
// software SAM over the key store of cfg.KeyDir chosen as the node chooses
// it (node.SoftwareSAM), sealing with a random key of this run: the cases'
// sessions never outlive it.
func openFlows(ctx context.Context, cfg Config) (*scripts.Registry, error) {
	software, err := tesnode.SoftwareSAM(cfg.KeyDir, nil)
	if err != nil {
		return nil, fmt.Errorf("issuertest: %w", err)
	}
	return scripts.Open(ctx, scripts.Config{Dir: cfg.Dir, Logger: slog.New(slog.DiscardHandler), SAM: software, Keys: software})
}

// issuerFolders lists the issuer folders under dir.
func issuerFolders(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("issuertest: issuers root: %w", err)
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") || strings.HasSuffix(e.Name(), "~") {
			continue
		}
		if info, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && info.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// LoadCases reads every test file of an issuer (tests/*.yaml and *.yml,
// sorted by name); problems name the files that do not parse.
func LoadCases(root, issuer string) (cases []Case, problems []string) {
	dir := filepath.Join(root, issuer, TestsDir)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, []string{fmt.Sprintf("%s/%s: %v", issuer, TestsDir, err)}
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		rel := path.Join(issuer, TestsDir, name)
		data, err := readLimited(filepath.Join(dir, name))
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", rel, err))
			continue
		}
		cs, err := ParseFile(rel, data)
		if err != nil {
			problems = append(problems, strings.TrimPrefix(err.Error(), ErrCase.Error()+": "))
			continue
		}
		cases = append(cases, cs...)
	}
	seen := map[string]string{}
	for _, c := range cases {
		where := fmt.Sprintf("%s:%d", c.File, c.Line)
		if prev, dup := seen[c.Name]; dup {
			problems = append(problems, fmt.Sprintf("%s: case %q is also at %s", where, c.Name, prev))
		}
		seen[c.Name] = where
	}
	return cases, problems
}

func readLimited(file string) ([]byte, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, err
	}
	if info.Size() > MaxFileBytes {
		return nil, fmt.Errorf("larger than %d bytes", MaxFileBytes)
	}
	return os.ReadFile(file)
}

// runJobs runs the jobs, cfg.Parallel at a time; results keep the jobs'
// order.
func runJobs(ctx context.Context, cfg Config, jobs []job, onResult func(Result)) []Result {
	parallel := cfg.Parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	results := make([]Result, len(jobs))
	var mu sync.Mutex // serialises onResult
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = runJob(ctx, cfg, jobs[i])
			if onResult != nil {
				mu.Lock()
				onResult(results[i])
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return results
}

func runJob(ctx context.Context, cfg Config, j job) (res Result) {
	started := time.Now()
	res = Result{Issuer: j.issuer, File: j.c.File, Line: j.c.Line, Name: j.c.Name}
	defer func() {
		if p := recover(); p != nil {
			res.Failures = append(res.Failures, fmt.Sprintf("the runner failed: %v", p))
		}
		res.Pass = len(res.Failures) == 0
		res.Elapsed = time.Since(started)
	}()
	iss, ok := j.flows.Current(j.issuer)
	if !ok {
		res.Failures = append(res.Failures, "the issuer is not loaded")
		return res
	}
	dir, err := os.MkdirTemp(cfg.TempDir, "tes-test-*")
	if err != nil {
		res.Failures = append(res.Failures, fmt.Sprintf("temporary folder: %v", err))
		return res
	}
	defer os.RemoveAll(dir)
	cr := &caseRun{job: j, iss: iss, dir: dir}
	cr.run(ctx)
	res.Failures, res.Detail = cr.failures, cr.detail
	return res
}

// imageCache loads each card image file of an issuer once.
type imageCache struct {
	root  string
	mu    sync.Mutex // guards files
	files map[string]*imageEntry
}

type imageEntry struct {
	catalog *card.Catalog
	err     error
}

// catalog returns a fresh copy of the catalogue in file (relative to the
// issuer folder, which it may not leave).
func (ic *imageCache) catalog(file string) (*card.Catalog, error) {
	if file == "" {
		file = DefaultImageFile
	}
	if !filepath.IsLocal(file) {
		return nil, fmt.Errorf("card image %q: want a path inside the issuer folder", file)
	}
	ic.mu.Lock()
	e, ok := ic.files[file]
	if !ok {
		e = &imageEntry{}
		e.catalog, e.err = card.LoadFile(filepath.Join(ic.root, file))
		ic.files[file] = e
	}
	ic.mu.Unlock()
	if e.err != nil {
		return nil, e.err
	}
	return copyCatalog(e.catalog), nil
}

// copyCatalog copies what a case may change: the services and the images.
func copyCatalog(c *card.Catalog) *card.Catalog {
	out := *c
	out.Layout.Services = append([]card.Service(nil), c.Layout.Services...)
	out.Layout.Areas = append([]card.Area(nil), c.Layout.Areas...)
	out.Cards = make([]card.Image, len(c.Cards))
	for i, img := range c.Cards {
		out.Cards[i] = copyImage(img)
	}
	return &out
}

func copyImage(img card.Image) card.Image {
	out := img
	out.Blocks = make(map[string][][felica.BlockSize]byte, len(img.Blocks))
	for k, v := range img.Blocks {
		out.Blocks[k] = append([][felica.BlockSize]byte(nil), v...)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func decodeHex(s string) ([]byte, error) { return hex.DecodeString(s) }

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

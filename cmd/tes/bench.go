package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tes-project/tes/node"
	"github.com/tes-project/tes/tsh"
	"github.com/tes-project/tes/tsh/bench"
)

// benchConfig is tes bench's command line.
type benchConfig struct {
	url, adminURL, adminToken string
	inProcess                 bool
	issuersDir, dataDir       string
	groupCommit               time.Duration
	devices, count            int
	operation, mix            string
	duration, timeout         time.Duration
	amount                    int64
	issuer                    string
	cardImage, card, physical string
	baseline, asJSON          bool
	serverPIDs                string
	postgresPID               int
}

func benchFlags(cfg *benchConfig) *flag.FlagSet {
	fs := flag.NewFlagSet("tes bench", flag.ContinueOnError)
	fs.StringVar(&cfg.url, "url", "http://127.0.0.1:8080", "base URL of the server's Device Gateway API, or several separated by commas (nodes sharing one store: each request goes to the next, round robin); loopback only; ignored with --in-process")
	fs.StringVar(&cfg.adminURL, "admin-url", "http://127.0.0.1:8081", "base URL of the server's admin API, to seed the ledger (loopback only; ignored with --in-process)")
	fs.StringVar(&cfg.adminToken, "admin-token", os.Getenv("TES_ADMIN_TOKEN"), "bearer token for the admin API (default $TES_ADMIN_TOKEN)")
	fs.BoolVar(&cfg.inProcess, "in-process", false, "start the real server in this process (bbolt in a temporary directory) instead of using --url")
	fs.StringVar(&cfg.issuersDir, "issuers", "issuers", "issuers folder of the in-process server; the embedded DEMO issuer when it does not exist")
	fs.StringVar(&cfg.dataDir, "data", "", "store directory of the in-process server (default: a temporary directory, removed afterwards)")
	fs.DurationVar(&cfg.groupCommit, "group-commit", 0, "store group commit window of the in-process server (0: every update commits alone)")
	fs.IntVar(&cfg.devices, "devices", 64, fmt.Sprintf("concurrent simulated devices, 1..%d", bench.MaxDevices))
	fs.StringVar(&cfg.operation, "operation", "TOPUP", "operation every device runs: TOPUP, READ, REFUND, PARK or READER_MODE")
	fs.StringVar(&cfg.mix, "mix", "", `operations chosen at random by weight instead of --operation, e.g. "TOPUP=3,READ=1,REFUND=1"`)
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, fmt.Sprintf("how long to run (at most %s; 0: until --count)", bench.MaxDuration))
	fs.IntVar(&cfg.count, "count", 0, "stop after this many operations, shared equally by the devices (0: until --duration)")
	fs.Int64Var(&cfg.amount, "amount", 1, "amount of each TOPUP or REFUND, yen")
	fs.StringVar(&cfg.issuer, "issuer", "DEMO", "issuerId")
	fs.StringVar(&cfg.cardImage, "card-image", "", `card catalogue: a JSON file in the format of cards/demo.json, or "demo" or "demo-aes" (default: "demo-aes" for --issuer DEMOAES, else "demo")`)
	fs.StringVar(&cfg.card, "card", "", "sample phone card (IDm or label) that every device gets a copy of (default: "+simPhoneCard+", "+benchAESPhoneCard+" for DEMOAES)")
	fs.StringVar(&cfg.physical, "physical-card", simPhysicalCard, "sample physical card (IDm or label) for READER_MODE")
	fs.BoolVar(&cfg.baseline, "baseline", false, "also run the same load against a bare fiber server in this process that answers captured replies of the real size, and print the ratio")
	fs.StringVar(&cfg.serverPIDs, "server-pid", "", "process id of the server behind --url (several separated by commas), to report its resident memory and the CPU it used during the run")
	fs.IntVar(&cfg.postgresPID, "postgres-pid", 0, "process id of the PostgreSQL postmaster behind the servers, to report the CPU it and its backends used during the run")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "timeout of each HTTP request")
	fs.BoolVar(&cfg.asJSON, "json", false, "print the results as JSON")
	return fs
}

const benchAbout = `Loads a tes server with concurrent simulated devices, each with its own copy
of a DEMO sample card and its own ledger records (seeded through the admin API,
not timed), running whole operations. Prints operations/s, HTTP round trips/s,
round-trip latency percentiles, errors by status code and the server's memory,
and with --server-pid the CPU per round trip of the server and of this load
generator, which share the machine. Sends traffic to loopback addresses only.`

// benchResult is what tes bench prints.
type benchResult struct {
	Target   string        `json:"target"`
	Mix      string        `json:"mix"`
	Server   bench.Report  `json:"server"`
	Memory   *benchMemory  `json:"memory,omitempty"`
	CPU      *benchCPU     `json:"cpu,omitempty"`
	Baseline *bench.Report `json:"baseline,omitempty"`
	// BaselineCPU is nil when this process's CPU cannot be read.
	BaselineCPU *baselineCPU `json:"baselineCpu,omitempty"`
	// Ratio is the server's operations/s over the bare server's.
	Ratio float64 `json:"ratio,omitempty"`
}

// benchMemory is the server's memory after the run: the process's resident
// set, and for an in-process server the Go runtime's own figures (which
// include the load generator's).
type benchMemory struct {
	Process   string `json:"process"`
	RSS       int64  `json:"rssBytes,omitempty"`
	PeakRSS   int64  `json:"peakRssBytes,omitempty"`
	HeapInuse uint64 `json:"heapInuseBytes,omitempty"`
	GoSys     uint64 `json:"goSysBytes,omitempty"`
}

// benchCPU is the CPU time used during the run (seeding included: one
// admin call per purchase) by the servers, PostgreSQL (postmaster and
// backends) and this process (the load generator, and the server when in
// process), and the first two per HTTP round trip of the run.
type benchCPU struct {
	Servers         time.Duration `json:"serversNs"`
	ServerProcesses int           `json:"serverProcesses"`
	Postgres        time.Duration `json:"postgresNs"`
	ThisProcess     time.Duration `json:"thisProcessNs"`
	// PerRoundTrip is (Servers+Postgres)/requests; with an in-process
	// server, (ThisProcess+Postgres)/requests, the load generator included.
	PerRoundTrip time.Duration `json:"perRoundTripNs"`
	// LoadPerRoundTrip is ThisProcess/requests, the load generator's own
	// share, when the servers run apart from it.
	LoadPerRoundTrip time.Duration `json:"loadPerRoundTripNs,omitempty"`
}

// baselineCPU is what this process used during the bare run: the load
// generator and the bare server together, which share the machine as the
// load generator and tes do in the main run. Comparing the two per round
// trip tells how much of the ratio is tes's own CPU.
type baselineCPU struct {
	ThisProcess  time.Duration `json:"thisProcessNs"`
	PerRoundTrip time.Duration `json:"perRoundTripNs"`
}

// runBench is tes bench.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg benchConfig
	if code, ok := parseSubcommand(benchFlags(&cfg), benchAbout, args, stdout, stderr); !ok {
		return code
	}
	run, err := benchSetup(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "tes bench: %v\n", err)
		return exitUsage
	}
	res, err := benchExecute(ctx, cfg, run)
	if err != nil {
		fmt.Fprintf(stderr, "tes bench: %v\n", err)
		return exitFail
	}
	if cfg.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = writeBenchText(stdout, cfg, res)
	}
	if err != nil {
		fmt.Fprintf(stderr, "tes bench: print: %v\n", err)
		return exitFail
	}
	return exitOK
}

// benchSetup checks the command line and builds the run's configuration,
// all but its clients.
func benchSetup(cfg benchConfig) (bench.Config, error) {
	mixText := cfg.mix
	if mixText == "" {
		mixText = cfg.operation
	}
	mix, err := bench.ParseMix(mixText)
	if err != nil {
		return bench.Config{}, err
	}
	if !cfg.inProcess {
		for _, u := range append(splitList(cfg.url), cfg.adminURL) {
			if err := bench.RequireLoopback(u); err != nil {
				return bench.Config{}, err
			}
		}
	}
	cfg.cardImage = defaultImage(cfg.cardImage, cfg.issuer)
	if cfg.card == "" {
		cfg.card = simPhoneCard
		if cfg.cardImage == "demo-aes" {
			cfg.card = benchAESPhoneCard
		}
	}
	catalog, err := loadCatalog(cfg.cardImage)
	if err != nil {
		return bench.Config{}, err
	}
	phone, ok := catalog.Image(cfg.card)
	if !ok {
		return bench.Config{}, fmt.Errorf("no card %q in %s", cfg.card, cfg.cardImage)
	}
	// A catalogue without physical cards (demo-aes) serves mixes without
	// READER_MODE.
	physical, ok := catalog.Image(cfg.physical)
	if !ok && slices.ContainsFunc(mix, func(s bench.Share) bool { return s.Operation == "READER_MODE" }) {
		return bench.Config{}, fmt.Errorf("no card %q in %s", cfg.physical, cfg.cardImage)
	}
	run := bench.Config{
		IssuerID: cfg.issuer, Devices: cfg.devices, Mix: mix, Duration: cfg.duration, Count: cfg.count,
		Amount: cfg.amount, Layout: catalog.Layout, Phone: phone, Physical: physical,
	}
	if err := run.Validate(); err != nil {
		return bench.Config{}, err
	}
	if _, err := cfg.pids(); err != nil {
		return bench.Config{}, err
	}
	return run, nil
}

// splitList splits a comma-separated flag, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// pids reads --server-pid.
func (cfg benchConfig) pids() ([]int, error) {
	var out []int
	for _, part := range splitList(cfg.serverPIDs) {
		pid, err := strconv.Atoi(part)
		if err != nil || pid <= 0 {
			return nil, fmt.Errorf("--server-pid: %q is not a process id", part)
		}
		out = append(out, pid)
	}
	return out, nil
}

// cpuSample is the CPU each measured process has used so far.
type cpuSample struct {
	servers, postgres, self time.Duration
}

func sampleCPU(cfg benchConfig) (cpuSample, error) {
	var s cpuSample
	pids, _ := cfg.pids()
	for _, pid := range pids {
		cpu, err := bench.ProcessCPU(pid)
		if err != nil {
			return s, err
		}
		s.servers += cpu
	}
	if cfg.postgresPID > 0 {
		cpu, err := bench.TreeCPU(cfg.postgresPID)
		if err != nil {
			return s, err
		}
		s.postgres = cpu
	}
	self, err := bench.ProcessCPU(os.Getpid())
	s.self = self
	return s, err
}

// cpuUsed is what the run used between two samples, or nil when nothing
// but this process was measured outside a run in process.
func cpuUsed(cfg benchConfig, before, after cpuSample, requests int) *benchCPU {
	pids, _ := cfg.pids()
	if len(pids) == 0 && cfg.postgresPID == 0 && !cfg.inProcess {
		return nil
	}
	c := &benchCPU{
		Servers: after.servers - before.servers, ServerProcesses: len(pids),
		Postgres: after.postgres - before.postgres, ThisProcess: after.self - before.self,
	}
	if requests > 0 {
		served := c.Servers
		if cfg.inProcess {
			served = c.ThisProcess
		}
		c.PerRoundTrip = (served + c.Postgres) / time.Duration(requests)
		if !cfg.inProcess {
			c.LoadPerRoundTrip = c.ThisProcess / time.Duration(requests)
		}
	}
	return c
}

// benchExecute starts the in-process server when asked, runs the load,
// measures memory, then runs the baseline when asked.
func benchExecute(ctx context.Context, cfg benchConfig, run bench.Config) (benchResult, error) {
	gatewayURLs, adminURL := splitList(cfg.url), cfg.adminURL
	res := benchResult{Target: strings.Join(gatewayURLs, ", ") + " (separate processes)", Mix: run.Mix.String()}
	if len(gatewayURLs) == 1 {
		res.Target = gatewayURLs[0] + " (a separate process)"
	}
	if cfg.inProcess {
		srv, cleanup, err := benchStartLocal(ctx, cfg)
		if err != nil {
			return res, err
		}
		defer cleanup()
		gatewayURLs, adminURL = []string{srv.GatewayURL}, srv.AdminURL
		res.Target = srv.GatewayURL + " (in this process)"
	}
	clientOpts := tsh.ClientOptions{Timeout: cfg.timeout, MaxConnsPerHost: cfg.devices}
	client, err := tsh.NewClientSpread(gatewayURLs, clientOpts)
	if err != nil {
		return res, err
	}
	defer client.CloseIdleConnections()
	if run.Admin, err = tsh.NewAdmin(adminURL, cfg.adminToken, clientOpts); err != nil {
		return res, err
	}
	run.Client = client
	before, err := sampleCPU(cfg)
	if err != nil {
		return res, err
	}
	if res.Server, err = bench.Run(ctx, run); err != nil {
		return res, err
	}
	after, err := sampleCPU(cfg)
	if err != nil {
		return res, err
	}
	res.CPU = cpuUsed(cfg, before, after, res.Server.Requests)
	if res.Memory, err = benchMeasureMemory(cfg); err != nil {
		return res, err
	}
	if !cfg.baseline {
		return res, nil
	}
	bare, err := bench.StartBare(res.Server.Captured)
	if err != nil {
		return res, fmt.Errorf("baseline: %w", err)
	}
	defer bare.Close()
	bareClient, err := tsh.NewClient(bare.URL, clientOpts)
	if err != nil {
		return res, err
	}
	defer bareClient.CloseIdleConnections()
	run.Client, run.Admin = bareClient, nil
	selfBefore, cpuErr := bench.ProcessCPU(os.Getpid())
	base, err := bench.Run(ctx, run)
	if err != nil {
		return res, fmt.Errorf("baseline: %w", err)
	}
	res.Baseline = &base
	if selfAfter, err := bench.ProcessCPU(os.Getpid()); cpuErr == nil && err == nil && base.Requests > 0 {
		used := selfAfter - selfBefore
		res.BaselineCPU = &baselineCPU{ThisProcess: used, PerRoundTrip: used / time.Duration(base.Requests)}
	}
	if base.OpsPerSecond > 0 {
		res.Ratio = res.Server.OpsPerSecond / base.OpsPerSecond
	}
	return res, nil
}

// benchStartLocal starts the in-process server and returns what stops it
// and removes its temporary store.
func benchStartLocal(ctx context.Context, cfg benchConfig) (*node.Node, func(), error) {
	dir, removeDir := cfg.dataDir, func() {}
	if dir == "" {
		tmp, err := os.MkdirTemp("", "tes-bench-")
		if err != nil {
			return nil, nil, fmt.Errorf("store directory: %w", err)
		}
		dir, removeDir = tmp, func() { _ = os.RemoveAll(tmp) }
	}
	srv, err := node.Start(ctx, node.Config{DataDir: dir, IssuersDir: cfg.issuersDir, GroupCommit: cfg.groupCommit})
	if err != nil {
		removeDir()
		return nil, nil, err
	}
	return srv, func() { _ = srv.Close(); removeDir() }, nil
}

// benchMeasureMemory reads the server's memory: this process's when the
// server runs in it, --server-pid's otherwise, nothing without either.
func benchMeasureMemory(cfg benchConfig) (*benchMemory, error) {
	var pid int
	if pids, _ := cfg.pids(); len(pids) > 0 {
		pid = pids[0]
	}
	m := &benchMemory{Process: fmt.Sprintf("server process %d", pid)}
	if cfg.inProcess {
		pid = os.Getpid()
		var stats runtime.MemStats
		runtime.ReadMemStats(&stats)
		m = &benchMemory{Process: "this process (server and load generator)", HeapInuse: stats.HeapInuse, GoSys: stats.Sys}
	}
	if pid == 0 {
		return nil, nil
	}
	rss, err := bench.ProcessMemory(pid)
	if err != nil {
		return nil, err
	}
	m.RSS, m.PeakRSS = rss.RSS, rss.PeakRSS
	return m, nil
}

func writeBenchText(w io.Writer, cfg benchConfig, res benchResult) error {
	limit := cfg.duration.String()
	if cfg.count > 0 {
		limit = fmt.Sprintf("%d operations", cfg.count)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tes bench: %d devices, mix %s, %s, against %s\n", cfg.devices, res.Mix, limit, res.Target)
	writeBenchReport(&b, "tes", res.Server)
	if m := res.Memory; m != nil {
		fmt.Fprintf(&b, "  memory of %s: RSS %s (peak %s)", m.Process, mebibytes(m.RSS), mebibytes(m.PeakRSS))
		if m.GoSys > 0 {
			fmt.Fprintf(&b, ", Go heap in use %s, Go runtime total %s", mebibytes(int64(m.HeapInuse)), mebibytes(int64(m.GoSys)))
		}
		b.WriteString("\n")
	}
	if c := res.CPU; c != nil {
		fmt.Fprintf(&b, "  CPU during the run: ")
		if c.ServerProcesses > 0 {
			fmt.Fprintf(&b, "tes %s (%d processes), ", benchSeconds(c.Servers), c.ServerProcesses)
		}
		if cfg.postgresPID > 0 {
			fmt.Fprintf(&b, "postgres %s, ", benchSeconds(c.Postgres))
		}
		fmt.Fprintf(&b, "this process %s; per round trip %s (servers and postgres", benchSeconds(c.ThisProcess), benchMicros(c.PerRoundTrip))
		if cfg.inProcess {
			b.WriteString(", the in-process server counted with the load generator")
		}
		b.WriteString(")")
		if c.LoadPerRoundTrip > 0 {
			fmt.Fprintf(&b, ", load generator %s", benchMicros(c.LoadPerRoundTrip))
		}
		b.WriteString("\n")
	}
	if res.Baseline != nil {
		writeBenchReport(&b, "bare fiber", *res.Baseline)
		if c := res.BaselineCPU; c != nil {
			fmt.Fprintf(&b, "  CPU during the run: this process (load generator and bare server) %s; per round trip %s\n",
				benchSeconds(c.ThisProcess), benchMicros(c.PerRoundTrip))
		}
		fmt.Fprintf(&b, "ratio: tes runs %.1f%% of the bare server's operations/s (%.1f vs %.1f)\n",
			100*res.Ratio, res.Server.OpsPerSecond, res.Baseline.OpsPerSecond)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeBenchReport(b *strings.Builder, name string, r bench.Report) {
	l := r.Latency
	fmt.Fprintf(b, "%s: %.1f operations/s, %.1f round trips/s (%d operations, %d requests in %s)\n",
		name, r.OpsPerSecond, r.RequestsPerSecond, r.Operations, r.Requests, r.Wall.Round(time.Millisecond))
	fmt.Fprintf(b, "  round-trip latency: p50 %s, p95 %s, p99 %s, max %s\n",
		benchMs(l.P50), benchMs(l.P95), benchMs(l.P99), benchMs(l.Max))
	if len(r.Errors) == 0 {
		b.WriteString("  errors: none\n")
		return
	}
	keys := make([]string, 0, len(r.Errors))
	for k := range r.Errors {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, r.Errors[k])
	}
	fmt.Fprintf(b, "  errors: %s\n", strings.Join(parts, ", "))
}

func benchSeconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func benchMicros(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }

func benchMs(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

func mebibytes(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/tes-project/tes/felica/card"
	"github.com/tes-project/tes/flow"
	"github.com/tes-project/tes/store"
	"github.com/tes-project/tes/tsh"
)

// Bounds that keep a run's loops and memory finite whatever it is given.
const (
	MaxDevices  = 4096
	MaxDuration = 10 * time.Minute
	MaxCount    = 10_000_000
	// samplesPerDevice caps each device's latency reservoir.
	samplesPerDevice = 1 << 16
)

// Config is one load run. Client, Devices, Mix, Layout, Phone and Physical
// are required, and Duration or Count.
type Config struct {
	Client *tsh.Client
	// Admin seeds the ledger; nil seeds nothing (a bare server needs none).
	Admin    *tsh.Admin
	IssuerID string
	Devices  int
	Mix      Mix
	// Duration ends the run when it has passed, Count when that many
	// operations have run (each device runs its equal share); 0 for no
	// such limit.
	Duration time.Duration
	Count    int
	// Amount is each TOPUP's and REFUND's purchase, yen.
	Amount int64
	// Layout, Phone and Physical are the samples each device's cards are
	// copies of (with distinct IDms): Phone for the card endpoints,
	// Physical for reader mode.
	Layout          card.Layout
	Phone, Physical card.Image
	// RunID prefixes every card, device and purchase id, so that runs
	// against one server do not meet; empty: derived from the time.
	RunID string
}

// Report is what a run measured. Durations in JSON are nanoseconds.
type Report struct {
	Devices    int           `json:"devices"`
	Operations int           `json:"operations"`
	Requests   int           `json:"requests"`
	Wall       time.Duration `json:"wallNs"`
	// OpsPerSecond and RequestsPerSecond add up each device's own rate,
	// its count over its time inside operations (seeding excluded).
	OpsPerSecond      float64 `json:"operationsPerSecond"`
	RequestsPerSecond float64 `json:"requestsPerSecond"`
	// Latency is of HTTP round trips.
	Latency Latencies `json:"latency"`
	// Errors counts failed operations by final status code ("911"), or by
	// the driver's failure ("transport", "bad reply", ...).
	Errors map[string]int `json:"errors"`
	// Captured holds one successful outcome per operation, which a bare
	// server replays for the baseline.
	Captured map[string]tsh.Outcome `json:"-"`
}

// Run loads the server as cfg says and reports. It returns an error when
// the configuration is wrong or a device cannot be seeded; failed
// operations are counted in Report.Errors, not returned.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Client == nil {
		return Report{}, fmt.Errorf("%w: no client", ErrConfig)
	}
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	if cfg.RunID == "" {
		cfg.RunID = "B" + strconv.FormatInt(time.Now().UnixMilli(), 36)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	devices := make([]*device, cfg.Devices)
	for i := range devices {
		d, err := newDevice(ctx, &cfg, i)
		if err != nil {
			return Report{}, err
		}
		devices[i] = d
	}
	started := time.Now()
	var wg sync.WaitGroup
	for _, d := range devices {
		wg.Go(func() {
			if err := d.loop(ctx, started); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	wall := time.Since(started)
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return Report{}, err
	}
	return report(cfg, devices, wall), nil
}

// Validate checks the configuration as Run does, all but the clients.
func (cfg Config) Validate() error {
	switch {
	case cfg.Devices < 1 || cfg.Devices > MaxDevices:
		return fmt.Errorf("%w: %d devices, want 1..%d", ErrConfig, cfg.Devices, MaxDevices)
	case len(cfg.Mix) == 0:
		return fmt.Errorf("%w: no operations", ErrConfig)
	case cfg.Duration < 0 || cfg.Duration > MaxDuration:
		return fmt.Errorf("%w: duration %s, want 0..%s", ErrConfig, cfg.Duration, MaxDuration)
	case cfg.Count < 0 || cfg.Count > MaxCount:
		return fmt.Errorf("%w: count %d, want 0..%d", ErrConfig, cfg.Count, MaxCount)
	case cfg.Duration == 0 && cfg.Count == 0:
		return fmt.Errorf("%w: give a duration or a count", ErrConfig)
	case cfg.Amount < 1:
		return fmt.Errorf("%w: amount %d, want ≥ 1", ErrConfig, cfg.Amount)
	}
	return nil
}

func report(cfg Config, devices []*device, wall time.Duration) Report {
	r := Report{Devices: len(devices), Wall: wall, Errors: map[string]int{}, Captured: map[string]tsh.Outcome{}}
	var samples []time.Duration
	for _, d := range devices {
		r.Operations += d.ops
		r.Requests += d.requests
		if d.busy > 0 {
			r.OpsPerSecond += float64(d.ops) / d.busy.Seconds()
			r.RequestsPerSecond += float64(d.requests) / d.busy.Seconds()
		}
		samples = append(samples, d.samples.samples...)
		for k, n := range d.errors {
			r.Errors[k] += n
		}
		for op, out := range d.captured {
			if _, ok := r.Captured[op]; !ok {
				r.Captured[op] = out
			}
		}
	}
	r.Latency = Summarize(samples)
	return r
}

// device is one simulated phone. Only its own goroutine touches it.
type device struct {
	cfg      *Config
	index    int
	cardID   string
	deviceID string
	phone    *card.Card
	// runTag is a hash of the run id that goes into every IDm.
	runTag  uint16
	rng     *rand.Rand
	samples *reservoir

	ops, requests int
	busy          time.Duration
	errors        map[string]int
	captured      map[string]tsh.Outcome
}

func newDevice(ctx context.Context, cfg *Config, i int) (*device, error) {
	d := &device{
		cfg: cfg, index: i,
		cardID:   fmt.Sprintf("%s-C%d", cfg.RunID, i),
		deviceID: fmt.Sprintf("%s-D%d", cfg.RunID, i),
		runTag:   runTag(cfg.RunID),
		rng:      rand.New(rand.NewPCG(uint64(i), 1)),
		samples:  newReservoir(samplesPerDevice, uint64(i)),
		errors:   map[string]int{},
		captured: map[string]tsh.Outcome{},
	}
	if err := d.resetPhone(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// resetPhone gives the device a fresh copy of the sample phone card and
// provisions it as ACTIVE on the device.
func (d *device) resetPhone(ctx context.Context) error {
	img := d.cfg.Phone
	img.IDm = d.idm(img, 0)
	c, err := card.New(d.cfg.Layout, img, card.Settings{})
	if err != nil {
		return fmt.Errorf("bench: device %d: card: %w", d.index, err)
	}
	d.phone = c
	if d.cfg.Admin == nil {
		return nil
	}
	product, _ := tsh.DemoProductCode(img)
	_, err = d.cfg.Admin.PutCard(ctx, tsh.CardSeed{IssuerID: d.cfg.IssuerID, CardID: d.cardID, ProductCode: product, DeviceID: d.deviceID})
	if err != nil {
		return fmt.Errorf("bench: device %d: seed card: %w", d.index, err)
	}
	return nil
}

// idm is a distinct IDm for the device's k-th card: the sample's first two
// bytes (the manufacturer), then the run, the device and k.
func (d *device) idm(img card.Image, k int) [8]byte {
	id := img.IDm
	binary.BigEndian.PutUint16(id[2:], d.runTag)
	binary.BigEndian.PutUint16(id[4:], uint16(d.index))
	binary.BigEndian.PutUint16(id[6:], uint16(k))
	return id
}

func runTag(runID string) uint16 {
	h := fnv.New32a()
	h.Write([]byte(runID))
	return uint16(h.Sum32())
}

// loop runs operations until the duration passes or the device has run
// its share of the count. Shares are fixed, not raced for, so that two runs
// with the same configuration run the same operations.
func (d *device) loop(ctx context.Context, started time.Time) error {
	share := d.cfg.Count / d.cfg.Devices
	if d.index < d.cfg.Count%d.cfg.Devices {
		share++
	}
	for k := 1; ctx.Err() == nil; k++ {
		if d.cfg.Duration > 0 && time.Since(started) >= d.cfg.Duration {
			return nil
		}
		if d.cfg.Count > 0 && k > share {
			return nil
		}
		name := d.cfg.Mix.pick(d.rng)
		op, crd, err := d.prepare(ctx, name, k)
		if err != nil {
			return err
		}
		opStarted := time.Now()
		out, err := d.cfg.Client.Run(ctx, op, crd, tsh.Options{SkipDescribe: true})
		d.busy += time.Since(opStarted)
		d.record(name, out, err)
		if name == "PARK" {
			if err := d.resetPhone(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// prepare seeds what operation k needs and returns it with its card.
func (d *device) prepare(ctx context.Context, name string, k int) (tsh.Operation, *card.Card, error) {
	op := tsh.Operation{
		Endpoint: endpointOf[name], IssuerID: d.cfg.IssuerID, Operation: name,
		CardID: d.cardID, DeviceID: d.deviceID, ActorID: "tes-bench",
	}
	switch name {
	case "TOPUP", "REFUND":
		op.PurchaseID = fmt.Sprintf("%s-P%d-%d", d.cfg.RunID, d.index, k)
		if d.cfg.Admin != nil {
			seed := tsh.PurchaseSeed{IssuerID: d.cfg.IssuerID, PurchaseID: op.PurchaseID, CardID: d.cardID, Amount: d.cfg.Amount, Kind: store.PurchaseKind(name)}
			if _, err := d.cfg.Admin.PutPurchase(ctx, seed); err != nil {
				return op, nil, fmt.Errorf("bench: device %d: seed purchase: %w", d.index, err)
			}
		}
	case "READER_MODE":
		// A fresh device and card each time: the issuer counts attempts per
		// device and provisions a physical card once.
		img := d.cfg.Physical
		img.IDm = d.idm(img, k)
		c, err := card.New(d.cfg.Layout, img, card.Settings{})
		if err != nil {
			return op, nil, fmt.Errorf("bench: device %d: physical card: %w", d.index, err)
		}
		op.CardID = ""
		op.DeviceID = fmt.Sprintf("%s-RM%d", d.deviceID, k)
		op.CardContents = tsh.Contents(d.cfg.Layout, img.IDm, "tes bench")
		return op, c, nil
	}
	return op, d.phone, nil
}

func (d *device) record(name string, out tsh.Outcome, err error) {
	d.ops++
	d.requests += out.Requests()
	for _, rt := range out.RoundTrips {
		d.samples.add(rt.Latency)
	}
	switch {
	case err != nil:
		d.errors[failureClass(err)]++
	case out.StatusCode != flow.StatusOK:
		d.errors[strconv.Itoa(out.StatusCode)]++
	default:
		if _, ok := d.captured[name]; !ok {
			d.captured[name] = out
		}
	}
}

// failureClass names a driver failure for Report.Errors.
func failureClass(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{tsh.ErrTransport, "transport"},
		{tsh.ErrBadReply, "bad reply"},
		{tsh.ErrTooManyRoundTrips, "too many round trips"},
		{context.Canceled, "canceled"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	return "other"
}

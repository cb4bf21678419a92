package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Latencies are the percentiles of a set of samples.
type Latencies struct {
	Count int           `json:"count"`
	P50   time.Duration `json:"p50Ns"`
	P95   time.Duration `json:"p95Ns"`
	P99   time.Duration `json:"p99Ns"`
	Max   time.Duration `json:"maxNs"`
}

// Summarize computes the percentiles of samples by nearest rank; it sorts
// samples in place.
func Summarize(samples []time.Duration) Latencies {
	if len(samples) == 0 {
		return Latencies{}
	}
	slices.Sort(samples)
	return Latencies{
		Count: len(samples),
		P50:   Percentile(samples, 50),
		P95:   Percentile(samples, 95),
		P99:   Percentile(samples, 99),
		Max:   samples[len(samples)-1],
	}
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted
// samples: the smallest sample that at least p% of the samples do not
// exceed. Zero for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// reservoir keeps at most its capacity of samples, a uniform choice of all
// it was offered (algorithm R), so that long runs stay in bounded memory.
// Not safe for concurrent use: each device has its own.
type reservoir struct {
	samples []time.Duration
	seen    int
	limit   int
	rng     *rand.Rand
}

func newReservoir(limit int, seed uint64) *reservoir {
	return &reservoir{limit: limit, rng: rand.New(rand.NewPCG(seed, 0x7465_7362_656e_6368))}
}

func (r *reservoir) add(d time.Duration) {
	r.seen++
	if len(r.samples) < r.limit {
		r.samples = append(r.samples, d)
		return
	}
	if i := r.rng.IntN(r.seen); i < r.limit {
		r.samples[i] = d
	}
}

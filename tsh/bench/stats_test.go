package bench_test

import (
	"testing"
	"time"

	"github.com/tes-project/tes/tsh/bench"
)

func ms(values ...int) []time.Duration {
	out := make([]time.Duration, len(values))
	for i, v := range values {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func TestSummarize(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100..1, unsorted
	}
	tests := []struct {
		name    string
		samples []time.Duration
		want    bench.Latencies
	}{
		{"none", nil, bench.Latencies{}},
		{"one", ms(7), bench.Latencies{Count: 1, P50: 7 * time.Millisecond, P95: 7 * time.Millisecond, P99: 7 * time.Millisecond, Max: 7 * time.Millisecond}},
		{"1..100", ms(hundred...), bench.Latencies{Count: 100, P50: 50 * time.Millisecond, P95: 95 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}},
		{"ten with an outlier", ms(5, 1, 2, 3, 4, 6, 7, 8, 9, 1000), bench.Latencies{Count: 10, P50: 5 * time.Millisecond, P95: 1000 * time.Millisecond, P99: 1000 * time.Millisecond, Max: 1000 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bench.Summarize(tt.samples); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPercentileBounds(t *testing.T) {
	sorted := ms(1, 2, 3, 4)
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{0, time.Millisecond}, {25, time.Millisecond}, {26, 2 * time.Millisecond}, {75, 3 * time.Millisecond}, {100, 4 * time.Millisecond}, {150, 4 * time.Millisecond}} {
		if got := bench.Percentile(sorted, tt.p); got != tt.want {
			t.Errorf("Percentile(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
}

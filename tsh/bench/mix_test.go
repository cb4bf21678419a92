package bench_test

import (
	"errors"
	"testing"

	"github.com/tes-project/tes/tsh/bench"
)

func TestParseMix(t *testing.T) {
	tests := []struct {
		text string
		want string
	}{
		{"TOPUP", "TOPUP=1"},
		{"topup=3, READ=1", "TOPUP=3,READ=1"},
		{"PARK=2,READER_MODE,REFUND=5", "PARK=2,READER_MODE=1,REFUND=5"},
	}
	for _, tt := range tests {
		m, err := bench.ParseMix(tt.text)
		if err != nil || m.String() != tt.want {
			t.Errorf("ParseMix(%q) = %v, %v; want %s", tt.text, m, err, tt.want)
		}
	}
	for _, bad := range []string{"", "FLY", "TOPUP=0", "TOPUP=x", "TOPUP=1,", "READ=1001"} {
		if m, err := bench.ParseMix(bad); !errors.Is(err, bench.ErrConfig) {
			t.Errorf("ParseMix(%q) = %v, %v; want ErrConfig", bad, m, err)
		}
	}
}

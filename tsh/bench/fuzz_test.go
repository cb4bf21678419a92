package bench_test

import (
	"testing"

	"github.com/tes-project/tes/tsh/bench"
)

// FuzzParseMix: any text is refused or parsed into a mix whose String
// parses back to it.
func FuzzParseMix(f *testing.F) {
	for _, seed := range []string{"TOPUP", "TOPUP=3,READ=1", "park=2, reader_mode", "=", ",,", "READ=99999999999999999999"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		m, err := bench.ParseMix(text)
		if err != nil {
			return
		}
		again, err := bench.ParseMix(m.String())
		if err != nil || again.String() != m.String() {
			t.Errorf("ParseMix(%q) = %v, whose String parses to %v, %v", text, m, again, err)
		}
	})
}

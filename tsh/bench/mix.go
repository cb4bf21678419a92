package bench

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/tes-project/tes/flow"
)

// ErrConfig: a Config, a mix or a URL the bench cannot run with.
var ErrConfig = errors.New("bench: invalid configuration")

// endpointOf is the endpoint of each DEMO operation the bench knows how to
// prepare.
var endpointOf = map[string]flow.Endpoint{
	"TOPUP":       flow.EndpointCard,
	"READ":        flow.EndpointCard,
	"REFUND":      flow.EndpointCard,
	"PARK":        flow.EndpointPark,
	"READER_MODE": flow.EndpointReaderMode,
}

// Share is one operation of a mix and its weight.
type Share struct {
	Operation string
	Weight    int
}

// Mix is the operations devices run, chosen at random by weight.
type Mix []Share

// ParseMix reads "TOPUP=3,READ=1" (a bare name weighs 1).
func ParseMix(text string) (Mix, error) {
	var m Mix
	for part := range strings.SplitSeq(text, ",") {
		name, weightText, hasWeight := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.ToUpper(name)
		if _, ok := endpointOf[name]; !ok {
			return nil, fmt.Errorf("%w: mix %q: unknown operation %q (want TOPUP, READ, REFUND, PARK, READER_MODE)", ErrConfig, text, name)
		}
		weight := 1
		if hasWeight {
			w, err := strconv.Atoi(weightText)
			if err != nil || w < 1 || w > 1000 {
				return nil, fmt.Errorf("%w: mix %q: weight %q, want 1..1000", ErrConfig, text, weightText)
			}
			weight = w
		}
		m = append(m, Share{Operation: name, Weight: weight})
	}
	return m, nil
}

func (m Mix) String() string {
	parts := make([]string, len(m))
	for i, s := range m {
		parts[i] = fmt.Sprintf("%s=%d", s.Operation, s.Weight)
	}
	return strings.Join(parts, ",")
}

// pick chooses an operation by weight.
func (m Mix) pick(rng *rand.Rand) string {
	total := 0
	for _, s := range m {
		total += s.Weight
	}
	n := rng.IntN(total)
	for _, s := range m {
		if n < s.Weight {
			return s.Operation
		}
		n -= s.Weight
	}
	return m[len(m)-1].Operation
}
